#include "core/rewrite/step_from_text.h"

#include <optional>

#include "core/config/yaml.h"
#include "core/io/error.h"

namespace mlpress {
namespace {

using config::Api;
using config::MaybeOpConfig;
using config::OpConfig;
using config::OptimizationConfig;

Api api_of(const OpConfig& entry) {
  if (std::holds_alternative<config::OpLinearQuantizerConfig>(entry))
    return Api::linear_quantize_weights;
  if (std::holds_alternative<config::OpPalettizerConfig>(entry)) return Api::palettize_weights;
  return Api::prune_weights;
}

Api api_for(const OptimizationConfig& cfg, const std::string& origin) {
  std::optional<Api> api;
  auto visit = [&](const MaybeOpConfig& entry) {
    if (!entry) return;
    const Api this_api = api_of(*entry);
    if (api && *api != this_api) {
      throw Error(origin +
                  ": mixes quantizer, palettizer and pruner configs; coremltools applies "
                  "them in separate calls, so give one config per run");
    }
    api = this_api;
  };
  visit(cfg.global_config);
  for (const auto& [key, entry] : cfg.op_type_configs) visit(entry);
  for (const auto& [key, entry] : cfg.op_name_configs) visit(entry);
  return api.value_or(Api::linear_quantize_weights);
}

bool looks_like_json(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

bool flag_of(const nlohmann::json& entry, const std::string& key, const std::string& where) {
  if (!entry.contains(key)) return false;
  if (!entry[key].is_boolean()) throw Error(where + ": \"" + key + "\" must be true or false");
  return entry[key].get<bool>();
}

}  // namespace

CompressionStep step_from_config_text(std::string_view text, const std::string& origin) {
  const bool json = looks_like_json(text);
  CompressionStep step;
  try {
    step.config =
        json ? OptimizationConfig::from_json_text(text) : OptimizationConfig::from_yaml(text);
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
  step.api = api_for(step.config, origin);
  return step;
}

std::vector<CompressionStep> steps_from_job_text(std::string_view text, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = looks_like_json(text) ? nlohmann::json::parse(text) : config::parse_yaml(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(origin + ": not valid JSON: " + e.what());
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
  if (!doc.is_object() || !doc.contains("steps")) return {step_from_config_text(text, origin)};
  for (const auto& [key, value] : doc.items()) {
    if (key != "steps") {
      throw Error(origin + ": a job document holds only \"steps\" (found \"" + key + "\")");
    }
  }
  const nlohmann::json& list = doc["steps"];
  if (!list.is_array() || list.empty()) {
    throw Error(origin + ": \"steps\" must be a non-empty list of {\"config\": ...} entries");
  }
  std::vector<CompressionStep> steps;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = origin + ", step " + std::to_string(i + 1);
    const nlohmann::json& entry = list[i];
    if (!entry.is_object() || !entry.contains("config") || !entry["config"].is_object()) {
      throw Error(where + ": expected {\"config\": {...coremltools config...}}");
    }
    for (const auto& [key, value] : entry.items()) {
      if (key != "config" && key != "joint_compression" && key != "nonzero_only") {
        throw Error(where + ": unknown field \"" + key +
                    "\" (expected config, joint_compression, nonzero_only)");
      }
    }
    CompressionStep step;
    try {
      step.config = OptimizationConfig::from_dict(entry["config"]);
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
    step.api = api_for(step.config, where);
    step.joint_compression = flag_of(entry, "joint_compression", where);
    step.nonzero_only = flag_of(entry, "nonzero_only", where);
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace mlpress
