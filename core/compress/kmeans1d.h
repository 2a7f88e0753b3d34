#pragma once
// Globally optimal weighted 1-D k-means (COMPRESSION.md §4.2): the minimum of
// sum_i w_i (x_i - centroid(x_i))^2 over all clusterings of the values into k clusters. In one
// dimension an optimal clustering cuts the sorted values into k contiguous runs.
//
// Method (Aggarwal, Schieber and Tokuyama's Lagrangian search, as Grønlund et al. 2017 use it
// for 1-D k-means): the optimal cost f(m) in m clusters is convex in m, so for a price lambda
// per cluster the penalised optimum (kmeans1d_penalized.h, O(u log L) for u values) has some
// count m(lambda), non-increasing in lambda; a clustering that is optimal for the penalised
// problem and has exactly k clusters is optimal for k clusters (any k-clustering of lower cost
// would also have a lower penalised value). The first price is the middle of the interval of
// prices that give k on a coarsened copy of the values (from f(k - 1) and f(k + 1) there), which
// lands k on the first solve of the full values on smooth data; from there, power-law Newton
// steps (m ~ lambda^(-1/3) for smooth densities) and chords of the convex hull of f.
//
// When no lambda gives exactly k (f is linear across k: the hull has no vertex there, which ties
// make possible) or the search does not settle, the layered DP (kmeans1d_layered.h) answers.
// Memory O(u) either way, never O(elements x k).
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

// A price per cluster carried from one search to the next on values of a similar distribution
// (the channel groups of one weight, in order): the mean of the prices the coarsened copy gave
// so far, each per unit of its values' total cost f(1), is tried first on the next values (one
// full solve, no coarsened copy). When it misses k, the search goes on from the coarsened copy's
// price as without a hint, and that price joins the mean. (The mean, not the last such price: a
// miss comes from a group whose price interval lies off the others', and its price as the next
// hint made the next, ordinary group miss in turn; 14 -> 8 misses in 127 tries on a 2048 x 2048
// normal fp16 weight in groups of 16 channels at k 16.) Tries stop once more than one in 8
// missed (narrow price intervals, as at k 256), so a hint wastes few solves. The clustering is an
// optimal one either way: only among clusterings of exactly equal cost may the one returned
// depend on the hint.
struct KMeans1dPriceHint {
  double price_per_cost = 0;  // the price tried; 0: none yet
  size_t tries = 0;
  size_t misses = 0;
  double coarse_sum = 0;  // the coarse prices per unit of f(1) so far, and how many
  size_t coarse_count = 0;
};

// `values` strictly ascending, `weights` positive and finite, one per value. k is clipped to
// the number of values (each value then is its own centroid, exactly); k = 0 or no values give
// an empty result. Among clusterings of equal cost, which one comes back is unspecified.
// `hint` (optional) is read and updated as KMeans1dPriceHint says.
KMeans1dResult kmeans_1d_optimal(std::span<const double> values, std::span<const double> weights,
                                 size_t k, KMeans1dPriceHint* hint = nullptr);

}  // namespace mlpress::compress
