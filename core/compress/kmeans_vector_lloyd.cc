#include "core/compress/kmeans_vector_lloyd.h"

#include <limits>
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
  struct Moved {
    double gain;   // the cost this lowers: sum over centres of mass x squared shift
    double shift;  // the total squared shift
  };
  // Moves each centre with mass to its mean.
  Moved move_centres(std::vector<float>& centres) const {
    Moved moved{0, 0};
    for (size_t j = 0; j < mass.size(); ++j) {
      if (!(mass[j] > 0)) continue;
      double shift = 0;
      for (size_t t = 0; t < dim; ++t) {
        const float to = float(sums[j * dim + t] / mass[j]);
        const double d = double(to) - double(centres[j * dim + t]);
        shift += d * d;
        centres[j * dim + t] = to;
      }
      moved.gain += mass[j] * shift;
      moved.shift += shift;
    }
    return moved;
  }
};

double labelled_cost(const LanedPoints& pts, const std::vector<float>& centres,
                     const std::vector<uint8_t>& labels) {
  double cost = 0;
  for (size_t p = 0; p < pts.n; ++p) {
    double s = 0;
    for (size_t t = 0; t < pts.dim; ++t) {
      const double d =
          double(pts.points[p * pts.dim + t]) - double(centres[labels[p] * pts.dim + t]);
      s += d * d;
    }
    cost += pts.weight(p) * s;
  }
  return cost;
}

// The squared distance from point p to centre c, summed in float over the coordinates in order,
// exactly as kernels::nearest_centroid_lanes_* sum it.
float lane_distance(const LanedPoints& pts, size_t p, const float* c) {
  const float d0 = c[0] - pts.lanes[p];
  float acc = d0 * d0;
  for (size_t t = 1; t < pts.dim; ++t) {
    const float d = c[t] - pts.lanes[t * pts.n + p];
    const float sq = d * d;
    acc = acc + sq;
  }
  return acc;
}

}  // namespace

void distances_to(const LanedPoints& pts, const float* c, std::vector<float>& out) {
  out.resize(pts.n);
  const float* x = pts.lanes.data();
  for (size_t p = 0; p < pts.n; ++p) {
    const float d = c[0] - x[p];
    out[p] = d * d;
  }
  for (size_t t = 1; t < pts.dim; ++t) {
    x += pts.n;
    for (size_t p = 0; p < pts.n; ++p) {
      const float d = c[t] - x[p];
      out[p] = out[p] + d * d;
    }
  }
}

void labels_after_moving_one(const LanedPoints& pts, const std::vector<float>& centres,
                             size_t moved, const LloydStart& from, std::span<const float> own,
                             std::vector<float>& scratch, std::vector<uint8_t>& labels,
                             std::vector<double>& sums, std::vector<double>& mass) {
  const size_t dim = pts.dim;
  const size_t k = centres.size() / dim;
  Clusters clusters{dim, std::vector<double>(from.sums.begin(), from.sums.end()),
                    std::vector<double>(from.mass.begin(), from.mass.end())};
  distances_to(pts, &centres[moved * dim], scratch);
  labels.assign(from.labels.begin(), from.labels.end());
  for (size_t p = 0; p < pts.n; ++p) {
    const size_t a = from.labels[p];
    size_t label = a;
    if (a == moved) {
      float best = std::numeric_limits<float>::infinity();
      for (size_t j = 0; j < k; ++j) {
        const float d = lane_distance(pts, p, &centres[j * dim]);
        if (d < best) {
          best = d;
          label = j;
        }
      }
    } else if (scratch[p] < own[p] || (scratch[p] == own[p] && moved < a)) {
      label = moved;
    }
    if (label != a) {
      labels[p] = uint8_t(label);
      clusters.add(&pts.points[p * dim], pts.weight(p), a, -1.0);
      clusters.add(&pts.points[p * dim], pts.weight(p), label, 1.0);
    }
  }
  sums = std::move(clusters.sums);
  mass = std::move(clusters.mass);
}

void own_distances(const LanedPoints& pts, const std::vector<float>& centres,
                   std::span<const uint8_t> labels, std::vector<float>& own) {
  own.resize(pts.n);
  for (size_t p = 0; p < pts.n; ++p) own[p] = lane_distance(pts, p, &centres[labels[p] * pts.dim]);
}

LanedPoints::LanedPoints(std::span<const float> points_in, std::span<const double> weights_in,
                         size_t dim_in)
    : points(points_in),
      weights(weights_in),
      dim(dim_in),
      n(points_in.size() / dim_in),
      lanes(points_in.size()) {
  for (size_t p = 0; p < n; ++p) {
    for (size_t t = 0; t < dim; ++t) lanes[t * n + p] = points[p * dim + t];
  }
}

void cluster_sums(const LanedPoints& pts, std::span<const uint8_t> labels, size_t k,
                  std::vector<double>& sums, std::vector<double>& mass) {
  Clusters clusters{pts.dim, std::vector<double>(k * pts.dim, 0.0), std::vector<double>(k, 0.0)};
  for (size_t p = 0; p < pts.n; ++p) {
    clusters.add(&pts.points[p * pts.dim], pts.weight(p), labels[p], 1.0);
  }
  sums = std::move(clusters.sums);
  mass = std::move(clusters.mass);
}

VectorKMeansResult lloyd_lanes(const LanedPoints& pts, std::vector<float> centres,
                               const LloydStop& stop, KernelPath path, const LloydStart* start) {
  const size_t dim = pts.dim;
  const size_t n = pts.n;
  const size_t k = centres.size() / dim;
  auto* nearest = path == KernelPath::kSimd ? kernels::nearest_centroid_lanes_simd
                                            : kernels::nearest_centroid_lanes_scalar;
  std::vector<uint8_t> labels(n), next(n);
  Clusters clusters{dim, {}, {}};
  if (start) {
    labels.assign(start->labels.begin(), start->labels.end());
    clusters.sums.assign(start->sums.begin(), start->sums.end());
    clusters.mass.assign(start->mass.begin(), start->mass.end());
  } else {
    nearest(pts.lanes.data(), n, dim, centres.data(), k, labels.data());
    cluster_sums(pts, labels, k, clusters.sums, clusters.mass);
  }
  // An upper bound of the true cost (relabelling lowers it further), for the relative-gain stop.
  double cost = stop.relative_gain_stop > 0 ? labelled_cost(pts, centres, labels) : 0;
  for (size_t iteration = 0; iteration < stop.max_iterations; ++iteration) {
    const Clusters::Moved moved = clusters.move_centres(centres);
    cost -= moved.gain;
    nearest(pts.lanes.data(), n, dim, centres.data(), k, next.data());
    size_t changed = 0;
    for (size_t p = 0; p < n; ++p) {
      if (next[p] == labels[p]) continue;
      ++changed;
      clusters.add(&pts.points[p * dim], pts.weight(p), labels[p], -1.0);
      clusters.add(&pts.points[p * dim], pts.weight(p), next[p], 1.0);
    }
    labels.swap(next);
    if (changed == 0 || moved.shift <= stop.shift_tolerance) break;
    if (stop.relative_gain_stop > 0 && !(moved.gain > stop.relative_gain_stop * cost)) break;
  }
  if (stop.final_move) {
    clusters.move_centres(centres);
    nearest(pts.lanes.data(), n, dim, centres.data(), k, labels.data());
  }
  VectorKMeansResult result;
  result.dim = dim;
  result.cost = labelled_cost(pts, centres, labels);
  result.centroids = std::move(centres);
  result.labels = std::move(labels);
  return result;
}

VectorKMeansResult lloyd_in_lanes(std::span<const float> points, std::span<const double> weights,
                                  size_t dim, std::vector<float> centres, size_t max_iterations,
                                  double relative_gain_stop, KernelPath path) {
  const LanedPoints pts(points, weights, dim);
  LloydStop stop;
  stop.max_iterations = max_iterations;
  stop.relative_gain_stop = relative_gain_stop;
  stop.final_move = true;
  return lloyd_lanes(pts, std::move(centres), stop, path);
}

}  // namespace mlpress::compress
