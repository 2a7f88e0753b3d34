#include "core/cli/plan_commands.h"

#include <iostream>

#include "core/plan/sensitivity.h"
#include "core/plan/sensitivity_json.h"

namespace mlpress::cli {

int run_sensitivity(const std::vector<std::string>& args,
                    int (*usage_error)(const std::string& message)) {
  std::string path;
  bool json = false;
  plan::SensitivityOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--weight-threshold" && i + 1 < args.size()) {
      options.weight_threshold = std::stoll(args[++i]);
    } else if (args[i] == "--threads" && i + 1 < args.size()) {
      options.threads = static_cast<unsigned>(std::stoul(args[++i]));
    } else if (args[i].starts_with("--")) {
      return usage_error("unknown option " + args[i]);
    } else if (path.empty()) {
      path = args[i];
    } else {
      return usage_error("sensitivity takes one package");
    }
  }
  if (path.empty()) return usage_error("sensitivity needs a package");
  const auto report = plan::analyze_sensitivity(path, options);
  if (json) {
    nlohmann::json out = plan::sensitivity_json(report);
    out["package"] = path;
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << plan::format_sensitivity_text(report);
  }
  return 0;
}

}  // namespace mlpress::cli
