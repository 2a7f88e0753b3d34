#pragma once
// The CLI commands of sensitivity analysis and automatic mixed precision: `mlpress
// sensitivity`, `mlpress plan` and `mlpress compress --auto`.
#include <string>
#include <vector>

namespace mlpress::cli {

// Each returns the exit code; usage problems print the message and return 2 through
// `usage_error`. mlpress::Error propagates to main.
int run_sensitivity(const std::vector<std::string>& args,
                    int (*usage_error)(const std::string& message));
int run_plan(const std::vector<std::string>& args, int (*usage_error)(const std::string& message));
// `compress --auto ...`: `args` are the compress arguments.
int run_auto_compress(const std::vector<std::string>& args,
                      int (*usage_error)(const std::string& message));

}  // namespace mlpress::cli
