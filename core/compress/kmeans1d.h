#pragma once
// Globally optimal weighted 1-D k-means (COMPRESSION.md §4.2): the minimum of
// sum_i w_i (x_i - centroid(x_i))^2 over all clusterings of the values into k clusters. In one
// dimension an optimal clustering cuts the sorted values into k contiguous runs, so a dynamic
// program over sorted distinct values finds it exactly (in double precision).
//
// Time O(k·u·log u) for u values (divide-and-conquer optimisation of each DP layer, which is
// valid because the segment cost satisfies the quadrangle inequality); memory O(u): the
// segmentation is recovered Hirschberg-style (split the k clusters in two halves, find the cut
// from a forward and a backward DP, recurse), never with a k x u table.
#include <cstddef>
#include <span>
#include <vector>

namespace mlpress::compress {

struct KMeans1dResult {
  // One per cluster, ascending; cluster c holds values [starts[c], starts[c + 1]) (the last runs
  // to the end).
  std::vector<double> centroids;
  std::vector<size_t> starts;
  double cost = 0;  // weighted sum of squared distances to the centroids
};

// `values` strictly ascending, `weights` positive and finite, one per value. k is clipped to
// the number of values (each value then is its own centroid, exactly); k = 0 or no values give
// an empty result.
//
// Ties: the DP keeps the first (leftmost) split point among those of equal cost, so among
// clusterings of equal cost (in the floating-point sums) the one whose cuts come earliest wins.
KMeans1dResult kmeans_1d_optimal(std::span<const double> values, std::span<const double> weights,
                                 size_t k);

}  // namespace mlpress::compress
