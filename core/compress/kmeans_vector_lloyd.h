#pragma once
// Lloyd's iterations for vector k-means over many points from good starting centres (the last
// stage of kmeans_vectors on large groups, after the centres were found on a sample): points
// are held in lanes (one array per coordinate) for kernels::nearest_centroid_lanes_*, and the
// cluster sums are updated only for the points whose label changed, so an iteration late in the
// run costs one nearest-centre pass and little else.
#include <cstddef>
#include <span>
#include <vector>

#include "core/compress/kmeans_vector.h"
#include "core/compress/linear_quantize.h"

namespace mlpress::compress {

// `points` n x dim row-major, `weights` empty (all 1) or n positive values, `centres` k x dim.
// Iterates until no label changes, an iteration lowers the cost by less than
// `relative_gain_stop` times the cost, or `max_iterations`; then sets every centre with points to
// the (weighted) mean of its points and relabels once more, so the returned labels are the nearest
// centres of the returned centroids and the cost is theirs (never above the cost at the starting
// centres). A centre without points stays where it is.
VectorKMeansResult lloyd_in_lanes(std::span<const float> points, std::span<const double> weights,
                                  size_t dim, std::vector<float> centres, size_t max_iterations,
                                  double relative_gain_stop, KernelPath path);

}  // namespace mlpress::compress
