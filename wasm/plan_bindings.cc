// Embind bindings for the page's size slider (issue #7): the sensitivity analysis of a package,
// kept in the module for the session so that each slider move re-plans without reading the
// package again, and plans for a size target from it.
//
//   sensitivity(inPath, optionsJson[, onProgress]) -> JSON text: `mlpress sensitivity --json`
//       optionsJson: {"weight_threshold": 2048} or "" (the defaults)
//   planForSize(inPath, target, optionsJson) -> JSON text: `mlpress plan --json`
//       target: bytes (a number), a size text as --target-size takes ("25%", "40MB"), or null
//       (the smallest plan the options allow); optionsJson: {"min_snr_db": 30,
//       "keep_first_last": true} or ""
//   forgetSensitivity(inPath) forgets the analysis of inPath ("" = every path)
//
// Errors reach JavaScript as an Error with the core's message, as in bindings.cc.
#include <emscripten/bind.h>
#include <emscripten/em_macros.h>
#include <emscripten/val.h>

#include <cmath>
#include <exception>
#include <initializer_list>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/io/error.h"
#include "core/plan/plan_configs.h"
#include "core/plan/planner.h"
#include "core/plan/sensitivity.h"
#include "core/plan/sensitivity_json.h"
#include "wasm/js_errors.h"

namespace {

namespace plan = mlpress::plan;

using mlpress::wasm::guarded;

// The analyses of this session, by package path in the module's FS.
std::map<std::string, plan::SensitivityReport>& analyses() {
  static std::map<std::string, plan::SensitivityReport> reports;
  return reports;
}

// "" or blank = {}; anything else must be a JSON object of the given keys only, so that a
// misspelt option is an error rather than silently ignored.
nlohmann::json parse_options(const std::string& text, std::initializer_list<const char*> keys) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  nlohmann::json options;
  try {
    options = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw mlpress::Error(std::string("options: not JSON: ") + e.what());
  }
  if (!options.is_object()) throw mlpress::Error("options: expected a JSON object");
  for (const auto& [key, value] : options.items()) {
    bool known = false;
    for (const char* k : keys) known = known || key == k;
    if (!known) throw mlpress::Error("options: unknown key \"" + key + "\"");
  }
  return options;
}

std::string sensitivity_with_progress(const std::string& in_path, const std::string& options_json,
                                      const emscripten::val& on_progress) {
  return guarded([&] {
    const nlohmann::json options = parse_options(options_json, {"weight_threshold", "threads"});
    plan::SensitivityOptions sensitivity;
    if (options.contains("weight_threshold")) {
      if (!options["weight_threshold"].is_number_integer() || options["weight_threshold"] < 0)
        throw mlpress::Error("options: weight_threshold must be a non-negative integer");
      sensitivity.weight_threshold = options["weight_threshold"].get<int64_t>();
    }
    if (!on_progress.isUndefined() && !on_progress.isNull()) {
      sensitivity.on_progress = [&on_progress](const plan::SensitivityProgress& progress) {
        return mlpress_call_progress(on_progress.as_handle(), static_cast<double>(progress.done),
                                     static_cast<double>(progress.total),
                                     progress.weight.c_str()) != 0;
      };
    }
    analyses().erase(in_path);  // a failed or cancelled analysis leaves none behind
    plan::SensitivityReport report = plan::analyze_sensitivity(in_path, sensitivity);
    nlohmann::json out = plan::sensitivity_json(report);
    out["package"] = in_path;  // as `mlpress sensitivity --json` names its argument
    analyses()[in_path] = std::move(report);
    return out.dump();
  });
}

std::string sensitivity(const std::string& in_path, const std::string& options_json) {
  return sensitivity_with_progress(in_path, options_json, emscripten::val::undefined());
}

plan::PlanRequest plan_request(const plan::SensitivityReport& report, const emscripten::val& target,
                               const nlohmann::json& options) {
  plan::PlanRequest request;
  if (target.isNumber()) {
    const double bytes = target.as<double>();
    if (!(bytes >= 0) || !std::isfinite(bytes))
      throw mlpress::Error("target: expected a number of bytes >= 0");
    request.target_bytes = static_cast<uint64_t>(std::floor(bytes));
  } else if (target.isString()) {
    request.target_bytes =
        plan::parse_target_size(target.as<std::string>(), report.weight_file_bytes);
  } else if (!target.isNull() && !target.isUndefined()) {
    throw mlpress::Error("target: expected bytes, a size text such as \"25%\", or null");
  }
  if (options.contains("min_snr_db") && !options["min_snr_db"].is_null()) {
    if (!options["min_snr_db"].is_number())
      throw mlpress::Error("options: min_snr_db must be a number");
    request.min_snr_db = options["min_snr_db"].get<double>();
  }
  if (options.contains("keep_first_last")) {
    if (!options["keep_first_last"].is_boolean())
      throw mlpress::Error("options: keep_first_last must be true or false");
    request.keep_first_last = options["keep_first_last"].get<bool>();
  }
  // No target and no floor: the smallest plan (every choice allowed), the slider's left end.
  if (!request.target_bytes && !request.min_snr_db)
    request.min_snr_db = -std::numeric_limits<double>::infinity();
  return request;
}

std::string plan_for_size(const std::string& in_path, const emscripten::val& target,
                          const std::string& options_json) {
  return guarded([&] {
    const auto found = analyses().find(in_path);
    if (found == analyses().end())
      throw mlpress::Error(in_path +
                           ": no sensitivity analysis in this session (call sensitivity first)");
    const plan::SensitivityReport& report = found->second;
    const nlohmann::json options = parse_options(options_json, {"min_snr_db", "keep_first_last"});
    const plan::Plan chosen = plan::make_plan(report, plan_request(report, target, options));
    const std::vector<plan::PlanConfig> configs = plan::plan_configs(report, chosen);
    // The shape of `mlpress plan --json` without its "package" field.
    nlohmann::json out = plan::plan_json(report, chosen);
    out["configs"] = nlohmann::json::array();
    out["config_files"] = nlohmann::json::array();
    for (size_t i = 0; i < configs.size(); ++i) {
      out["configs"].push_back(configs[i].dict);
      out["config_files"].push_back(std::to_string(i + 1) + "_" + plan::kind_name(configs[i].kind) +
                                    ".yaml");
    }
    return out.dump();
  });
}

void forget_sensitivity(const std::string& in_path) {
  if (in_path.empty()) {
    analyses().clear();
  } else {
    analyses().erase(in_path);
  }
}

}  // namespace

EMSCRIPTEN_BINDINGS(mlpress_plan) {
  emscripten::function("sensitivity", &sensitivity);                // sensitivity(in, options)
  emscripten::function("sensitivity", &sensitivity_with_progress);  // ... , onProgress)
  emscripten::function("planForSize", &plan_for_size);
  emscripten::function("forgetSensitivity", &forget_sensitivity);
}
