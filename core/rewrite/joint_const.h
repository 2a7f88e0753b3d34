#pragma once
// Joint compression (coremltools' joint_compression=True, iOS18+; shared/spec/COMPRESSION.md
// §6): a weight an earlier step left as a constexpr chain is recompressed by the next step
// (prune -> palettize / quantize, palettize -> quantize the LUT, quantize -> palettize the
// codes, quantize / palettize -> prune), written with the op types, names and layouts
// coremltools writes.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/config/config.h"
#include "core/config/resolve.h"
#include "core/rewrite/const_context.h"

namespace mlpress::rewrite {

enum class JointKind {
  kPrunedThenPalettized,     // sparse_to_dense -> lut_to_sparse + sparse_to_dense
  kQuantizedThenPalettized,  // shift_scale(codes) -> shift_scale(int LUT) + lut_to_dense
  kLutQuantized,             // lut_to_dense / lut_to_sparse: the LUT through shift_scale
  kPrunedThenQuantized,      // sparse_to_dense -> sparse_blockwise_shift_scale + sparse_to_dense
  kQuantizedThenPruned,      // shift_scale -> sparse_blockwise_shift_scale + sparse_to_dense
  kPalettizedThenPruned,     // lut_to_dense -> lut_to_sparse + sparse_to_dense
};

// What one step in joint mode does with an existing chain whose final op is `head`: the
// chain's other ops (names, producer first) and either a kind or why it stays as it is.
struct JointPlan {
  std::vector<std::string> chain;
  std::optional<JointKind> kind;
  std::string reason;
};

// The op producing a var in the same function, or nullptr.
using ProducerLookup =
    std::function<const CoreML::Specification::MILSpec::Operation*(const std::string& var)>;

// Throws (naming `where`) for what coremltools refuses or crashes on: pruning a
// vector-palettized weight, quantizing a LUT with other than per_tensor granularity,
// palettizing a pruned weight into vectors or with a per-channel scale.
JointPlan plan_joint(const CoreML::Specification::MILSpec::Operation& head, config::Api api,
                     const config::OpConfig& config, const ProducerLookup& producer,
                     const std::string& where);

// The producers plan_joint looks chains up in: each function's ops (every specialization,
// nested blocks too) by output var, indexed when the function is first asked for. Pointers into
// `program`, which must not change while the lookups are used (planning).
class FunctionProducers {
 public:
  explicit FunctionProducers(const CoreML::Specification::MILSpec::Program& program)
      : program_(program) {}
  // The lookup of `function`'s producers; valid while this object lives.
  ProducerLookup lookup(const std::string& function);

 private:
  const CoreML::Specification::MILSpec::Program& program_;
  std::map<std::string, std::map<std::string, const CoreML::Specification::MILSpec::Operation*>>
      ops_;
};

// What a joint step (`config`, `api`) does with the existing chain ending at `head`, the
// weight `weight`: the config coremltools finds for it through the chain
// (joint_config_names.h; sized and checked as the dense weight), then plan_joint. `resolved`
// unset: the config leaves it as it is (`reason`). Throws as plan_joint does. Shared by
// rewrite_package and its dry run, plan_package.
struct JointWeightPlan {
  std::optional<config::Resolved> resolved;
  JointPlan joint;     // when resolved: a kind, or why the chain stays as it is
  std::string reason;  // when not resolved
};
JointWeightPlan plan_joint_weight(const mil::WeightInfo& weight,
                                  const CoreML::Specification::MILSpec::Operation& head,
                                  const config::OptimizationConfig& config, config::Api api,
                                  const config::ConsumerLookup& lookup,
                                  const ProducerLookup& producer, const std::string& where);

// Why a joint prune step leaves a const (a weight not compressed yet) as it is.
std::string joint_prune_const_skip_reason();

// The error for a joint step (`step_number` of the job) on a function of a program below iOS18
// (`opset_version`, after the iOS15 -> iOS16 upgrade); coremltools raises it at the pass's
// start, whatever the weights. `origin` names the program.
std::string joint_target_refusal(const std::string& origin, const std::string& function,
                                 int opset_version, size_t step_number);

// The ops replacing `chain` + `head` (consumers bind to the last one's first output), or
// nullopt with outcome.reason set when the weight stays as it is (then nothing was written).
// `nonzero_only`: fit the LUT / quantization parameters of a pruned weight to its nonzeros.
std::optional<Replacement> joint_const(
    JointKind kind, std::vector<CoreML::Specification::MILSpec::Operation>& chain,
    const CoreML::Specification::MILSpec::Operation& head, const config::OpConfig& config,
    const config::ChannelAxes& axes, bool nonzero_only, const ConstContext& context,
    WeightOutcome& outcome);

}  // namespace mlpress::rewrite
