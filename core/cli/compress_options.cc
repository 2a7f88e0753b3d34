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

// Builds the coremltools dict for the shorthand flags, so they go through the same validation.
nlohmann::json shorthand_dict(const std::map<std::string, std::string>& flags) {
  nlohmann::json global = {{"dtype", flags.at("--quantize")}};
  if (auto it = flags.find("--mode"); it != flags.end()) global["mode"] = it->second;
  if (auto it = flags.find("--granularity"); it != flags.end()) global["granularity"] = it->second;
  if (auto it = flags.find("--block-size"); it != flags.end()) {
    if (it->second.find(',') != std::string::npos) {
      nlohmann::json sizes = nlohmann::json::array();
      std::stringstream list(it->second);
      for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::stoll(item));
      global["block_size"] = sizes;
    } else {
      global["block_size"] = std::stoll(it->second);
    }
  }
  if (auto it = flags.find("--weight-threshold"); it != flags.end()) {
    global["weight_threshold"] = std::stoll(it->second);
  }
  return {{"config_type", "OpLinearQuantizerConfig"}, {"global_config", global}};
}

}  // namespace

CompressArgs parse_compress_args(const std::vector<std::string>& args) {
  CompressArgs out;
  std::map<std::string, std::string> flags;
  static const std::vector<std::string> kValued = {
      "--config", "--quantize", "--mode", "--granularity", "--block-size", "--weight-threshold"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--json") {
      out.json = true;
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

  const bool shorthand = flags.count("--quantize") > 0;
  for (const char* flag : {"--mode", "--granularity", "--block-size", "--weight-threshold"}) {
    if (flags.count(flag) && !shorthand) {
      throw std::invalid_argument(std::string(flag) + " goes with --quantize");
    }
  }
  if (shorthand && flags.count("--config")) {
    throw std::invalid_argument("give either --config or --quantize, not both");
  }
  try {
    if (shorthand) {
      CompressionStep step;
      step.config = config::OptimizationConfig::from_dict(shorthand_dict(flags));
      step.api = config::Api::linear_quantize_weights;
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
