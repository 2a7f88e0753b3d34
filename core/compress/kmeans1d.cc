#include "core/compress/kmeans1d.h"

#include <numeric>
#include <stdexcept>

#include "core/compress/kmeans1d_cost.h"
#include "core/compress/kmeans1d_lagrangian.h"
#include "core/compress/kmeans1d_layered.h"

namespace mlpress::compress {
namespace {

// At or below this k x u the layered DP is as quick as the search and needs no fallback.
constexpr size_t kLayeredWork = size_t(1) << 15;

}  // namespace

KMeans1dResult kmeans_1d_optimal(std::span<const double> values, std::span<const double> weights,
                                 size_t k, KMeans1dPriceHint* hint) {
  if (values.size() != weights.size()) {
    throw std::invalid_argument("kmeans_1d_optimal: values and weights differ in length");
  }
  const size_t n = values.size();
  if (k > n) k = n;
  if (k == 0) return {};
  if (k == n || k == 1) {
    std::vector<size_t> starts(k);
    std::iota(starts.begin(), starts.end(), size_t(0));
    return clustering_from_starts(values, weights, std::move(starts));
  }
  if (k * n > kLayeredWork) {
    if (auto starts = lagrangian_k_segmentation(values, weights, k, nullptr, hint)) {
      return clustering_from_starts(values, weights, std::move(*starts));
    }
  }
  return kmeans_1d_layered_dp(values, weights, k);
}

}  // namespace mlpress::compress
