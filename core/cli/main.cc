// The mlpress command line: a thin layer over the core library.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "core/inspect/inspect.h"
#include "core/io/error.h"
#include "core/rewrite/rewrite.h"

namespace {

constexpr const char* kUsage = R"(usage:
  mlpress inspect PACKAGE [--json] [--all] [--weight-threshold N]
      Describe a .mlpackage (folder or .zip): model summary and every weight. The table
      leaves out constants of fewer than 10 elements unless --all is given; --json has all.
  mlpress compress IN OUT
      Write IN to OUT (OUT ending in .zip: a zipped package; .mlpackage: a folder) with a
      fresh weight.bin. IN is never modified.
  mlpress --help | --version
)";

int usage_error(const std::string& message) {
  std::cerr << "mlpress: error: " << message << "\n\n" << kUsage;
  return 2;
}

int run_inspect(const std::vector<std::string>& args) {
  std::string path;
  bool as_json = false;
  bool all = false;
  mlpress::InspectOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      as_json = true;
    } else if (args[i] == "--all") {
      all = true;
    } else if (args[i] == "--weight-threshold" && i + 1 < args.size()) {
      options.weight_threshold = std::stoull(args[++i]);
    } else if (args[i].starts_with("--")) {
      return usage_error("unknown option " + args[i]);
    } else if (path.empty()) {
      path = args[i];
    } else {
      return usage_error("inspect takes one package");
    }
  }
  if (path.empty()) return usage_error("inspect needs a package");
  const auto report = mlpress::inspect_package(path, options);
  if (as_json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << mlpress::format_inspect_text(report, all ? 0 : 10);
  }
  return 0;
}

int run_compress(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const auto& arg : args) {
    if (arg.starts_with("--")) return usage_error("unknown option " + arg);
    paths.push_back(arg);
  }
  if (paths.size() != 2) return usage_error("compress needs IN and OUT");
  const auto report = mlpress::rewrite_package(paths[0], paths[1]);
  std::cerr << "mlpress: wrote " << paths[1] << " (" << report.output_bytes << " bytes, "
            << report.blobs_written << " blobs)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("no command given");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    std::cout << "mlpress 0.1.0\n";
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "inspect") return run_inspect(args);
    if (command == "compress") return run_compress(args);
    return usage_error("unknown command " + command);
  } catch (const std::exception& e) {
    std::cerr << "mlpress: error: " << e.what() << "\n";
    return 1;
  }
}
