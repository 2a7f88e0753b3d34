#include "core/compress/kmeans1d_lagrangian.h"

#include <cmath>
#include <limits>

#include "core/compress/kmeans1d_cost.h"
#include "core/compress/kmeans1d_penalized.h"

namespace mlpress::compress {
namespace {

// Above this many values the first price comes from a coarsened copy of about this many.
constexpr size_t kCoarseValues = size_t(1) << 16;
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

struct SearchOutcome {
  std::optional<std::vector<size_t>> starts;
  double lambda;  // the price that gave k, or the last one tried
};

SearchOutcome search(const SegmentCost& cost, size_t k, double lambda, size_t* solves) {
  const size_t n = cost.size();
  PenalizedSegmenter segmenter(cost);
  // Bracketing hull vertices: at price 0 every value is its own cluster at cost 0; at an
  // infinite price one cluster.
  Probe more{0.0, n, 0.0};
  Probe fewer{std::numeric_limits<double>::infinity(), 1, cost(0, n)};
  bool chord = false;
  for (size_t solve = 1; solve <= kMaxSolves; ++solve) {
    const PenalizedSegmentation got = segmenter.solve(lambda);
    ++*solves;
    if (got.count == k) return {segmenter.starts(), lambda};
    // A chord between two hull vertices that finds no vertex strictly between them: f is linear
    // from one to the other, so no price yields k.
    if (chord && (got.count >= more.count || got.count <= fewer.count)) break;
    const Probe probe{lambda, got.count, got.cost};
    if (got.count > k) {
      more = probe;
    } else {
      fewer = probe;
    }
    // Newton on m(lambda) ~ lambda^(-1/3); a chord when that leaves the bracket or its turn.
    double next = lambda * std::pow(double(got.count) / double(k), 3.0);
    chord = solve % kChordEvery == 0 || !(next > more.lambda && next < fewer.lambda);
    if (chord) next = (fewer.cost - more.cost) / double(more.count - fewer.count);
    if (!(next >= 0) || !std::isfinite(next)) break;
    lambda = next;
  }
  return {std::nullopt, lambda};
}

// The first price: a typical marginal cost of a cluster, f(1) * 2 / k^3 (exact for a uniform
// density, where f(m) ~ f(1) / m^2), or for many values the price that gives k on a coarsened
// copy (consecutive runs of values merged into their weighted mean, ascending as the runs are).
double first_price(std::span<const double> values, std::span<const double> weights,
                   const SegmentCost& cost, size_t k, size_t* coarse_solves) {
  const size_t n = values.size();
  if (n <= 2 * kCoarseValues) {
    const double kk = double(k);
    return 2.0 * cost(0, n) / (kk * kk * kk);
  }
  const size_t run = (n + kCoarseValues - 1) / kCoarseValues;
  std::vector<double> coarse_values, coarse_weights;
  for (size_t lo = 0; lo < n; lo += run) {
    const size_t hi = lo + run < n ? lo + run : n;
    double w = 0;
    double s = 0;
    for (size_t i = lo; i < hi; ++i) {
      w += weights[i];
      s += weights[i] * (values[i] - values[lo]);
    }
    coarse_values.push_back(values[lo] + s / w);
    coarse_weights.push_back(w);
  }
  const SegmentCost coarse(coarse_values, coarse_weights);
  const double guess = first_price(coarse_values, coarse_weights, coarse, k, coarse_solves);
  return search(coarse, k, guess, coarse_solves).lambda;
}

}  // namespace

std::optional<std::vector<size_t>> lagrangian_k_segmentation(std::span<const double> values,
                                                             std::span<const double> weights,
                                                             size_t k, LagrangianStats* stats) {
  LagrangianStats local;
  LagrangianStats& st = stats ? *stats : local;
  const size_t n = values.size();
  if (k < 2 || k >= n) return std::nullopt;
  const SegmentCost cost(values, weights);
  const double lambda = first_price(values, weights, cost, k, &st.coarse_solves);
  return search(cost, k, lambda, &st.solves).starts;
}

}  // namespace mlpress::compress
