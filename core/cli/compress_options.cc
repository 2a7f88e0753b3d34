#include "core/cli/compress_options.h"

#include <algorithm>
#include <fstream>
#include <map>
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

namespace {

// One step as given on the command line: a config file, or a shorthand with its modifiers.
struct StepArgs {
  std::string config_file;
  std::map<std::string, std::string> flags;  // the shorthand and its modifiers
};

bool is_shorthand(const std::string& flag) {
  return flag == "--quantize" || flag == "--palettize" || flag == "--prune";
}

CompressionStep shorthand_step(const std::map<std::string, std::string>& flags) {
  CompressionStep step;
  step.config = config::OptimizationConfig::from_dict(shorthand_dict(flags));
  step.api = flags.count("--quantize")    ? config::Api::linear_quantize_weights
             : flags.count("--palettize") ? config::Api::palettize_weights
                                          : config::Api::prune_weights;
  return step;
}

}  // namespace

CompressArgs parse_compress_args(const std::vector<std::string>& args) {
  CompressArgs out;
  static const std::vector<std::string> kModifiers = {
      "--mode",        "--granularity", "--block-size", "--group-size",      "--channel-axis",
      "--cluster-dim", "--n-m",         "--dim",        "--weight-threshold"};
  std::vector<StepArgs> given;
  std::map<std::string, std::string> pending;  // modifiers before the first shorthand
  StepArgs* shorthand = nullptr;               // the latest shorthand step
  bool joint = false;
  bool nonzero_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::invalid_argument(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--json") {
      out.json = true;
    } else if (arg == "--joint") {
      joint = true;
    } else if (arg == "--nonzero-only") {
      nonzero_only = true;
    } else if (arg == "--config") {
      given.push_back({value(), {}});
      shorthand = nullptr;
    } else if (is_shorthand(arg)) {
      given.push_back({"", pending});
      pending.clear();
      given.back().flags[arg] = value();
      shorthand = &given.back();
    } else if (arg == "--per-channel-scale" ||
               std::find(kModifiers.begin(), kModifiers.end(), arg) != kModifiers.end()) {
      const std::string v = arg == "--per-channel-scale" ? "" : value();
      (shorthand ? shorthand->flags : pending)[arg] = v;
    } else if (arg.starts_with("--")) {
      throw std::invalid_argument("unknown option " + arg);
    } else {
      out.paths.push_back(arg);
    }
  }
  if (out.paths.size() != 2) throw std::invalid_argument("compress needs IN and OUT");
  if (!pending.empty()) {
    throw std::invalid_argument(pending.begin()->first +
                                " goes with --quantize, --palettize or --prune");
  }
  if (given.empty() && (joint || nonzero_only)) {
    throw std::invalid_argument(std::string(joint ? "--joint" : "--nonzero-only") +
                                " goes with --config, --quantize, --palettize or --prune");
  }
  try {
    for (size_t i = 0; i < given.size(); ++i) {
      if (!given[i].config_file.empty()) {
        // A config file is one coremltools config or a job document of several steps; a
        // job document's steps keep their own joint_compression.
        const bool first = out.options.steps.empty();
        auto steps = steps_from_job_text(read_text(given[i].config_file), given[i].config_file);
        if (steps.size() == 1 && !first) steps[0].joint_compression = true;
        for (auto& step : steps) out.options.steps.push_back(std::move(step));
      } else {
        CompressionStep step = shorthand_step(given[i].flags);
        // "prune 50% then palettize 4-bit": later steps work on what earlier ones wrote.
        step.joint_compression = !out.options.steps.empty();
        out.options.steps.push_back(std::move(step));
      }
    }
  } catch (const std::invalid_argument& e) {
    throw Error(std::string("bad value: ") + e.what());
  }
  for (auto& step : out.options.steps) {
    step.joint_compression = step.joint_compression || joint;
    step.nonzero_only = step.nonzero_only || nonzero_only;
  }
  return out;
}

}  // namespace mlpress::cli
