#include "core/rewrite/step_from_text.h"

#include <optional>

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

}  // namespace

CompressionStep step_from_config_text(std::string_view text, const std::string& origin) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && text[first] == '{';
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

}  // namespace mlpress
