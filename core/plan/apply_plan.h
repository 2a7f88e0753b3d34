#pragma once
// `mlpress compress --auto`: applies a plan's configs as separate compression calls in one
// rewrite (each step sees what the previous one wrote, as when a coremltools user calls
// prune_weights, palettize_weights and linear_quantize_weights in turn).
#include <string>
#include <vector>

#include "core/plan/plan_configs.h"
#include "core/rewrite/rewrite.h"

namespace mlpress::plan {

// No configs: a lossless rewrite.
RewriteReport apply_plan_configs(const std::string& in_path, const std::string& out_path,
                                 const std::vector<PlanConfig>& configs);

}  // namespace mlpress::plan
