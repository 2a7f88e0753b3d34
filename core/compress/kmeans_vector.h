#pragma once
// Weighted k-means for vector palettization (COMPRESSION.md §4.6): greedy k-means++ seeding
// (2 + floor(ln k) candidates per centre, the best kept), then Lloyd iterations to convergence
// (scikit-learn's centre-shift tolerance) and Hartigan single-point moves,
// from several deterministic restarts; the clustering with the lowest weighted squared error
// wins. Large groups run the restarts on a sample and finish with Lloyd on every point
// (kmeans_vector_lloyd.h). Unlike coremltools, k may exceed the number of distinct vectors: seeding
// stops once every vector sits on a centre, so fewer centroids come back.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/compress/linear_quantize.h"

namespace mlpress::compress {

struct VectorKMeansOptions {
  size_t restarts = 4;
  size_t max_iterations = 300;
  // Lloyd stops once the centres' total squared shift is at most this times the points' mean
  // per-coordinate variance (scikit-learn's rule, with coremltools' 1e-2).
  double tolerance = 1e-2;
  // Groups of more than twice max(sample_points, 64 k) points run the restarts on a stratified
  // random sample of that many points, then Lloyd's iterations on every point from the best
  // sample clustering, until an iteration lowers the cost by less than `polish_gain_stop` times
  // the cost (or no label changes). 0: never sample.
  size_t sample_points = 16384;
  double polish_gain_stop = 1e-4;
  // On the sample: this many restarts of seeding and Lloyd, then `sample_swap_work` / (k dim)
  // random swaps, at least `sample_swaps` and at most 4 x that, from the best (kmeans_vector.cc)
  // and Hartigan's moves. Each swap's Lloyd run costs about k x dim x sample size per iteration,
  // so small LUTs of short vectors get more (128 at k <= 16, dim 2: the 32 of before left
  // scikit-learn's single run 0.5-1.6% ahead on the heavy-tailed and clustered large_vectors
  // weights of test_palettize.py; 64 at k = 16, dim 4).
  size_t sample_restarts = 4;
  size_t sample_swaps = 32;
  size_t sample_swap_work = 4096;
  // Lloyd steps per random swap (the winner is run to convergence after the last swap).
  size_t swap_iterations = 2;
  uint64_t seed = 0x6D6C7072657373ULL;  // "mlpress"
};

struct VectorKMeansResult {
  size_t dim = 0;
  std::vector<float> centroids;  // count() x dim, row-major
  std::vector<uint8_t> labels;   // one per point
  double cost = 0;               // weighted sum of squared distances, in double
  size_t count() const { return dim ? centroids.size() / dim : 0; }
};

// `points` holds n x dim finite floats; `weights` is empty (all 1) or n positive finite values.
// 1 <= k <= 256. Deterministic for given inputs and options, on every platform.
VectorKMeansResult kmeans_vectors(std::span<const float> points, std::span<const double> weights,
                                  size_t dim, size_t k, const VectorKMeansOptions& options = {},
                                  KernelPath path = KernelPath::kSimd);

// labels[p] = nearest of `centroids` (count x dim, row-major) to point p, as
// kernels::nearest_centroid_lanes_*.
void assign_nearest_vectors(std::span<const float> points, size_t dim,
                            std::span<const float> centroids, std::span<uint8_t> labels,
                            KernelPath path = KernelPath::kSimd);

}  // namespace mlpress::compress
