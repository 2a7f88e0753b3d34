#include "core/compress/kmeans_vector_lloyd.h"

#include <utility>

#include "core/compress/palettize_kernels.h"

namespace mlpress::compress {
namespace {

struct Clusters {
  size_t dim;
  std::vector<double> sums;  // k x dim, weighted coordinate sums
  std::vector<double> mass;  // k, summed weights

  void add(const float* x, double w, size_t j, double sign) {
    mass[j] += sign * w;
    for (size_t t = 0; t < dim; ++t) sums[j * dim + t] += sign * w * double(x[t]);
  }
  // Moves each centre with mass to its mean; returns the cost this lowers, sum over the
  // centres of mass x squared shift (exact for a move to the mean, up to rounding).
  double move_centres(std::vector<float>& centres) const {
    double gain = 0;
    for (size_t j = 0; j < mass.size(); ++j) {
      if (!(mass[j] > 0)) continue;
      double shift = 0;
      for (size_t t = 0; t < dim; ++t) {
        const float moved = float(sums[j * dim + t] / mass[j]);
        const double d = double(moved) - double(centres[j * dim + t]);
        shift += d * d;
        centres[j * dim + t] = moved;
      }
      gain += mass[j] * shift;
    }
    return gain;
  }
};

double labelled_cost(std::span<const float> points, std::span<const double> weights, size_t dim,
                     const std::vector<float>& centres, const std::vector<uint8_t>& labels) {
  double cost = 0;
  for (size_t p = 0; p < labels.size(); ++p) {
    double s = 0;
    for (size_t t = 0; t < dim; ++t) {
      const double d = double(points[p * dim + t]) - double(centres[labels[p] * dim + t]);
      s += d * d;
    }
    cost += (weights.empty() ? 1.0 : weights[p]) * s;
  }
  return cost;
}

}  // namespace

VectorKMeansResult lloyd_in_lanes(std::span<const float> points, std::span<const double> weights,
                                  size_t dim, std::vector<float> centres, size_t max_iterations,
                                  double relative_gain_stop, KernelPath path) {
  const size_t n = points.size() / dim;
  const size_t k = centres.size() / dim;
  std::vector<float> lanes(points.size());
  for (size_t p = 0; p < n; ++p) {
    for (size_t t = 0; t < dim; ++t) lanes[t * n + p] = points[p * dim + t];
  }
  auto* nearest = path == KernelPath::kSimd ? kernels::nearest_centroid_lanes_simd
                                            : kernels::nearest_centroid_lanes_scalar;
  auto weight = [&](size_t p) { return weights.empty() ? 1.0 : weights[p]; };
  std::vector<uint8_t> labels(n), next(n);
  nearest(lanes.data(), n, dim, centres.data(), k, labels.data());
  Clusters clusters{dim, std::vector<double>(k * dim, 0.0), std::vector<double>(k, 0.0)};
  for (size_t p = 0; p < n; ++p) clusters.add(&points[p * dim], weight(p), labels[p], 1.0);
  double cost = labelled_cost(points, weights, dim, centres, labels);
  for (size_t iteration = 0; iteration < max_iterations; ++iteration) {
    // Relabelling lowers the cost further; `cost` stays an upper bound of the true cost.
    const double gain = clusters.move_centres(centres);
    cost -= gain;
    nearest(lanes.data(), n, dim, centres.data(), k, next.data());
    size_t changed = 0;
    for (size_t p = 0; p < n; ++p) {
      if (next[p] == labels[p]) continue;
      ++changed;
      clusters.add(&points[p * dim], weight(p), labels[p], -1.0);
      clusters.add(&points[p * dim], weight(p), next[p], 1.0);
    }
    labels.swap(next);
    if (changed == 0 || !(gain > relative_gain_stop * cost)) break;
  }
  // The centres are the means of the current labels (lower cost), then the labels the nearest
  // centres (lower again).
  clusters.move_centres(centres);
  nearest(lanes.data(), n, dim, centres.data(), k, labels.data());
  VectorKMeansResult result;
  result.dim = dim;
  result.cost = labelled_cost(points, weights, dim, centres, labels);
  result.centroids = std::move(centres);
  result.labels = std::move(labels);
  return result;
}

}  // namespace mlpress::compress
