#include "core/compress/kmeans_vector_lloyd.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "core/compress/palettize_kernels.h"

namespace mlpress::compress {
namespace {

struct Clusters {
  size_t dim;
  std::vector<double> sums;  // k x dim, weighted coordinate sums
  std::vector<double> mass;  // k, summed weights

  // Point x (weight w) from cluster a to cluster b: subtracting w x from a's sums is adding
  // -w x, bit for bit, in the order the coordinates come.
  template <size_t D>
  void move_point(const float* x, double w, size_t a, size_t b) {
    const size_t d = D ? D : dim;
    mass[a] -= w;
    mass[b] += w;
    double* from = &sums[a * d];
    double* to = &sums[b * d];
    for (size_t t = 0; t < d; ++t) {
      const double v = w * double(x[t]);
      from[t] -= v;
      to[t] += v;
    }
  }
  void move_point(const float* x, double w, size_t a, size_t b) {
    switch (dim) {
      case 2:
        return move_point<2>(x, w, a, b);
      case 4:
        return move_point<4>(x, w, a, b);
      default:
        return move_point<0>(x, w, a, b);
    }
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

// Four partial sums over the points in turn (the loop's additions are not one dependent chain),
// added in a fixed order: the same double on every platform.
template <size_t D, bool kWeighted>
double labelled_cost_of(const LanedPoints& pts, const std::vector<float>& centres,
                        const std::vector<uint8_t>& labels) {
  const size_t dim = D ? D : pts.dim;
  auto point_cost = [&](size_t p) {
    double s = 0;
    for (size_t t = 0; t < dim; ++t) {
      const double d = double(pts.points[p * dim + t]) - double(centres[labels[p] * dim + t]);
      s += d * d;
    }
    return kWeighted ? pts.weights[p] * s : s;  // a weight of 1 multiplies exactly
  };
  double part[4] = {0, 0, 0, 0};
  size_t p = 0;
  for (; p + 4 <= pts.n; p += 4) {
    for (size_t u = 0; u < 4; ++u) part[u] += point_cost(p + u);
  }
  for (; p < pts.n; ++p) part[0] += point_cost(p);
  return (part[0] + part[1]) + (part[2] + part[3]);
}

template <bool kWeighted>
double labelled_cost_weighted(const LanedPoints& pts, const std::vector<float>& centres,
                              const std::vector<uint8_t>& labels) {
  switch (pts.dim) {
    case 2:
      return labelled_cost_of<2, kWeighted>(pts, centres, labels);
    case 4:
      return labelled_cost_of<4, kWeighted>(pts, centres, labels);
    default:
      return labelled_cost_of<0, kWeighted>(pts, centres, labels);
  }
}

// The weighted squared error of `labels` for `centres`, in double, summed point by point in order.
double labelled_cost(const LanedPoints& pts, const std::vector<float>& centres,
                     const std::vector<uint8_t>& labels) {
  return pts.weights.empty() ? labelled_cost_weighted<false>(pts, centres, labels)
                             : labelled_cost_weighted<true>(pts, centres, labels);
}

// The weighted squared error of the labelling `clusters` sums for `centres`, from the sums alone:
// sum_p w_p |x_p|^2 (`square_sum`) - sum_j (2 c_j . S_j - M_j |c_j|^2). O(k dim) instead of
// O(n dim); the subtraction loses a few digits (the square sum is some 10-1000 times the error),
// so it serves for comparisons with a relative margin well above 1e-12.
double cost_from_sums(const Clusters& clusters, const std::vector<float>& centres,
                      double square_sum) {
  const size_t dim = clusters.dim;
  double explained = 0;
  for (size_t j = 0; j < clusters.mass.size(); ++j) {
    double dot = 0, norm = 0;
    for (size_t t = 0; t < dim; ++t) {
      const double c = centres[j * dim + t];
      dot += c * clusters.sums[j * dim + t];
      norm += c * c;
    }
    explained += 2 * dot - clusters.mass[j] * norm;
  }
  return std::max(square_sum - explained, 0.0);
}

// Calls f(p) for every p with a[p] != b[p], in ascending order; eight labels compared at a time
// (late Lloyd steps change few labels).
template <typename F>
void for_each_change(const uint8_t* a, const uint8_t* b, size_t n, F&& f) {
  size_t p = 0;
  for (; p + 8 <= n; p += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + p, 8);
    std::memcpy(&y, b + p, 8);
    if (x == y) continue;
    for (size_t q = p; q < p + 8; ++q) {
      if (a[q] != b[q]) f(q);
    }
  }
  for (; p < n; ++p) {
    if (a[p] != b[p]) f(p);
  }
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
                             MoveScratch& scratch, std::vector<uint8_t>& labels,
                             std::vector<double>& sums, std::vector<double>& mass,
                             KernelPath path) {
  const size_t dim = pts.dim;
  const size_t k = centres.size() / dim;
  distances_to(pts, &centres[moved * dim], scratch.distances);
  labels.resize(pts.n);
  std::vector<uint32_t>& members = scratch.members;
  // Any other point goes to the moved centre if that is now nearer (ties to the lower index);
  // branch-free, as few do.
  // Two simple loops, so that both vectorise: first 2 (nearer), 1 (as near) or 0 per point, then
  // the labels.
  const size_t n = pts.n;
  const uint8_t to = uint8_t(moved);
  const float* near = scratch.distances.data();
  const float* own_distance = own.data();
  scratch.labels.resize(n);
  uint8_t* order = scratch.labels.data();
  for (size_t p = 0; p < n; ++p) {
    order[p] = uint8_t((near[p] < own_distance[p] ? 2 : 0) | (near[p] == own_distance[p] ? 1 : 0));
  }
  const uint8_t* from_labels = from.labels.data();
  uint8_t* next = labels.data();
  for (size_t p = 0; p < n; ++p) {
    const uint8_t a = from_labels[p];
    const uint8_t wins = uint8_t((order[p] >> 1) | (order[p] & (to < a ? 1 : 0)));
    next[p] = wins & (a != to ? 1 : 0) ? to : a;
  }
  members.clear();
  for (size_t p = 0; p < n; ++p) {
    if (from_labels[p] == to) members.push_back(uint32_t(p));
  }
  // The moved centre's former points, gathered into lanes: a search over every centre.
  const size_t m = members.size();
  scratch.lanes.resize(m * dim);
  for (size_t t = 0; t < dim; ++t) {
    const float* x = pts.lanes.data() + t * pts.n;
    float* out = scratch.lanes.data() + t * m;
    for (size_t i = 0; i < m; ++i) out[i] = x[members[i]];
  }
  scratch.labels.resize(m);
  auto* nearest = path == KernelPath::kSimd ? kernels::nearest_centroid_lanes_simd
                                            : kernels::nearest_centroid_lanes_scalar;
  if (m > 0) nearest(scratch.lanes.data(), m, dim, centres.data(), k, scratch.labels.data());
  for (size_t i = 0; i < m; ++i) labels[members[i]] = scratch.labels[i];
  Clusters clusters{dim, std::vector<double>(from.sums.begin(), from.sums.end()),
                    std::vector<double>(from.mass.begin(), from.mass.end())};
  for_each_change(from.labels.data(), labels.data(), pts.n, [&](size_t p) {
    clusters.move_point(&pts.points[p * dim], pts.weight(p), from.labels[p], labels[p]);
  });
  sums = std::move(clusters.sums);
  mass = std::move(clusters.mass);
}

void own_distances(const LanedPoints& pts, const std::vector<float>& centres,
                   std::span<const uint8_t> labels, std::vector<float>& own) {
  own.resize(pts.n);
  for (size_t p = 0; p < pts.n; ++p) own[p] = lane_distance(pts, p, &centres[labels[p] * pts.dim]);
}

namespace {

// lanes[t * n + p] = points[p * dim + t], one coordinate array at a time.
template <size_t D>
void transpose_into_lanes(const float* points, size_t n, size_t dim, float* lanes) {
  const size_t d = D ? D : dim;
  for (size_t t = 0; t < d; ++t) {
    float* lane = lanes + t * n;
    for (size_t p = 0; p < n; ++p) lane[p] = points[p * d + t];
  }
}

}  // namespace

LanedPoints::LanedPoints(std::span<const float> points_in, std::span<const double> weights_in,
                         size_t dim_in)
    : points(points_in),
      weights(weights_in),
      dim(dim_in),
      n(points_in.size() / dim_in),
      lanes(points_in.size()) {
  switch (dim) {
    case 2:
      transpose_into_lanes<2>(points.data(), n, dim, lanes.data());
      break;
    case 4:
      transpose_into_lanes<4>(points.data(), n, dim, lanes.data());
      break;
    default:
      transpose_into_lanes<0>(points.data(), n, dim, lanes.data());
  }
}

double weighted_square_sum(const LanedPoints& pts) {
  double part[4] = {0, 0, 0, 0};
  for (size_t p = 0; p < pts.n; ++p) {
    double s = 0;
    for (size_t t = 0; t < pts.dim; ++t) {
      const double x = pts.points[p * pts.dim + t];
      s += x * x;
    }
    part[p % 4] += pts.weight(p) * s;
  }
  return (part[0] + part[1]) + (part[2] + part[3]);
}

namespace {

template <size_t D>
void add_points(const LanedPoints& pts, std::span<const uint8_t> labels, Clusters& clusters) {
  const size_t d = D ? D : pts.dim;
  for (size_t p = 0; p < pts.n; ++p) {
    const double w = pts.weight(p);
    const size_t j = labels[p];
    clusters.mass[j] += w;
    for (size_t t = 0; t < d; ++t) clusters.sums[j * d + t] += w * double(pts.points[p * d + t]);
  }
}

}  // namespace

void cluster_sums(const LanedPoints& pts, std::span<const uint8_t> labels, size_t k,
                  std::vector<double>& sums, std::vector<double>& mass) {
  Clusters clusters{pts.dim, std::vector<double>(k * pts.dim, 0.0), std::vector<double>(k, 0.0)};
  switch (pts.dim) {
    case 2:
      add_points<2>(pts, labels, clusters);
      break;
    case 4:
      add_points<4>(pts, labels, clusters);
      break;
    default:
      add_points<0>(pts, labels, clusters);
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
    for_each_change(labels.data(), next.data(), n, [&](size_t p) {
      ++changed;
      clusters.move_point(&pts.points[p * dim], pts.weight(p), labels[p], next[p]);
    });
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
  result.cost = stop.square_sum >= 0 && !stop.final_move
                    ? cost_from_sums(clusters, centres, stop.square_sum)
                    : labelled_cost(pts, centres, labels);
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
