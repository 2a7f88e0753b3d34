#pragma once
// The layered dynamic program for exact weighted 1-D k-means: the reference twin of the fast
// solver in kmeans1d.h, and its fallback when the Lagrangian search cannot land on k clusters.
//
// Layer m holds the optimal cost of every prefix in m clusters; each layer is solved by the
// divide-and-conquer row-minima optimisation (valid because the segment cost is concave Monge,
// kmeans1d_cost.h), O(u log u) per layer for u values. Memory O(u): the segmentation is
// recovered Hirschberg-style (split the k clusters in two halves, find the cut from a forward
// and a backward DP, recurse), never with a k x u table. Time O(k u log u log k): fine for
// fp16's at most 65,536 values and small k, slow (minutes) for millions of fp32 values at k 256.
#include <cstddef>
#include <span>

#include "core/compress/kmeans1d.h"

namespace mlpress::compress {

// Same contract as kmeans_1d_optimal. Ties: the DP keeps the first (leftmost) split point among
// those of equal cost, so among clusterings of equal cost (in the floating-point sums) the one
// whose cuts come earliest wins.
KMeans1dResult kmeans_1d_layered_dp(std::span<const double> values, std::span<const double> weights,
                                    size_t k);

}  // namespace mlpress::compress
