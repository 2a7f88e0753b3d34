#pragma once
// The cost of one 1-D k-means cluster, shared by the exact solvers (kmeans1d.h): the weighted
// squared error of a run of sorted distinct values about its weighted mean, in O(1) from prefix
// sums. The cost satisfies the quadrangle inequality (concave Monge): for a <= b <= c <= d,
// cost(a, c) + cost(b, d) <= cost(a, d) + cost(b, c). Every speed-up of the solvers rests on it.
#include <cstddef>
#include <span>
#include <vector>

#include "core/compress/kmeans1d.h"

namespace mlpress::compress {

class SegmentCost {
 public:
  SegmentCost(std::span<const double> values, std::span<const double> weights);

  size_t size() const { return prefix_.size() - 1; }

  // Sums of weight, weight x value and weight x value^2 (values relative to the mean) before index
  // i: what a solver needs to compare two clusters' costs without forming them.
  // The empty constructor leaves a new vector's entries unwritten: the constructor writes each
  // one once (zero-filling them first cost a third of it).
  struct Prefix {
    Prefix() {}
    Prefix(double w_, double s_, double q_) : w(w_), s(s_), q(q_) {}
    double w, s, q;
  };
  const Prefix& prefix(size_t i) const { return prefix_[i]; }

  // Values [i, j), i < j. Values are taken relative to the overall weighted mean so the sums
  // cancel as little as possible; the result is clamped at 0 (rounding can make it negative).
  double operator()(size_t i, size_t j) const {
    const Prefix& a = prefix_[i];
    const Prefix& b = prefix_[j];
    const double w = b.w - a.w;
    const double s = b.s - a.s;
    const double q = b.q - a.q;
    const double c = q - s * s / w;
    return c > 0 ? c : 0.0;
  }

 private:
  // Kept together so one cost reads two cache lines, not six.
  std::vector<Prefix> prefix_;
};

// The clustering with clusters starting at `starts` (ascending, starts[0] = 0): centroids and
// cost summed directly from the values (not from prefix sums), so a one-value cluster is that
// value exactly and the reported cost is as accurate as double allows.
KMeans1dResult clustering_from_starts(std::span<const double> values,
                                      std::span<const double> weights, std::vector<size_t> starts);

}  // namespace mlpress::compress
