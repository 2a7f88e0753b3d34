// The planner's knapsack and choice rules against exhaustive search on small instances.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/io/error.h"
#include "core/plan/knapsack.h"
#include "core/plan/planner.h"

namespace mlpress::plan {
namespace {

using Items = std::vector<std::vector<KnapsackOption>>;

// Least error over every combination within the budget; +inf when none fits.
double exhaustive_min_error(const Items& items, uint64_t budget) {
  double best = std::numeric_limits<double>::infinity();
  std::vector<size_t> pick(items.size(), 0);
  for (;;) {
    uint64_t bytes = 0;
    double error = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      bytes += items[i][pick[i]].bytes;
      error += items[i][pick[i]].error;
    }
    if (bytes <= budget) best = std::min(best, error);
    size_t i = 0;
    while (i < items.size() && ++pick[i] == items[i].size()) pick[i++] = 0;
    if (i == items.size()) return best;
  }
}

Items random_items(std::mt19937& rng, uint64_t granule) {
  std::uniform_int_distribution<int> count(1, 6), options(1, 5), units(0, 40);
  std::uniform_real_distribution<double> error(0, 10);
  Items items(count(rng));
  for (auto& item : items) {
    item.resize(options(rng));
    for (auto& o : item)
      o = {uint64_t(units(rng)) * granule + (granule == 64 ? 0 : rng() % 64), error(rng)};
  }
  return items;
}

TEST(PlanKnapsack, SixtyFourByteUnitsAreExact) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    const Items items = random_items(rng, 64);
    const uint64_t budget = rng() % (64 * 120);
    const double want = exhaustive_min_error(items, budget);
    const KnapsackSolution got = solve_min_error(items, budget);
    ASSERT_EQ(got.feasible, std::isfinite(want)) << "trial " << trial;
    if (!got.feasible) continue;
    EXPECT_EQ(got.unit, 64u);
    EXPECT_LE(got.bytes, budget);
    EXPECT_NEAR(got.error, want, 1e-9) << "trial " << trial;
  }
}

TEST(PlanKnapsack, CoarseUnitsAlwaysFitAndStayCloseToTheOptimum) {
  std::mt19937 rng(11);
  double worst_gap = 0;
  int solved = 0, feasible = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const Items items = random_items(rng, 37);  // sizes that are no multiple of the unit
    const uint64_t budget = 64 * 20 + rng() % (64 * 60);
    const double want = exhaustive_min_error(items, budget);
    const KnapsackSolution got = solve_min_error(items, budget, /*max_cells=*/64);
    feasible += std::isfinite(want);
    if (!got.feasible) continue;  // rounding up may lose a solution that only just fits
    ++solved;
    EXPECT_LE(got.bytes, budget);
    EXPECT_GE(got.error, want - 1e-9);
    worst_gap = std::max(worst_gap, got.error - want);
  }
  EXPECT_GE(2 * solved, feasible);  // rounding up loses only plans that nearly fill the budget
  EXPECT_LT(worst_gap, 10.0);       // at most about one item's error range
}

TEST(PlanKnapsack, FillSlackTakesTheLargestImprovementThatFits) {
  const Items items = {{{100, 5}, {200, 1}}, {{100, 4}, {150, 0}}};
  KnapsackSolution s;
  s.picks = {0, 0};
  s.bytes = 200;
  s.error = 9;
  fill_slack(items, 260, s);
  EXPECT_EQ(s.picks, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(s.bytes, 250u);
  EXPECT_EQ(s.error, 5);
}

// A report of `n` weights, each with the standard choices; every available choice's bytes
// and error drawn at random (dense: no error, the most bytes).
SensitivityReport random_report(std::mt19937& rng, size_t n) {
  SensitivityReport report;
  report.choices = standard_choices();
  report.fixed_file_bytes = 128;
  std::uniform_real_distribution<double> unit(0, 1);
  for (size_t w = 0; w < n; ++w) {
    WeightSensitivity ws;
    ws.name = ws.op_name = "w" + std::to_string(w);
    ws.sq_norm = 100;
    for (size_t c = 0; c < report.choices.size(); ++c) {
      ChoiceResult r;
      r.available = c == 0 || unit(rng) < 0.6;
      r.bytes.file = c == 0 ? 64 * 40 : 64 * (1 + rng() % 30);
      r.error.sq_error = c == 0 ? 0 : 100 * unit(rng);
      r.error.snr_db = c == 0 ? INFINITY : 10 * std::log10(100 / r.error.sq_error);
      ws.choices.push_back(r);
    }
    report.weight_file_bytes += ws.choices[0].bytes.file;
    report.weights.push_back(ws);
  }
  report.weight_file_bytes += report.fixed_file_bytes;
  return report;
}

struct Best {
  double error = INFINITY;
  uint64_t bytes = std::numeric_limits<uint64_t>::max();
};

// Every assignment of choices, with the planner's rules spelled out directly.
Best exhaustive_plan(const SensitivityReport& report, const PlanRequest& request) {
  const size_t n = report.weights.size(), k = report.choices.size();
  Best best;
  std::vector<size_t> pick(n, 0);
  for (;;) {
    bool ok = true;
    uint64_t bytes = report.fixed_file_bytes;
    double error = 0;
    for (size_t w = 0; w < n && ok; ++w) {
      const Choice& choice = report.choices[pick[w]];
      const ChoiceResult& r = report.weights[w].choices[pick[w]];
      const bool end = w == 0 || w + 1 == n;
      ok = r.available &&
           !(request.keep_first_last && end && choice.kind != ChoiceKind::kDense &&
             choice.bits < 8) &&
           !(request.min_snr_db && pick[w] != 0 && r.error.snr_db < *request.min_snr_db);
      bytes += r.bytes.file;
      error += r.error.sq_error;
    }
    if (ok && (!request.target_bytes || bytes <= *request.target_bytes)) {
      const bool better = request.target_bytes
                              ? error < best.error
                              : bytes < best.bytes || (bytes == best.bytes && error < best.error);
      if (better) best = {error, bytes};
    }
    size_t w = 0;
    while (w < n && ++pick[w] == k) pick[w++] = 0;
    if (w == n) return best;
  }
}

TEST(PlanPlanner, MatchesExhaustiveSearch) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 60; ++trial) {
    const SensitivityReport report = random_report(rng, 1 + trial % 3);
    PlanRequest request;
    request.keep_first_last = trial % 2 == 0;
    if (trial % 3 != 2) request.target_bytes = 128 + 64 * (10 + rng() % 60);
    if (trial % 3 != 0) request.min_snr_db = 3;
    const Best want = exhaustive_plan(report, request);
    if (!std::isfinite(want.error)) {
      EXPECT_THROW(make_plan(report, request), Error) << "trial " << trial;
      continue;
    }
    const Plan got = make_plan(report, request);
    EXPECT_NEAR(got.total_sq_error, want.error, 1e-9) << "trial " << trial;
    if (request.target_bytes) {
      EXPECT_LE(got.predicted_file_bytes, *request.target_bytes);
    } else {
      EXPECT_EQ(got.predicted_file_bytes, want.bytes) << "trial " << trial;
    }
  }
}

TEST(PlanPlanner, TargetSizes) {
  EXPECT_EQ(parse_target_size("25%", 1000), 250u);
  EXPECT_EQ(parse_target_size("40MB", 0), 40000000u);
  EXPECT_EQ(parse_target_size("2MiB", 0), 2097152u);
  EXPECT_EQ(parse_target_size("1.5KB", 0), 1500u);
  EXPECT_EQ(parse_target_size("1234", 0), 1234u);
  EXPECT_THROW(parse_target_size("12 parsecs", 0), Error);
  EXPECT_THROW(parse_target_size("big", 0), Error);
}

}  // namespace
}  // namespace mlpress::plan
