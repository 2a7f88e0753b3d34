#pragma once
// Compression configs, mirroring coremltools.optimize.coreml's classes: the same names, the
// same defaults and the same validation (shared/spec/COMPRESSION.md §1). A config is built
// from a dict (JSON) or a YAML file through one from_dict path, as
// OptimizationConfig.from_dict / from_yaml do; every invalid config fails there with a
// message that names the entry and the field.
//
// Values are stored normalised the way coremltools stores them: mode upper-case, dtype as its
// name, granularity as an enum, n:m ratio as a pair, magnitude pruner `dim` defaulted.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mlpress::config {

// coremltools' CompressionGranularity, with its numeric values.
enum class Granularity { per_tensor = 1, per_grouped_channel = 2, per_channel = 3, per_block = 4 };
std::string granularity_name(Granularity g);  // "per_tensor", ...

struct OpLinearQuantizerConfig {
  std::string mode = "LINEAR_SYMMETRIC";               // LINEAR_SYMMETRIC or LINEAR
  std::string dtype = "int8";                          // int8, uint8, int4 or uint4
  Granularity granularity = Granularity::per_channel;  // per_tensor, per_channel, per_block
  // An int (the block along the input axis, 1 along the output axis; 0 = whole axis) or one
  // value per weight dimension (its length is checked against the rank when resolving).
  std::variant<int64_t, std::vector<int64_t>> block_size = int64_t{32};
  std::optional<int64_t> weight_threshold = 2048;  // nullopt = None

  int nbits() const;       // 4 or 8
  bool is_signed() const;  // int4 / int8
  bool operator==(const OpLinearQuantizerConfig&) const = default;
};

struct OpPalettizerConfig {
  std::string mode = "KMEANS";   // KMEANS, UNIFORM, UNIQUE (CUSTOM needs a lut_function: refused)
  std::optional<int64_t> nbits;  // required for KMEANS/UNIFORM, forbidden for UNIQUE
  Granularity granularity = Granularity::per_tensor;  // per_tensor or per_grouped_channel
  int64_t group_size = 32;
  std::optional<int64_t> channel_axis;
  int64_t cluster_dim = 1;
  bool enable_per_channel_scale = false;
  int64_t num_kmeans_workers = 1;
  std::optional<int64_t> weight_threshold = 2048;
  bool operator==(const OpPalettizerConfig&) const = default;
};

struct OpThresholdPrunerConfig {
  double threshold = 1e-12;
  double minimum_sparsity_percentile = 0.5;
  std::optional<int64_t> weight_threshold = 2048;
  bool operator==(const OpThresholdPrunerConfig&) const = default;
};

struct OpMagnitudePrunerConfig {
  std::optional<double> target_sparsity;
  std::optional<int64_t> block_size;
  std::optional<std::pair<int64_t, int64_t>> n_m_ratio;  // (n zeroed, out of m)
  std::optional<int64_t> dim;  // defaulted to 0 (block_size) or 1 (n_m_ratio) on construction
  std::optional<int64_t> weight_threshold = 2048;

  bool is_structural() const { return block_size.has_value() || n_m_ratio.has_value(); }
  bool operator==(const OpMagnitudePrunerConfig&) const = default;
};

using OpConfig = std::variant<OpLinearQuantizerConfig, OpPalettizerConfig, OpThresholdPrunerConfig,
                              OpMagnitudePrunerConfig>;
// One entry of an OptimizationConfig: nullopt is coremltools' None, "compress nothing here".
using MaybeOpConfig = std::optional<OpConfig>;

std::string config_type_name(const OpConfig& config);  // "OpLinearQuantizerConfig", ...
const std::optional<int64_t>& weight_threshold_of(const OpConfig& config);

// Validates a config the way the coremltools constructor does (and mlpress's own stricter
// rules, see from_dict), then applies its post-init normalisation (mode upper-case,
// magnitude pruner dim default). Throws mlpress::Error naming the field.
void validate(OpConfig& config);

struct OptimizationConfig {
  MaybeOpConfig global_config;
  std::map<std::string, MaybeOpConfig> op_type_configs;  // a present key with nullopt = None
  std::map<std::string, MaybeOpConfig> op_name_configs;

  void set_global(MaybeOpConfig config);
  // Refuses a structural magnitude pruner for op types other than conv and linear.
  void set_op_type(const std::string& op_type, MaybeOpConfig config);
  void set_op_name(const std::string& op_name, MaybeOpConfig config);

  bool operator==(const OptimizationConfig&) const = default;

  // coremltools' OptimizationConfig.from_dict. Throws mlpress::Error.
  static OptimizationConfig from_dict(const nlohmann::json& dict);
  // A JSON document, then from_dict.
  static OptimizationConfig from_json_text(std::string_view text);
  // A YAML document (see yaml.h), then from_dict: OptimizationConfig.from_yaml.
  static OptimizationConfig from_yaml(std::string_view text);
};

// Normalised JSON forms ({"config_type": ..., every field}), as used by the parity tests and
// for reporting. Non-finite floats become the strings "inf", "-inf", "nan".
nlohmann::json to_json(const OpConfig& config);
nlohmann::json to_json(const MaybeOpConfig& config);
nlohmann::json to_json(const OptimizationConfig& config);
// coremltools-style repr, e.g. OpPalettizerConfig(mode='KMEANS', nbits=4, ...), for messages.
std::string to_repr(const MaybeOpConfig& config);

// Which compression call a config is for; each accepts only its own config types (coremltools
// raises "<pass> only accept <types> type config. Got <type>.").
enum class Api { linear_quantize_weights, palettize_weights, prune_weights };
void check_config_for(const OptimizationConfig& config, Api api);

}  // namespace mlpress::config
