#pragma once
// Lloyd's iterations for vector k-means with the points held in lanes (one array per coordinate,
// transposed once and reused by every run on the same points) for
// kernels::nearest_centroid_lanes_*; the cluster sums are updated only for the points whose label
// changed, so an iteration late in a run costs one nearest-centre pass and little else. Used on
// the sample (restarts and random swaps, scikit-learn's centre-shift stop) and on every point
// (the last stage of kmeans_vectors on large groups, a relative-gain stop).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "core/compress/kmeans_vector.h"
#include "core/compress/linear_quantize.h"

namespace mlpress::compress {

// n x dim row-major points, `weights` empty (all 1) or n positive values, and their lanes.
class LanedPoints {
 public:
  LanedPoints(std::span<const float> points, std::span<const double> weights, size_t dim);
  std::span<const float> points;
  std::span<const double> weights;
  size_t dim;
  size_t n;
  std::vector<float> lanes;  // coordinate t of point p at t * n + p
  double weight(size_t p) const { return weights.empty() ? 1.0 : weights[p]; }
};

struct LloydStop {
  size_t max_iterations = 300;
  // Stop once the centres' total squared shift in one step is at most this (scikit-learn).
  double shift_tolerance = -1;
  // Stop once a step lowers the cost by less than this times the cost.
  double relative_gain_stop = 0;
  // After the last step, move every centre with points to the mean of its points and relabel
  // once more (the cost never rises above the cost at the starting centres).
  bool final_move = false;
  // When >= 0 (and no final move), the returned cost is computed from the cluster sums with this
  // as sum_p w_p |x_p|^2 (weighted_square_sum): O(k) instead of a pass over the points, exact up
  // to rounding of relative size ~1e-13, for comparisons between runs.
  double square_sum = -1;
};

// A known labelling of the points for `centres`, with its clusters' weighted coordinate sums
// (k x dim) and masses (k), to start from instead of a first nearest-centre pass.
struct LloydStart {
  std::span<const uint8_t> labels;
  std::span<const double> sums;
  std::span<const double> mass;
};

// Lloyd from `centres` (k x dim) until no label changes, a stop rule holds or `max_iterations`
// steps. The returned labels are the nearest centres of the returned centroids and the cost
// (weighted squared error, in double) is theirs. A centre without points stays where it is.
VectorKMeansResult lloyd_lanes(const LanedPoints& pts, std::vector<float> centres,
                               const LloydStop& stop, KernelPath path,
                               const LloydStart* start = nullptr);

// The start of Lloyd after centre `moved` of a clustering (`from`: labels nearest to its centres,
// with their sums and masses) was moved to `centres[moved]`, the other centres unchanged: each
// point of cluster `moved` is labelled by a search over every centre, any other point keeps its
// label unless the moved centre is now nearer (ties to the lower index), so the labels are those
// a full nearest-centre pass would give, at one new distance per point (`own`: each point's
// distance to its centre in `from`, as own_distances gives); the sums follow the changes, in point
// order. The moved centre's former points are searched by kernels::nearest_centroid_lanes_* on
// `path`.
struct MoveScratch {
  std::vector<float> distances;   // to the moved centre, one per point
  std::vector<uint32_t> members;  // the moved centre's former points
  std::vector<float> lanes;       // their coordinates, in lanes
  std::vector<uint8_t> labels;    // their nearest centres
};
void labels_after_moving_one(const LanedPoints& pts, const std::vector<float>& centres,
                             size_t moved, const LloydStart& from, std::span<const float> own,
                             MoveScratch& scratch, std::vector<uint8_t>& labels,
                             std::vector<double>& sums, std::vector<double>& mass, KernelPath path);

// own[p] = the squared distance from point p to centres[labels[p]], as the kernels sum it.
void own_distances(const LanedPoints& pts, const std::vector<float>& centres,
                   std::span<const uint8_t> labels, std::vector<float>& own);

// sum_p w_p |x_p|^2, in double.
double weighted_square_sum(const LanedPoints& pts);

// The clusters' weighted coordinate sums (k x dim) and masses (k) of a labelling.
void cluster_sums(const LanedPoints& pts, std::span<const uint8_t> labels, size_t k,
                  std::vector<double>& sums, std::vector<double>& mass);

// `points` n x dim row-major, `weights` empty or n values: lloyd_lanes with a relative-gain stop
// and the final move.
VectorKMeansResult lloyd_in_lanes(std::span<const float> points, std::span<const double> weights,
                                  size_t dim, std::vector<float> centres, size_t max_iterations,
                                  double relative_gain_stop, KernelPath path);

}  // namespace mlpress::compress
