#include "core/compress/kmeans1d_lagrangian.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/compress/kmeans1d_cost.h"
#include "core/compress/kmeans1d_penalized.h"

namespace mlpress::compress {
namespace {

// The coarsened copy that prices the full values has about n / kCoarseShrink values (at most
// kCoarseMax), but never fewer than kCoarsePerCluster per cluster: its cluster costs then differ
// from the full ones by the scatter inside the merged runs (the same for every clustering) plus a
// restriction of the cuts to run boundaries that is tiny against a cluster's cost, so its
// marginal costs (the prices) are those of the full values to far better than the width of the
// price interval that gives k. Its several solves then cost a fraction of one on the full values.
constexpr size_t kCoarseShrink = 32;
constexpr size_t kCoarsePerCluster = 16;
constexpr size_t kCoarseMax = size_t(1) << 16;
// Newton steps usually land in 1 to 4 solves; the chords alone converge, more slowly.
constexpr size_t kMaxSolves = 48;
// Every this many solves the step is a chord, whatever Newton proposes: it is the step that
// provably finds a new hull vertex (or shows there is none).
constexpr size_t kChordEvery = 3;

// A solved price: its cluster count and (unpenalised) cost, one vertex of the lower convex hull
// of f.
struct Probe {
  double lambda;
  size_t count;
  double cost;
};

// The hull vertices solved so far on one set of values, both ends included from the start: at
// price 0 every value is its own cluster at cost 0; at an infinite price one cluster.
class Hull {
 public:
  explicit Hull(const SegmentCost& cost)
      : vertices_{{0.0, cost.size(), 0.0},
                  {std::numeric_limits<double>::infinity(), 1, cost(0, cost.size())}} {}

  void add(const Probe& p) { vertices_.push_back(p); }
  const Probe* with(size_t count) const {
    for (const Probe& p : vertices_) {
      if (p.count == count) return &p;
    }
    return nullptr;
  }
  // The vertex with the fewest clusters above k, and the one with the most below k.
  Probe above(size_t k) const {
    Probe best = vertices_[0];
    for (const Probe& p : vertices_) {
      if (p.count > k && p.count < best.count) best = p;
    }
    return best;
  }
  Probe below(size_t k) const {
    Probe best = vertices_[1];
    for (const Probe& p : vertices_) {
      if (p.count < k && p.count > best.count) best = p;
    }
    return best;
  }

 private:
  std::vector<Probe> vertices_;
};

// The price of the hull's chord between two vertices: every price on it is optimal for both,
// and it finds a vertex strictly between them if there is one.
double chord(const Probe& more, const Probe& fewer) {
  return (fewer.cost - more.cost) / double(more.count - fewer.count);
}

// Once the bracket spans at most this many counts, chords (which land in it for sure) beat
// Newton steps (which treat the count as continuous and overshoot by a few).
constexpr size_t kChordSpan = 4;

struct SearchOutcome {
  bool found = false;
  double lambda = 0;  // the price that gave k, or the last one tried
  double cost = 0;    // f(k) when found (from prefix sums)
};

// Searches a price whose penalised optimum has exactly k clusters, starting at `lambda` (or at
// the chord of a narrow bracket of known vertices), adding every solve to `hull`. When found by a
// solve, the segmenter holds that optimum; a vertex already in the hull is returned unsolved.
SearchOutcome search(PenalizedSegmenter& segmenter, Hull& hull, size_t k, double lambda,
                     size_t* solves) {
  if (const Probe* known = hull.with(k)) return {true, known->lambda, known->cost};
  {
    const Probe more = hull.above(k);
    const Probe fewer = hull.below(k);
    if (more.count - fewer.count <= kChordSpan) lambda = chord(more, fewer);
  }
  bool chorded = false;
  for (size_t solve = 1; solve <= kMaxSolves; ++solve) {
    const Probe more = hull.above(k);
    const Probe fewer = hull.below(k);
    const PenalizedSegmentation got = segmenter.solve(lambda);
    ++*solves;
    if (got.count == k) {
      hull.add({lambda, got.count, got.cost});
      return {true, lambda, got.cost};
    }
    // A chord between two hull vertices that finds no vertex strictly between them: f is linear
    // from one to the other, so no price yields k.
    if (chorded && (got.count >= more.count || got.count <= fewer.count)) break;
    hull.add({lambda, got.count, got.cost});
    const Probe new_more = hull.above(k);
    const Probe new_fewer = hull.below(k);
    // Newton on m(lambda) ~ lambda^(-1/3); a chord when that leaves the bracket, when the
    // bracket is narrow, or on its turn.
    double next = lambda * std::pow(double(got.count) / double(k), 3.0);
    chorded = solve % kChordEvery == 0 || new_more.count - new_fewer.count <= kChordSpan ||
              !(next > new_more.lambda && next < new_fewer.lambda);
    if (chorded) next = chord(new_more, new_fewer);
    if (!(next >= 0) || !std::isfinite(next)) break;
    lambda = next;
  }
  return {false, lambda, 0};
}

// A typical marginal cost of the k-th cluster, from the high-resolution theory of quantisers
// (Panter and Dite): with density p, f(m) ~ (integral of p^(1/3))^3 / (12 m^2), so
// f(k - 1) - f(k) ~ (integral of p^(1/3))^3 / (6 k^3). Each value stands for its weight spread
// over a cell reaching halfway to its neighbours: p^(1/3) dx = w^(1/3) dx^(2/3). For a uniform
// density this is 2 f(1) / k^3, the guess it replaces (and the fallback), which is off by a
// factor that depends on the distribution's shape: the searches from this one land k in fewer
// solves (coarse solves on 272 sets of 4,096 normal fp16 values at k 16: 765 -> 460; Student-t:
// 802 -> 489; at k 64: 362 -> 221).
double typical_price(std::span<const double> values, std::span<const double> weights,
                     const SegmentCost& cost, size_t k) {
  const size_t n = values.size();
  const double kk = double(k);
  const double uniform = 2.0 * cost(0, n) / (kk * kk * kk);
  if (n < 2) return uniform;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double below = values[i > 0 ? i : 1] - values[i > 0 ? i - 1 : 0];
    const double above = values[i + 1 < n ? i + 1 : n - 1] - values[i + 1 < n ? i : n - 2];
    const double cell = (below + above) / 2;
    sum += std::cbrt(weights[i] * cell * cell);
  }
  const double price = sum * sum * sum / (6.0 * kk * kk * kk);
  return price > 0 && std::isfinite(price) ? price : uniform;
}

// The first price for k clusters: typical_price when the values are too few to coarsen. Otherwise
// from a coarsened copy (consecutive runs of values merged into their weighted mean, ascending as
// the runs are): a price that gives exactly k clusters on the copy, or with `centred` the middle
// of the copy's interval of such prices, (f(k - 1) - f(k + 1)) / 2, found by landing k + 1 and
// k - 1 clusters on the copy as well. Any price of the interval lands k on the full values at
// once about as often (on 4,096 normal fp16 values at k 4, 16 and 64: 100, 274 and 110 full
// solves for 100, 272 and 100 sets with the middle, 100, 279 and 113 without), and the two
// further searches cost more than the few misses; the middle is for a price hint, whose mean
// over the groups of a weight it must not pull off centre (kmeans1d.h).
double first_price(std::span<const double> values, std::span<const double> weights,
                   const SegmentCost& cost, size_t k, bool centred, size_t* coarse_solves) {
  const size_t n = values.size();
  const size_t coarse_n = std::min(kCoarseMax, std::max(n / kCoarseShrink, k * kCoarsePerCluster));
  if (2 * coarse_n > n) return typical_price(values, weights, cost, k);
  // A run ends after `run` values or once it spans `width`, whichever comes first: where values
  // are sparse (the tails) the clusters are narrow in count, and runs of equal count would be
  // too coarse there to price them. At most 2 x coarse_n runs.
  const size_t run = (n + coarse_n - 1) / coarse_n;
  const double width = (values[n - 1] - values[0]) / double(coarse_n);
  std::vector<double> coarse_values, coarse_weights;
  coarse_values.reserve(2 * coarse_n);
  coarse_weights.reserve(2 * coarse_n);
  for (size_t lo = 0, hi = 0; lo < n; lo = hi) {
    double w = 0;
    double s = 0;
    for (hi = lo; hi < n && hi - lo < run && values[hi] - values[lo] <= width; ++hi) {
      w += weights[hi];
      s += weights[hi] * (values[hi] - values[lo]);
    }
    coarse_values.push_back(values[lo] + s / w);
    coarse_weights.push_back(w);
  }
  const SegmentCost coarse(coarse_values, coarse_weights);
  const double guess = first_price(coarse_values, coarse_weights, coarse, k, false, coarse_solves);
  PenalizedSegmenter segmenter(coarse);
  Hull hull(coarse);
  const SearchOutcome at_k = search(segmenter, hull, k, guess, coarse_solves);
  if (!centred || !at_k.found || k + 1 >= coarse_values.size()) return at_k.lambda;
  // The neighbouring counts; Newton's first guesses from k's price.
  const double kk = double(k);
  const SearchOutcome at_more =
      search(segmenter, hull, k + 1, at_k.lambda * std::pow(kk / (kk + 1), 3.0), coarse_solves);
  const SearchOutcome at_fewer =
      search(segmenter, hull, k - 1, at_k.lambda * std::pow(kk / (kk - 1), 3.0), coarse_solves);
  if (!at_more.found || !at_fewer.found) return at_k.lambda;
  return (at_fewer.cost - at_more.cost) / 2;
}

}  // namespace

std::optional<std::vector<size_t>> lagrangian_k_segmentation(std::span<const double> values,
                                                             std::span<const double> weights,
                                                             size_t k, LagrangianStats* stats,
                                                             KMeans1dPriceHint* hint) {
  LagrangianStats local;
  LagrangianStats& st = stats ? *stats : local;
  const size_t n = values.size();
  if (k < 2 || k >= n) return std::nullopt;
  const SegmentCost cost(values, weights);
  PenalizedSegmenter segmenter(cost);
  Hull hull(cost);
  // The marginal cost of a cluster scales with the values' total cost f(1) for a given shape of
  // distribution, so the hint's price is kept per unit of it.
  const double total = cost(0, n);
  if (hint && hint->price_per_cost > 0 && 8 * hint->misses <= hint->tries && total > 0) {
    const double lambda = hint->price_per_cost * total;
    const PenalizedSegmentation got = segmenter.solve(lambda);
    ++st.solves;
    ++hint->tries;
    if (got.count == k) {
      st.hint_hit = true;
      return segmenter.starts();
    }
    hull.add({lambda, got.count, got.cost});
    ++hint->misses;
  }
  const double lambda = first_price(values, weights, cost, k, hint != nullptr, &st.coarse_solves);
  const SearchOutcome found = search(segmenter, hull, k, lambda, &st.solves);
  if (!found.found) return std::nullopt;
  // (The hull held no vertex of k clusters before the search, the hint's miss included, so the
  // segmenter holds the solve that found k.)
  if (hint && total > 0) {
    hint->coarse_sum += lambda / total;
    ++hint->coarse_count;
    hint->price_per_cost = hint->coarse_sum / double(hint->coarse_count);
  }
  return segmenter.starts();
}

}  // namespace mlpress::compress
