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

namespace {

// Cluster c's weight and weighted sum about its first value, in value order.
struct ClusterSums {
  double w = 0;
  double s = 0;
};

inline void add_to_sums(ClusterSums& sums, double first, double value, double weight) {
  sums.w += weight;
  sums.s += weight * (value - first);
}

}  // namespace

KMeans1dResult clustering_from_starts(std::span<const double> values,
                                      std::span<const double> weights, std::vector<size_t> starts) {
  KMeans1dResult result;
  const size_t n = values.size();
  const size_t k = starts.size();
  if (k == 0) return result;
  result.centroids.resize(k);
  double* centroids = result.centroids.data();
  const auto end_of = [&](size_t c) { return c + 1 < k ? starts[c + 1] : n; };
  // Cluster c's centroid needs its sums, then its cost needs the centroid: two passes whose
  // additions each wait on the last. Cluster c's cost pass runs in one loop with cluster c + 1's
  // sums (independent chains, each in its own order, so every sum is what the plain passes give).
  // The cost is summed in a local: in result.cost it would be stored and reloaded per value.
  ClusterSums next;
  for (size_t i = starts[0]; i < end_of(0); ++i) {
    add_to_sums(next, values[starts[0]], values[i], weights[i]);
  }
  double cost = 0;
  for (size_t c = 0; c < k; ++c) {
    const double centroid = values[starts[c]] + next.s / next.w;
    centroids[c] = centroid;
    next = ClusterSums{};
    size_t i = starts[c];
    const size_t end = end_of(c);
    if (c + 1 < k) {
      const double first = values[starts[c + 1]];
      size_t j = starts[c + 1];
      const size_t next_end = end_of(c + 1);
      for (; i < end && j < next_end; ++i, ++j) {
        const double d = values[i] - centroid;
        cost += weights[i] * d * d;
        add_to_sums(next, first, values[j], weights[j]);
      }
      for (; j < next_end; ++j) add_to_sums(next, first, values[j], weights[j]);
    }
    for (; i < end; ++i) {
      const double d = values[i] - centroid;
      cost += weights[i] * d * d;
    }
  }
  result.cost = cost;
  result.starts = std::move(starts);
  return result;
}

}  // namespace mlpress::compress
