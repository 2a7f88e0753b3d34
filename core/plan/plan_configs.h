#pragma once
// A plan as ordinary coremltools configs: one OptimizationConfig per compression kind the plan
// uses, each naming its weights in op_name_configs (no global config, so every other weight is
// left alone), in the order prune, palettize, quantize. Applied as separate calls, each later
// call skips the weights earlier calls compressed: they are no longer plain consts.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/plan/planner.h"
#include "core/rewrite/rewrite.h"

namespace mlpress::plan {

struct PlanConfig {
  ChoiceKind kind = ChoiceKind::kQuantize;
  nlohmann::json dict;   // coremltools' OptimizationConfig.from_dict form
  CompressionStep step;  // the same, parsed by mlpress's from_dict
};

std::vector<PlanConfig> plan_configs(const SensitivityReport& report, const Plan& plan);

// The dict as YAML that OptimizationConfig.from_yaml and `mlpress compress --config` read.
std::string config_yaml(const nlohmann::json& dict);

// The plan itself: per weight its choice, bytes and error; totals (docs/sensitivity.md).
nlohmann::json plan_json(const SensitivityReport& report, const Plan& plan);
std::string format_plan_text(const SensitivityReport& report, const Plan& plan);

}  // namespace mlpress::plan
