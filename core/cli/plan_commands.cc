#include "core/cli/plan_commands.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "core/io/error.h"
#include "core/plan/apply_plan.h"
#include "core/plan/plan_configs.h"
#include "core/plan/planner.h"
#include "core/plan/sensitivity.h"
#include "core/plan/sensitivity_json.h"
#include "core/rewrite/report_json.h"

namespace mlpress::cli {
namespace {

// Flags `plan` and `compress --auto` share.
struct PlanArgs {
  std::vector<std::string> paths;
  std::optional<std::string> target_size;
  std::optional<double> min_snr_db;
  bool keep_first_last = true;
  bool json = false;
  std::string out_dir;  // plan -o
  plan::SensitivityOptions sensitivity;
};

// Throws std::invalid_argument for usage errors.
PlanArgs parse_plan_args(const std::vector<std::string>& args, bool allow_out_dir) {
  PlanArgs out;
  auto value = [&](size_t& i) -> const std::string& {
    if (i + 1 >= args.size()) throw std::invalid_argument(args[i] + " needs a value");
    return args[++i];
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--auto") {
      continue;
    } else if (arg == "--json") {
      out.json = true;
    } else if (arg == "--target-size") {
      out.target_size = value(i);
    } else if (arg == "--min-snr") {
      out.min_snr_db = std::stod(value(i));
    } else if (arg == "--keep-first-last") {
      out.keep_first_last = true;
    } else if (arg == "--no-keep-first-last") {
      out.keep_first_last = false;
    } else if (arg == "--weight-threshold") {
      out.sensitivity.weight_threshold = std::stoll(value(i));
    } else if (arg == "--threads") {
      out.sensitivity.threads = static_cast<unsigned>(std::stoul(value(i)));
    } else if (allow_out_dir && (arg == "-o" || arg == "--output")) {
      out.out_dir = value(i);
    } else if (arg.starts_with("-")) {
      throw std::invalid_argument("unknown option " + arg);
    } else {
      out.paths.push_back(arg);
    }
  }
  if (!out.target_size && !out.min_snr_db)
    throw std::invalid_argument("give --target-size, --min-snr or both");
  return out;
}

struct Planned {
  plan::SensitivityReport report;
  plan::Plan plan;
  std::vector<plan::PlanConfig> configs;
};

Planned plan_package(const std::string& path, const PlanArgs& args) {
  Planned p;
  p.report = plan::analyze_sensitivity(path, args.sensitivity);
  plan::PlanRequest request;
  if (args.target_size)
    request.target_bytes = plan::parse_target_size(*args.target_size, p.report.weight_file_bytes);
  request.min_snr_db = args.min_snr_db;
  request.keep_first_last = args.keep_first_last;
  p.plan = plan::make_plan(p.report, request);
  p.configs = plan::plan_configs(p.report, p.plan);
  return p;
}

std::string config_file_name(size_t index, plan::ChoiceKind kind) {
  return std::to_string(index + 1) + "_" + plan::kind_name(kind) + ".yaml";
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error(path.string() + ": cannot write");
}

}  // namespace

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

int run_plan(const std::vector<std::string>& args, int (*usage_error)(const std::string& message)) {
  PlanArgs parsed;
  try {
    parsed = parse_plan_args(args, true);
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  if (parsed.paths.size() != 1) return usage_error("plan takes one package");
  const Planned p = plan_package(parsed.paths[0], parsed);
  nlohmann::json configs = nlohmann::json::array();
  std::vector<std::string> files;
  for (size_t i = 0; i < p.configs.size(); ++i) {
    configs.push_back(p.configs[i].dict);
    files.push_back(config_file_name(i, p.configs[i].kind));
  }
  if (!parsed.out_dir.empty()) {
    const std::filesystem::path dir(parsed.out_dir);
    std::filesystem::create_directories(dir);
    for (size_t i = 0; i < p.configs.size(); ++i)
      write_text(dir / files[i], plan::config_yaml(p.configs[i].dict));
    write_text(dir / "plan.json", plan::plan_json(p.report, p.plan).dump(2) + "\n");
  }
  if (parsed.json) {
    nlohmann::json out = plan::plan_json(p.report, p.plan);
    out["package"] = parsed.paths[0];
    out["configs"] = configs;
    out["config_files"] = files;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << plan::format_plan_text(p.report, p.plan);
  if (parsed.out_dir.empty()) {
    for (const auto& config : configs) std::cout << "\n" << plan::config_yaml(config);
  } else {
    for (const auto& file : files) std::cout << "wrote " << parsed.out_dir << "/" << file << "\n";
    std::cout << "wrote " << parsed.out_dir << "/plan.json\n";
  }
  return 0;
}

int run_auto_compress(const std::vector<std::string>& args,
                      int (*usage_error)(const std::string& message)) {
  PlanArgs parsed;
  try {
    parsed = parse_plan_args(args, false);
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  if (parsed.paths.size() != 2) return usage_error("compress --auto needs IN and OUT");
  const Planned p = plan_package(parsed.paths[0], parsed);
  const RewriteReport report =
      plan::apply_plan_configs(parsed.paths[0], parsed.paths[1], p.configs);
  if (parsed.json) {
    nlohmann::json out = report_json(report);
    out["output"] = parsed.paths[1];
    out["plan"] = plan::plan_json(p.report, p.plan);
    out["configs"] = nlohmann::json::array();
    for (const auto& c : p.configs) out["configs"].push_back(c.dict);
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << plan::format_plan_text(p.report, p.plan);
    std::cout << "mlpress: wrote " << parsed.paths[1] << " (" << report.output_bytes
              << " bytes; weight files " << report.blob_bytes_written << " bytes in "
              << p.configs.size() << " compression call(s))\n";
  }
  if (p.plan.target_bytes && report.blob_bytes_written > *p.plan.target_bytes) {
    std::cerr << "mlpress: warning: the weight files (" << report.blob_bytes_written
              << " bytes) exceed the target (" << *p.plan.target_bytes << " bytes)\n";
  }
  return 0;
}

}  // namespace mlpress::cli
