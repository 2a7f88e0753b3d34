#include "core/compress/kmeans1d_layered.h"

#include <limits>
#include <stdexcept>

#include "core/compress/kmeans1d_cost.h"

namespace mlpress::compress {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The cost of values [lo + i, lo + j) (forward) or of the mirrored run when reading the values
// from the end (backward), so one DP serves both directions.
struct RangeCost {
  const SegmentCost* cost;
  size_t lo;
  size_t n;
  bool reversed;
  double operator()(size_t i, size_t j) const {
    return reversed ? (*cost)(lo + n - j, lo + n - i) : (*cost)(lo + i, lo + j);
  }
};

// cur[j] = min over i in [ilo, min(ihi, j - 1)] of prev[i] + cost(i, j), for j in [jlo, jhi].
// The optimal i is monotone in j, so the middle j's argmin bounds both halves.
void solve_layer(const RangeCost& cost, const std::vector<double>& prev, std::vector<double>& cur,
                 size_t jlo, size_t jhi, size_t ilo, size_t ihi) {
  while (jlo <= jhi) {
    const size_t j = jlo + (jhi - jlo) / 2;
    double best = kInf;
    size_t best_i = ilo;
    const size_t last = ihi < j - 1 ? ihi : j - 1;
    for (size_t i = ilo; i <= last; ++i) {
      const double v = prev[i] + cost(i, j);
      if (v < best) {
        best = v;
        best_i = i;
      }
    }
    cur[j] = best;
    if (j > jlo) solve_layer(cost, prev, cur, jlo, j - 1, ilo, best_i);
    jlo = j + 1;
    ilo = best_i;
  }
}

// row[j] = optimal cost of the first j values (of the n in `cost`) in `layers` clusters, for
// j >= layers; entries below are +inf.
std::vector<double> dp_row(const RangeCost& cost, size_t n, size_t layers) {
  std::vector<double> prev(n + 1, kInf);
  for (size_t j = 1; j <= n; ++j) prev[j] = cost(0, j);
  std::vector<double> cur(n + 1, kInf);
  for (size_t m = 2; m <= layers; ++m) {
    cur.assign(n + 1, kInf);
    solve_layer(cost, prev, cur, m, n, m - 1, n - 1);
    prev.swap(cur);
  }
  return prev;
}

// Appends the starts of an optimal clustering of values [lo, hi) into k clusters, k <= hi - lo.
void segment(const SegmentCost& cost, size_t lo, size_t hi, size_t k, std::vector<size_t>& starts) {
  const size_t n = hi - lo;
  if (k == 1) {
    starts.push_back(lo);
    return;
  }
  if (k == n) {
    for (size_t i = lo; i < hi; ++i) starts.push_back(i);
    return;
  }
  const size_t left = k / 2;
  const size_t right = k - left;
  size_t cut = left;
  {
    const std::vector<double> forward = dp_row({&cost, lo, n, false}, n, left);
    const std::vector<double> backward = dp_row({&cost, lo, n, true}, n, right);
    double best = kInf;
    for (size_t b = left; b + right <= n; ++b) {
      const double v = forward[b] + backward[n - b];
      if (v < best) {
        best = v;
        cut = b;
      }
    }
  }
  segment(cost, lo, lo + cut, left, starts);
  segment(cost, lo + cut, hi, right, starts);
}

}  // namespace

KMeans1dResult kmeans_1d_layered_dp(std::span<const double> values, std::span<const double> weights,
                                    size_t k) {
  if (values.size() != weights.size()) {
    throw std::invalid_argument("kmeans_1d_layered_dp: values and weights differ in length");
  }
  const size_t n = values.size();
  if (k > n) k = n;
  if (k == 0) return {};
  const SegmentCost cost(values, weights);
  std::vector<size_t> starts;
  segment(cost, 0, n, k, starts);
  return clustering_from_starts(values, weights, std::move(starts));
}

}  // namespace mlpress::compress
