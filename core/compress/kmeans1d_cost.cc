#include "core/compress/kmeans1d_cost.h"

namespace mlpress::compress {

SegmentCost::SegmentCost(std::span<const double> values, std::span<const double> weights)
    : prefix_(values.size() + 1, Prefix{0, 0, 0}) {
  double total_w = 0;
  double total_s = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    total_w += weights[i];
    total_s += weights[i] * values[i];
  }
  const double shift = total_w > 0 ? total_s / total_w : 0.0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i] - shift;
    const double wx = weights[i] * x;
    const Prefix& p = prefix_[i];
    prefix_[i + 1] = {p.w + weights[i], p.s + wx, p.q + wx * x};
  }
}

KMeans1dResult clustering_from_starts(std::span<const double> values,
                                      std::span<const double> weights, std::vector<size_t> starts) {
  KMeans1dResult result;
  const size_t n = values.size();
  const size_t k = starts.size();
  for (size_t c = 0; c < k; ++c) {
    const size_t end = c + 1 < k ? starts[c + 1] : n;
    const double first = values[starts[c]];
    double w = 0;
    double s = 0;
    for (size_t i = starts[c]; i < end; ++i) {
      w += weights[i];
      s += weights[i] * (values[i] - first);
    }
    const double centroid = first + s / w;
    result.centroids.push_back(centroid);
    for (size_t i = starts[c]; i < end; ++i) {
      const double d = values[i] - centroid;
      result.cost += weights[i] * d * d;
    }
  }
  result.starts = std::move(starts);
  return result;
}

}  // namespace mlpress::compress
