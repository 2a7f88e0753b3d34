#include "core/cli/compress_options.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "core/io/error.h"
#include "core/rewrite/step_from_text.h"

namespace mlpress::cli {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read the config file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json integer_or_list(const std::string& text) {
  if (text.find(',') == std::string::npos) return std::stoll(text);
  nlohmann::json list = nlohmann::json::array();
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) list.push_back(std::stoll(item));
  return list;
}

// Builds the coremltools dict for the shorthand flags, so that they go through the same
// validation as a config file (a flag that does not fit the call is refused by name).
nlohmann::json shorthand_dict(const std::map<std::string, std::string>& flags) {
  nlohmann::json global = nlohmann::json::object();
  std::string config_type;
  if (auto it = flags.find("--quantize"); it != flags.end()) {
    config_type = "OpLinearQuantizerConfig";
    global["dtype"] = it->second;
  } else if (auto pal = flags.find("--palettize"); pal != flags.end()) {
    config_type = "OpPalettizerConfig";
    if (pal->second == "unique") {
      global["mode"] = "unique";
    } else {
      global["nbits"] = std::stoll(pal->second);
    }
  } else {
    config_type = "OpMagnitudePrunerConfig";
    global["target_sparsity"] = std::stod(flags.at("--prune"));
  }
  const std::map<std::string, std::string> fields = {{"--mode", "mode"},
                                                     {"--granularity", "granularity"},
                                                     {"--group-size", "group_size"},
                                                     {"--channel-axis", "channel_axis"},
                                                     {"--cluster-dim", "cluster_dim"}};
  for (const auto& [flag, field] : fields) {
    if (auto it = flags.find(flag); it != flags.end()) {
      global[field] = (field == "mode" || field == "granularity")
                          ? nlohmann::json(it->second)
                          : nlohmann::json(std::stoll(it->second));
    }
  }
  if (auto it = flags.find("--block-size"); it != flags.end())
    global["block_size"] = integer_or_list(it->second);
  if (auto it = flags.find("--n-m"); it != flags.end())
    global["n_m_ratio"] = integer_or_list(it->second);
  if (auto it = flags.find("--dim"); it != flags.end()) global["dim"] = std::stoll(it->second);
  if (auto it = flags.find("--weight-threshold"); it != flags.end()) {
    global["weight_threshold"] = std::stoll(it->second);
  }
  if (flags.count("--per-channel-scale")) global["enable_per_channel_scale"] = true;
  if (config_type == "OpMagnitudePrunerConfig" && global.contains("n_m_ratio")) {
    global.erase("target_sparsity");  // --prune nm --n-m 2,4
  }
  return {{"config_type", config_type}, {"global_config", global}};
}

}  // namespace

CompressArgs parse_compress_args(const std::vector<std::string>& args) {
  CompressArgs out;
  std::map<std::string, std::string> flags;
  static const std::vector<std::string> kValued = {
      "--config",      "--quantize",   "--palettize",       "--prune",        "--mode",
      "--granularity", "--block-size", "--group-size",      "--channel-axis", "--cluster-dim",
      "--n-m",         "--dim",        "--weight-threshold"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--json") {
      out.json = true;
    } else if (arg == "--per-channel-scale") {
      flags[arg] = "";
    } else if (std::find(kValued.begin(), kValued.end(), arg) != kValued.end()) {
      if (i + 1 >= args.size()) throw std::invalid_argument(arg + " needs a value");
      flags[arg] = args[++i];
    } else if (arg.starts_with("--")) {
      throw std::invalid_argument("unknown option " + arg);
    } else {
      out.paths.push_back(arg);
    }
  }
  if (out.paths.size() != 2) throw std::invalid_argument("compress needs IN and OUT");

  const int calls =
      int(flags.count("--quantize") + flags.count("--palettize") + flags.count("--prune"));
  if (calls > 1) {
    throw std::invalid_argument("give one of --quantize, --palettize, --prune per run");
  }
  if (calls == 1 && flags.count("--config")) {
    throw std::invalid_argument("give either --config or a shorthand, not both");
  }
  for (const auto& [flag, value] : flags) {
    const bool is_call =
        flag == "--config" || flag == "--quantize" || flag == "--palettize" || flag == "--prune";
    if (!is_call && calls == 0) {
      throw std::invalid_argument(flag + " goes with --quantize, --palettize or --prune");
    }
  }
  try {
    if (calls == 1) {
      CompressionStep step;
      step.config = config::OptimizationConfig::from_dict(shorthand_dict(flags));
      step.api = flags.count("--quantize")    ? config::Api::linear_quantize_weights
                 : flags.count("--palettize") ? config::Api::palettize_weights
                                              : config::Api::prune_weights;
      out.options.steps.push_back(std::move(step));
    } else if (auto it = flags.find("--config"); it != flags.end()) {
      out.options.steps.push_back(step_from_config_text(read_text(it->second), it->second));
    }
  } catch (const std::invalid_argument& e) {
    throw Error(std::string("bad value: ") + e.what());
  }
  return out;
}

}  // namespace mlpress::cli
