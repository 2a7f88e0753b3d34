#include "core/plan/apply_plan.h"

namespace mlpress::plan {

RewriteReport apply_plan_configs(const std::string& in_path, const std::string& out_path,
                                 const std::vector<PlanConfig>& configs) {
  RewriteOptions options;
  for (const auto& config : configs) options.steps.push_back(config.step);
  return rewrite_package(in_path, out_path, options);
}

}  // namespace mlpress::plan
