#include "core/plan/knapsack.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mlpress::plan {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

void total(const std::vector<std::vector<KnapsackOption>>& items, KnapsackSolution& s) {
  s.bytes = 0;
  s.error = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    s.bytes += items[i][s.picks[i]].bytes;
    s.error += items[i][s.picks[i]].error;
  }
}

}  // namespace

void fill_slack(const std::vector<std::vector<KnapsackOption>>& items, uint64_t budget,
                KnapsackSolution& s) {
  for (;;) {
    double best_gain = 0;
    size_t best_item = 0, best_option = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& now = items[i][s.picks[i]];
      for (size_t j = 0; j < items[i].size(); ++j) {
        const auto& o = items[i][j];
        if (o.bytes > now.bytes && o.bytes - now.bytes > budget - s.bytes) continue;
        if (now.error - o.error > best_gain) {
          best_gain = now.error - o.error;
          best_item = i;
          best_option = j;
        }
      }
    }
    if (best_gain <= 0) return;
    s.picks[best_item] = best_option;
    total(items, s);
  }
}

KnapsackSolution solve_min_error(const std::vector<std::vector<KnapsackOption>>& items,
                                 uint64_t budget, uint64_t max_cells) {
  KnapsackSolution s;
  s.picks.assign(items.size(), 0);
  for (const auto& options : items) {
    if (options.empty() || options.size() > 255)
      throw std::invalid_argument("knapsack: an item needs 1 to 255 options");
  }
  const uint64_t n = std::max<uint64_t>(items.size(), 1);
  uint64_t unit = 64;
  if ((budget / unit + 1) * n > max_cells) {
    unit = (budget * n / max_cells + 64) / 64 * 64;
  }
  s.unit = unit;
  const size_t capacity = static_cast<size_t>(budget / unit);

  // best[c]: least error of the items so far within c units; pick[i][c]: item i's option.
  std::vector<double> best(capacity + 1, 0), next(capacity + 1);
  std::vector<std::vector<uint8_t>> pick(items.size(), std::vector<uint8_t>(capacity + 1, 0));
  for (size_t i = 0; i < items.size(); ++i) {
    std::fill(next.begin(), next.end(), kInfinity);
    for (size_t j = 0; j < items[i].size(); ++j) {
      const uint64_t w = (items[i][j].bytes + unit - 1) / unit;
      if (w > capacity) continue;
      const double e = items[i][j].error;
      for (size_t c = w; c <= capacity; ++c) {
        const double candidate = best[c - w] + e;
        if (candidate < next[c]) {
          next[c] = candidate;
          pick[i][c] = static_cast<uint8_t>(j);
        }
      }
    }
    best.swap(next);
  }
  if (best[capacity] == kInfinity) return s;
  size_t c = capacity;
  for (size_t i = items.size(); i-- > 0;) {
    s.picks[i] = pick[i][c];
    c -= static_cast<size_t>((items[i][s.picks[i]].bytes + unit - 1) / unit);
  }
  s.feasible = true;
  total(items, s);
  fill_slack(items, budget, s);
  return s;
}

}  // namespace mlpress::plan
