#pragma once
// The Lagrangian search of kmeans1d.h: find a price per cluster whose penalised optimum
// (kmeans1d_penalized.h) has exactly k clusters; that clustering is then an optimal
// k-clustering. Exposed on its own so tests can compare it with the layered DP on every input,
// including small ones the dispatcher would hand to the DP.
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "core/compress/kmeans1d.h"

namespace mlpress::compress {

struct LagrangianStats {
  size_t solves = 0;         // penalised solves on the full values
  size_t coarse_solves = 0;  // and on the coarsened copy that gives the first price
  bool hint_hit = false;     // the hint's price gave k (then no coarse solve)
};

// Cluster starts of an optimal k-clustering of `values` (strictly ascending, positive weights),
// 2 <= k < values.size(); nullopt when no price gives exactly k clusters (the caller then uses
// the layered DP). `hint` as kmeans_1d_optimal's.
std::optional<std::vector<size_t>> lagrangian_k_segmentation(std::span<const double> values,
                                                             std::span<const double> weights,
                                                             size_t k,
                                                             LagrangianStats* stats = nullptr,
                                                             KMeans1dPriceHint* hint = nullptr);

}  // namespace mlpress::compress
