#pragma once
// `mlpress compress --auto`: applies a plan's configs as separate compression calls, one
// after another through temporary packages beside the output (as a coremltools user would call
// prune_weights, palettize_weights and linear_quantize_weights in turn).
#include <string>
#include <vector>

#include "core/plan/plan_configs.h"
#include "core/rewrite/rewrite.h"

namespace mlpress::plan {

// The report lists the weights each call compressed and, from the last call, every weight it
// left alone. No configs: a lossless rewrite. Temporary packages are removed whatever happens.
RewriteReport apply_plan_configs(const std::string& in_path, const std::string& out_path,
                                 const std::vector<PlanConfig>& configs);

}  // namespace mlpress::plan
