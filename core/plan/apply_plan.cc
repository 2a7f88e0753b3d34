#include "core/plan/apply_plan.h"

#include <filesystem>

namespace mlpress::plan {
namespace {

// Removes the temporary packages when the calls finish or fail.
class TemporaryPackages {
 public:
  explicit TemporaryPackages(const std::string& out_path) {
    const std::filesystem::path out(out_path);
    stem_ = (out.parent_path() / ("." + out.filename().string() + ".mlpress-step")).string();
  }
  ~TemporaryPackages() {
    std::error_code ignored;
    for (const auto& path : paths_) std::filesystem::remove_all(path, ignored);
  }
  std::string next() {
    paths_.push_back(stem_ + std::to_string(paths_.size() + 1) + ".mlpackage");
    return paths_.back();
  }

 private:
  std::string stem_;
  std::vector<std::string> paths_;
};

}  // namespace

RewriteReport apply_plan_configs(const std::string& in_path, const std::string& out_path,
                                 const std::vector<PlanConfig>& configs) {
  if (configs.empty()) return rewrite_package(in_path, out_path);
  TemporaryPackages temporary(out_path);
  std::vector<WeightOutcome> compressed;
  std::string source = in_path;
  for (size_t i = 0; i < configs.size(); ++i) {
    const bool last = i + 1 == configs.size();
    const std::string target = last ? out_path : temporary.next();
    RewriteOptions options;
    options.steps.push_back(configs[i].step);
    RewriteReport report = rewrite_package(source, target, options);
    if (last) {
      compressed.insert(compressed.end(), report.weights.begin(), report.weights.end());
      report.weights = std::move(compressed);
      return report;
    }
    for (auto& w : report.weights) {
      if (w.compressed) compressed.push_back(std::move(w));
    }
    source = target;
  }
  return {};
}

}  // namespace mlpress::plan
