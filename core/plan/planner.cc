#include "core/plan/planner.h"

#include <cmath>
#include <limits>
#include <map>

#include "core/io/error.h"
#include "core/plan/knapsack.h"

namespace mlpress::plan {
namespace {

// The choices an item may take, with their summed bytes and errors.
struct ItemOptions {
  std::vector<size_t> choices;
  std::vector<KnapsackOption> costs;
};

bool high_precision(const Choice& c) { return c.kind == ChoiceKind::kDense || c.bits >= 8; }

ItemOptions options_for(const SensitivityReport& report, const PlanItem& item,
                        const PlanRequest& request) {
  ItemOptions out;
  for (size_t c = 0; c < report.choices.size(); ++c) {
    if (item.kept_high_precision && !high_precision(report.choices[c])) continue;
    KnapsackOption cost;
    bool allowed = true;
    for (size_t w : item.weights) {
      const ChoiceResult& r = report.weights[w].choices[c];
      if (!r.available || !std::isfinite(r.error.sq_error)) allowed = false;
      if (allowed && request.min_snr_db && c != 0 && !(r.error.snr_db >= *request.min_snr_db))
        allowed = false;
      if (!allowed) break;
      cost.bytes += r.bytes.file;
      cost.error += r.error.sq_error;
    }
    if (!allowed) continue;
    out.choices.push_back(c);
    out.costs.push_back(cost);
  }
  return out;
}

std::vector<PlanItem> group_items(const SensitivityReport& report, bool keep_first_last) {
  std::vector<PlanItem> items;
  std::map<std::string, size_t> by_name;
  for (size_t w = 0; w < report.weights.size(); ++w) {
    const auto& name = report.weights[w].op_name;
    auto [it, fresh] = by_name.try_emplace(name, items.size());
    if (fresh) {
      items.emplace_back();
      items.back().op_name = name;
    }
    items[it->second].weights.push_back(w);
  }
  if (keep_first_last && !items.empty()) {
    items.front().kept_high_precision = true;
    items.back().kept_high_precision = true;
  }
  return items;
}

std::string describe_bytes(uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

}  // namespace

Plan make_plan(const SensitivityReport& report, const PlanRequest& request) {
  if (!request.target_bytes && !request.min_snr_db)
    throw Error("a plan needs a target size, a minimum SNR, or both");
  Plan plan;
  plan.items = group_items(report, request.keep_first_last);
  plan.target_bytes = request.target_bytes;
  std::vector<ItemOptions> options;
  std::vector<std::vector<KnapsackOption>> costs;
  for (const auto& item : plan.items) {
    options.push_back(options_for(report, item, request));
    costs.push_back(options.back().costs);  // dense is always there: never empty
  }

  std::vector<size_t> picks(plan.items.size(), 0);
  if (!request.target_bytes) {
    // Smallest per item; ties to the smaller error.
    for (size_t i = 0; i < costs.size(); ++i) {
      for (size_t j = 1; j < costs[i].size(); ++j) {
        const auto& a = costs[i][j];
        const auto& b = costs[i][picks[i]];
        if (a.bytes < b.bytes || (a.bytes == b.bytes && a.error < b.error)) picks[i] = j;
      }
    }
    plan.method = "smallest choice per weight above the SNR floor";
  } else {
    const uint64_t target = *request.target_bytes;
    uint64_t smallest = report.fixed_file_bytes;
    for (const auto& c : costs) {
      uint64_t least = std::numeric_limits<uint64_t>::max();
      for (const auto& o : c) least = std::min(least, o.bytes);
      smallest += least;
    }
    if (target < smallest) {
      throw Error("target size " + describe_bytes(target) +
                  " is below the smallest plan the choices allow (" + describe_bytes(smallest) +
                  " of weight files, " + describe_bytes(report.fixed_file_bytes) +
                  " of them not compressible)");
    }
    const uint64_t budget = target - report.fixed_file_bytes;
    const KnapsackSolution s = solve_min_error(costs, budget);
    picks = s.picks;
    if (s.unit != 64) {
      // Coarse units are near exact; never do worse than one choice for every weight.
      double best = s.error;
      for (size_t c = 1; c < report.choices.size(); ++c) {
        std::vector<size_t> uniform(costs.size(), 0);
        uint64_t bytes = 0;
        double error = 0;
        for (size_t i = 0; i < costs.size(); ++i) {
          for (size_t j = 0; j < options[i].choices.size(); ++j)
            if (options[i].choices[j] == c) uniform[i] = j;
          bytes += costs[i][uniform[i]].bytes;
          error += costs[i][uniform[i]].error;
        }
        if (bytes <= budget && error < best) {
          best = error;
          picks = uniform;
        }
      }
    }
    plan.method = s.unit == 64 ? "exact multiple-choice knapsack (DP on 64-byte units)"
                               : "multiple-choice knapsack, DP on " + std::to_string(s.unit) +
                                     "-byte units, then greedy fill";
  }

  plan.predicted_file_bytes = report.fixed_file_bytes;
  for (size_t i = 0; i < plan.items.size(); ++i) {
    PlanItem& item = plan.items[i];
    item.choice = options[i].choices[picks[i]];
    item.file_bytes = costs[i][picks[i]].bytes;
    item.sq_error = costs[i][picks[i]].error;
    plan.predicted_file_bytes += item.file_bytes;
    plan.total_sq_error += item.sq_error;
  }
  return plan;
}

uint64_t parse_target_size(const std::string& text, uint64_t weight_file_bytes) {
  size_t end = 0;
  double number = 0;
  try {
    number = std::stod(text, &end);
  } catch (const std::exception&) {
    throw Error("bad target size \"" + text + "\" (e.g. 25%, 40MB, 38MiB, 123456)");
  }
  const std::string unit = text.substr(end);
  static const std::map<std::string, double> kUnits = {
      {"", 1},     {"B", 1},        {"KB", 1e3},        {"MB", 1e6},
      {"GB", 1e9}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
  double bytes = 0;
  if (unit == "%") {
    bytes = number / 100 * static_cast<double>(weight_file_bytes);
  } else if (auto it = kUnits.find(unit); it != kUnits.end()) {
    bytes = number * it->second;
  } else {
    throw Error("bad target size \"" + text + "\": unknown unit \"" + unit + "\"");
  }
  if (!(bytes >= 0)) throw Error("bad target size \"" + text + "\"");
  return static_cast<uint64_t>(std::floor(bytes));
}

}  // namespace mlpress::plan
