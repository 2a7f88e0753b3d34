#pragma once
// The multiple-choice knapsack behind the planner: one option per item, least total error
// with total bytes within a budget. Pure: no package, no configs.
//
// Method: dynamic programming over the budget in units of `unit` bytes, each option's bytes
// rounded up to whole units, so every solution it returns truly fits. With 64-byte units
// (weight-file slots are multiples of 64) the result is the exact optimum; budgets too large
// for `max_cells` (items x units) use coarser units, and the slack the rounding leaves is then
// filled greedily (each step: the single option change with the largest error reduction that
// still fits).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlpress::plan {

struct KnapsackOption {
  uint64_t bytes = 0;
  double error = 0;
};

struct KnapsackSolution {
  bool feasible = false;
  std::vector<size_t> picks;  // option index per item
  uint64_t bytes = 0;
  double error = 0;
  uint64_t unit = 0;  // the DP's unit in bytes
};

// Every item needs at least one option. Options beyond 255 per item are not supported.
KnapsackSolution solve_min_error(const std::vector<std::vector<KnapsackOption>>& items,
                                 uint64_t budget, uint64_t max_cells = uint64_t{1} << 26);

// The fill step alone: improves `solution` in place within `budget`.
void fill_slack(const std::vector<std::vector<KnapsackOption>>& items, uint64_t budget,
                KnapsackSolution& solution);

}  // namespace mlpress::plan
