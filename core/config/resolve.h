#pragma once
// Which weights get compressed, with which config (shared/spec/COMPRESSION.md §2): the
// candidate test (§2.1), dtype rules (§2.2), config resolution op_name > op_type > global with
// None = skip (§1.2, §2.3), and the output/input channel axes a weight's consumers imply
// (§2.4). Hard errors (conflicting consumers, "const" in op_type_configs, weight_threshold None)
// throw mlpress::Error; everything else that leaves a weight dense is a Skipped with a reason.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "MIL.pb.h"
#include "core/config/config.h"
#include "core/mil/weight_index.h"

namespace mlpress::config {

// Facts about a consumer op that mil::WeightInfo does not carry.
struct ConsumerFacts {
  bool transpose_x = false;       // matmul
  bool transpose_y = false;       // matmul
  std::optional<int64_t> groups;  // conv / conv_transpose, when given
};
using ConsumerLookup = std::function<ConsumerFacts(const mil::WeightInfo&, const mil::Consumer&)>;

// Reads ConsumerFacts from a program: parameters given inline or bound to a const op.
class ProgramFacts {
 public:
  explicit ProgramFacts(const CoreML::Specification::MILSpec::Program& program);
  ConsumerFacts facts(const mil::WeightInfo& weight, const mil::Consumer& consumer) const;
  ConsumerLookup lookup() const;  // refers to *this

 private:
  void index_block(const std::string& function, const CoreML::Specification::MILSpec::Block& b);
  std::optional<bool> bool_param(const std::string& function,
                                 const CoreML::Specification::MILSpec::Operation& op,
                                 const std::string& param) const;
  std::optional<int64_t> int_param(const std::string& function,
                                   const CoreML::Specification::MILSpec::Operation& op,
                                   const std::string& param) const;
  const CoreML::Specification::MILSpec::Value* value_of(
      const std::string& function, const CoreML::Specification::MILSpec::Operation& op,
      const std::string& param) const;
  // "function\n op name" -> op; "function\n var name" -> const op producing it.
  std::unordered_map<std::string, const CoreML::Specification::MILSpec::Operation*> ops_;
  std::unordered_map<std::string, const CoreML::Specification::MILSpec::Operation*> consts_;
};

// Output (O) and input (I) channel axes, each nullopt when consumers disagree (undecidable).
struct ChannelAxes {
  std::optional<int> output;
  std::optional<int> input;
  // `groups` of each conv / conv_transpose consumer (1 when not given): coremltools checks
  // cluster_dim against each one's effective weight shape, dim 0 divided by groups (§4.6).
  std::vector<int64_t> conv_groups = {};
  bool decided() const { return output.has_value() && input.has_value(); }
  bool operator==(const ChannelAxes&) const = default;
};
// §2.4. `lookup` may be empty: then matmul transpose flags are taken as false.
ChannelAxes channel_axes(const mil::WeightInfo& weight, const ConsumerLookup& lookup = {});

enum class SkipReason {
  already_compressed,     // a constexpr output, or a const feeding constexpr ops
  dtype,                  // not fp16/fp32/int8/uint8
  too_few_elements,       // fewer than 10 elements (stored inline, never a candidate)
  no_consumers,           // feeds no op (only block outputs)
  config_none,            // resolved to None
  rank,                   // rank <= 1
  below_threshold,        // element count <= weight_threshold
  structural_pruning_op,  // block / n:m pruning of something other than conv/linear weight
  undecidable_axes,       // consumers disagree on O or I (quantize / palettize)
};
std::string_view skip_reason_name(SkipReason reason);  // "below_threshold", ...

// Where a resolved config came from.
struct ConfigSource {
  enum class Level { op_name_const, op_name_consumer, op_type, global } level = Level::global;
  std::string key;               // the op name or op type matched; "" for global
  std::string describe() const;  // "op_name_configs[\"conv_1\"]", "op_type_configs[\"conv\"]",...
  bool operator==(const ConfigSource&) const = default;
};

struct Resolved {
  OpConfig config;
  ConfigSource source;
  ChannelAxes axes;  // decided unless an explicit per-block block_size made them irrelevant
};
struct Skipped {
  SkipReason reason;
  std::string text;  // e.g. "below weight_threshold (2048 elements <= 2048)"
};
using Resolution = std::variant<Resolved, Skipped>;

// The config lookup alone (§1.2 steps 1-4): nullopt config means None. Throws on a conflict
// between consumers and on a "const" op_type entry. Consumers of type constexpr_* are looked
// up like any op. `names_first` are op names tried before the weight's own (the payload and
// inner ops of a constexpr chain a joint step recompresses: rewrite/joint_config_names.h).
struct Lookup {
  MaybeOpConfig config;
  ConfigSource source;
};
Lookup lookup_config(const OptimizationConfig& config, const mil::WeightInfo& weight,
                     const std::vector<std::string>& names_first = {});

// The whole decision for one weight, in coremltools' order (§2.1).
Resolution resolve(const OptimizationConfig& config, const mil::WeightInfo& weight,
                   const ConsumerLookup& lookup = {},
                   const std::vector<std::string>& names_first = {});

}  // namespace mlpress::config
