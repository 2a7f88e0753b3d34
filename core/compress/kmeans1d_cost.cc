#include "core/compress/kmeans1d_cost.h"

namespace mlpress::compress {

SegmentCost::SegmentCost(std::span<const double> values, std::span<const double> weights)
    : prefix_(values.size() + 1) {
  double total_w = 0;
  double total_s = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    total_w += weights[i];
    total_s += weights[i] * values[i];
  }
  const double shift = total_w > 0 ? total_s / total_w : 0.0;
  // The running sums in locals: through prefix_ each sum would wait on its own store.
  double w = 0;
  double s = 0;
  double q = 0;
  Prefix* out = prefix_.data();
  out[0] = Prefix(0, 0, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i] - shift;
    const double wx = weights[i] * x;
    w += weights[i];
    s += wx;
    q += wx * x;
    out[i + 1] = Prefix(w, s, q);
  }
}

KMeans1dResult clustering_from_starts(std::span<const double> values,
                                      std::span<const double> weights, std::vector<size_t> starts) {
  KMeans1dResult result;
  const size_t n = values.size();
  const size_t k = starts.size();
  result.centroids.resize(k);
  // A local sum (the same additions in the same order): result.cost in memory would be stored
  // and reloaded on every value, weights[] possibly aliasing it.
  double* centroids = result.centroids.data();
  double cost = 0;
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
    centroids[c] = centroid;
    for (size_t i = starts[c]; i < end; ++i) {
      const double d = values[i] - centroid;
      cost += weights[i] * d * d;
    }
  }
  result.cost = cost;
  result.starts = std::move(starts);
  return result;
}

}  // namespace mlpress::compress
