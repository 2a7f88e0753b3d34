#include "core/rewrite/rewrite.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "core/config/resolve.h"
#include "core/io/error.h"
#include "core/io/temporary_outputs.h"
#include "core/mil/blob_files.h"
#include "core/mil/dtype.h"
#include "core/mil/model_file.h"
#include "core/mil/op_access.h"
#include "core/mil/opened_model.h"
#include "core/mil/value_walk.h"
#include "core/mil/weight_index.h"
#include "core/package/package_reader.h"
#include "core/package/package_writer.h"
#include "core/rewrite/blob_relocator.h"
#include "core/rewrite/joint_config_names.h"
#include "core/rewrite/joint_const.h"
#include "core/rewrite/package_output.h"
#include "core/rewrite/palettize_const.h"
#include "core/rewrite/precomputed.h"
#include "core/rewrite/prune_const.h"
#include "core/rewrite/quantize_const.h"

namespace mlpress {
namespace spec = CoreML::Specification::MILSpec;
namespace fs = std::filesystem;

namespace {

int opset_version(const std::string& opset) {
  if (opset.starts_with("CoreML")) {
    try {
      return std::stoi(opset.substr(6));
    } catch (const std::exception&) {
    }
  }
  return 0;
}

// coremltools compresses under spec max(spec, 7): an iOS15 program becomes iOS16 (CoreML6),
// every function's opset and its block key renamed.
void upgrade_to_ios16(mil::ProgramRef& program) {
  if (program.model->specificationversion() >= 7) return;
  program.model->set_specificationversion(7);
  for (auto& [name, function] : *program.program->mutable_functions()) {
    if (opset_version(function.opset()) >= 6) continue;
    auto& blocks = *function.mutable_block_specializations();
    auto it = blocks.find(function.opset());
    if (it != blocks.end()) {
      spec::Block block = std::move(it->second);
      blocks.erase(it);
      blocks["CoreML6"] = std::move(block);
    }
    function.set_opset("CoreML6");
  }
}

// Every op and var name used in a block tree, so that new names stay unique in the function.
void collect_names(const spec::Block& block, std::set<std::string>& names) {
  for (const auto& op : block.operations()) {
    names.insert(mil::op_name(op));
    for (const auto& output : op.outputs()) names.insert(output.name());
    for (const auto& nested : op.blocks()) collect_names(nested, names);
  }
}

// Counts compressed weights across every program and asks the caller whether to go on.
class ProgressTracker {
 public:
  explicit ProgressTracker(const RewriteOptions& options) : callback_(options.on_progress) {}
  void add_planned(uint64_t count) { total_ += count; }
  // Before compressing `weight` (empty: before writing the output).
  void report(const std::string& weight) {
    if (!callback_) return;
    RewriteProgress progress;
    progress.done = done_;
    progress.total = total_;
    progress.weight = weight;
    if (!callback_(progress)) throw Cancelled();
  }
  void finished_one() { ++done_; }

 private:
  std::function<bool(const RewriteProgress&)> callback_;
  uint64_t done_ = 0;
  uint64_t total_ = 0;
};

struct Decision {
  config::OpConfig config;
  config::ChannelAxes axes;
  size_t outcome = 0;  // index into the report's weights
};

// A compressed chain a joint step recompresses, by the var of its final op.
struct JointDecision {
  Decision decision;
  rewrite::JointKind kind;
  std::vector<std::string> chain;  // the other ops of the chain, producer first
  std::string auto_name;           // the name of an op coremltools creates without one
};

struct FunctionContext {
  std::string name;
  int opset = 0;
  std::map<std::string, Decision> decisions;   // by const output var
  std::map<std::string, JointDecision> joint;  // by the chain's final output var
  std::set<std::string> held;                  // chain ops moved out until their final op
  std::map<std::string, spec::Operation> stash;
  std::map<std::string, std::string> renamed;  // old var -> replacement's var
  std::set<std::string> names;
};

class ProgramRewriter {
 public:
  // `relocator` null: planning and precompute() only. `precomputed`: results spliced in by
  // replace_const (null: none).
  ProgramRewriter(mil::ProgramRef& program, const std::string& origin, mil::BlobFiles& blobs,
                  rewrite::BlobRelocator* relocator, RewriteReport& report,
                  ProgressTracker& progress, rewrite::PrecomputedResults* precomputed = nullptr)
      : program_(program),
        origin_(origin + " (" + program.id + ")"),
        blobs_(blobs),
        relocator_(relocator),
        report_(report),
        progress_(progress),
        precomputed_(precomputed) {}

  void plan(const CompressionStep& step, size_t step_number) {
    step_ = &step;
    const auto index = mil::index_program(program_, origin_);
    const config::ProgramFacts facts(*program_.program);
    for (const auto& weight : index.weights) {
      if (weight.shape.element_count() < 10) continue;
      if (weight.op_type != "const") {
        // An existing constexpr chain: recompressed only by a joint step (§6).
        if (step.joint_compression && weight.compression) {
          plan_joint(step, weight, facts, step_number);
        } else if (step_number > 1 && weight.compression) {
          // What an earlier step of the job compressed, which this step leaves alone.
          WeightOutcome outcome = outcome_for(weight, step_number);
          outcome.reason = "already compressed (" + weight.op_type +
                           " output); a joint step would recompress it";
          report_.weights.push_back(std::move(outcome));
        }
        continue;
      }
      // Tiny constants (conv strides, pads, axes) are never candidates; listing them is noise.
      auto resolution = config::resolve(step.config, weight, facts.lookup());
      WeightOutcome outcome = outcome_for(weight, step_number);
      if (step.joint_compression && step.api == config::Api::prune_weights &&
          std::holds_alternative<config::Resolved>(resolution)) {
        resolution = config::Skipped{config::SkipReason::config_none,
                                     rewrite::joint_prune_const_skip_reason()};
      }
      const auto* skipped = std::get_if<config::Skipped>(&resolution);
      if (skipped) {
        outcome.reason = skipped->text;
        report_.weights.push_back(std::move(outcome));
        continue;
      }
      const auto& resolved = std::get<config::Resolved>(resolution);
      outcome.config_from = resolved.source.describe();
      FunctionContext& fn = function(weight.function);
      const std::string at = where(fn, weight.op_name, "const");
      if (const auto* linear = std::get_if<config::OpLinearQuantizerConfig>(&resolved.config)) {
        rewrite::check_linear_quantizer_target(*linear, fn.opset, at);
      } else if (const auto* palette = std::get_if<config::OpPalettizerConfig>(&resolved.config)) {
        rewrite::check_palettizer_target(*palette, fn.opset, at);
      }
      fn.decisions[weight.name] = {resolved.config, resolved.axes, report_.weights.size()};
      report_.weights.push_back(std::move(outcome));
      progress_.add_planned(1);
    }
    if (step.joint_compression) name_new_ops();
  }

  // coremltools names the sparse ops a joint prune creates "<type>_<i>", counting in the
  // order its pass transforms weights: a nested block's weights before those of the block
  // holding it (each block is transformed at the end of its own visit).
  void name_new_ops() {
    for (const auto& name : sorted_function_names()) {
      FunctionContext& fn = function(name);
      if (fn.joint.empty()) continue;
      std::vector<JointDecision*> order;
      std::function<void(const spec::Block&)> visit = [&](const spec::Block& block) {
        std::vector<JointDecision*> own;
        for (const auto& op : block.operations()) {
          for (const auto& nested : op.blocks()) visit(nested);
          if (op.outputs_size() != 1) continue;
          auto it = fn.joint.find(op.outputs(0).name());
          if (it != fn.joint.end()) own.push_back(&it->second);
        }
        order.insert(order.end(), own.begin(), own.end());
      };
      const auto& function_proto = program_.program->functions().at(name);
      std::vector<std::string> keys;
      for (const auto& [key, block] : function_proto.block_specializations()) keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      for (const auto& key : keys) visit(function_proto.block_specializations().at(key));
      for (JointDecision* joint : order) {
        if (joint->kind != rewrite::JointKind::kQuantizedThenPruned &&
            joint->kind != rewrite::JointKind::kPalettizedThenPruned)
          continue;
        joint->auto_name = auto_name(fn, joint->kind == rewrite::JointKind::kQuantizedThenPruned
                                             ? "constexpr_sparse_blockwise_shift_scale"
                                             : "constexpr_lut_to_sparse");
      }
    }
  }

  static std::string auto_name(FunctionContext& fn, const std::string& type) {
    for (int i = 0;; ++i) {
      const std::string name = type + "_" + std::to_string(i);
      if (fn.names.count(name) || fn.names.count(name + "_0") || fn.names.count(name + "_1"))
        continue;
      fn.names.insert(name);
      fn.names.insert(name + "_0");
      fn.names.insert(name + "_1");
      return name;
    }
  }

  // Throws when a joint step meets a program below iOS18 (coremltools raises at the pass's
  // start, whatever the weights).
  void check_joint_target(const std::vector<CompressionStep>& steps) {
    for (size_t i = 0; i < steps.size(); ++i) {
      if (!steps[i].joint_compression) continue;
      for (const auto& name : sorted_function_names()) {
        const FunctionContext& fn = function(name);
        if (fn.opset >= 8) continue;
        throw Error(rewrite::joint_target_refusal(origin_, name, fn.opset, i + 1));
      }
    }
  }

  void run() {
    auto relocate = [&](spec::Value& value, const std::string& at) {
      relocator_->relocate(value, at);
    };
    mil::for_each_attribute_value(*program_.program->mutable_attributes(),
                                  origin_ + ": program attributes", relocate);
    for (const auto& name : sorted_function_names()) {
      auto& function = program_.program->mutable_functions()->at(name);
      FunctionContext& fn = this->function(name);
      mil::for_each_attribute_value(*function.mutable_attributes(),
                                    origin_ + ": function \"" + name + "\"", relocate);
      std::vector<std::string> keys;
      for (const auto& [key, block] : function.block_specializations()) keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      for (const auto& key : keys)
        walk_block(function.mutable_block_specializations()->at(key), fn);
    }
  }

 private:
  WeightOutcome outcome_for(const mil::WeightInfo& weight, size_t step_number) const {
    WeightOutcome outcome;
    outcome.step = step_number;
    outcome.program = weight.program;
    outcome.function = weight.function;
    outcome.name = weight.name;
    outcome.op_name = weight.op_name;
    outcome.shape = weight.shape.dims;
    outcome.dtype = mil::dtype_name(weight.shape.dtype);
    outcome.dense_bytes =
        (weight.shape.element_count() * mil::dtype_bits(weight.shape.dtype).value_or(0) + 7) / 8;
    return outcome;
  }

  // A weight an earlier step compressed: coremltools resolves its config through the chain
  // to the ops using the dense weight, and sizes it by that dense weight (§2.1, §2.3).
  void plan_joint(const CompressionStep& step, const mil::WeightInfo& weight,
                  const config::ProgramFacts& facts, size_t step_number) {
    // Indexed once per function and step (the program does not change while planning).
    const rewrite::ProducerLookup producer = producers_.lookup(weight.function);
    const spec::Operation* head = producer(weight.name);  // the chain's final op
    FunctionContext& fn = function(weight.function);
    const rewrite::JointWeightPlan planned =
        rewrite::plan_joint_weight(weight, *head, step.config, step.api, facts.lookup(), producer,
                                   where(fn, weight.op_name, head->type()));
    WeightOutcome outcome = outcome_for(weight, step_number);
    if (!planned.resolved) {
      outcome.reason = planned.reason;
      report_.weights.push_back(std::move(outcome));
      return;
    }
    const config::Resolved& resolved = *planned.resolved;
    const rewrite::JointPlan& joint = planned.joint;
    outcome.config_from = resolved.source.describe();
    if (!joint.kind) {
      outcome.reason = joint.reason;
      report_.weights.push_back(std::move(outcome));
      return;
    }
    fn.joint[weight.name] = {
        {resolved.config, resolved.axes, report_.weights.size()}, *joint.kind, joint.chain, ""};
    for (const auto& op : joint.chain) fn.held.insert(op);
    report_.weights.push_back(std::move(outcome));
    progress_.add_planned(1);
  }

  rewrite::ConstContext const_context(FunctionContext& fn, const std::string& op_where,
                                      const std::string& op_name) {
    rewrite::ConstContext context;
    context.where = op_where;
    context.opset_version = fn.opset;
    context.const_name = op_name;
    context.unique_name = [this, &fn](const std::string& base) { return unique_name(fn, base); };
    context.auto_name = [&fn](const std::string& type) { return auto_name(fn, type); };
    context.blobs = &blobs_;
    context.joint_compression = step_ && step_->joint_compression;
    context.relocator = relocator_;
    return context;
  }

  std::vector<std::string> sorted_function_names() const {
    std::vector<std::string> names;
    for (const auto& [name, f] : program_.program->functions()) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
  }

  FunctionContext& function(const std::string& name) {
    auto it = functions_.find(name);
    if (it != functions_.end()) return it->second;
    const auto& function = program_.program->functions().at(name);
    FunctionContext fn;
    fn.name = name;
    fn.opset = opset_version(function.opset());
    for (const auto& [key, block] : function.block_specializations())
      collect_names(block, fn.names);
    return functions_.emplace(name, std::move(fn)).first->second;
  }

  std::string where(const FunctionContext& fn, const std::string& op,
                    const std::string& type) const {
    return mil::op_location(origin_, fn.name, op, type);
  }

  std::string unique_name(FunctionContext& fn, const std::string& base) {
    std::string name = base;
    for (int i = 1; fn.names.count(name); ++i) name = base + "_" + std::to_string(i);
    fn.names.insert(name);
    return name;
  }

  void rename_bindings(spec::Operation& op, const FunctionContext& fn) {
    if (fn.renamed.empty()) return;
    for (auto& [param, argument] : *op.mutable_inputs()) {
      for (auto& binding : *argument.mutable_arguments()) {
        if (!binding.has_name()) continue;
        auto it = fn.renamed.find(binding.name());
        if (it != fn.renamed.end()) binding.set_name(it->second);
      }
    }
  }

  void walk_block(spec::Block& block, FunctionContext& fn) {
    mil::for_each_attribute_value(
        *block.mutable_attributes(), origin_ + ": function \"" + fn.name + "\" block",
        [&](spec::Value& value, const std::string& at) { relocator_->relocate(value, at); });
    // The ops are moved into a new list, so that a const can be replaced by several ops.
    google::protobuf::RepeatedPtrField<spec::Operation> out;
    out.Reserve(block.operations_size());
    for (auto& op : *block.mutable_operations()) {
      rename_bindings(op, fn);
      const std::string name = mil::op_name(op);
      const std::string op_where = where(fn, name, op.type());
      if (op.type() == "const" && op.outputs_size() == 1) {
        auto decision = fn.decisions.find(op.outputs(0).name());
        if (decision != fn.decisions.end() &&
            replace_const(op, decision->second, fn, op_where, out)) {
          continue;
        }
      }
      if (fn.held.count(name)) {  // part of a chain a joint step rewrites at its final op
        fn.stash.emplace(name, std::move(op));
        continue;
      }
      if (op.outputs_size() == 1) {
        auto joint = fn.joint.find(op.outputs(0).name());
        if (joint != fn.joint.end()) {
          replace_chain(op, joint->second, fn, op_where, out);
          continue;
        }
      }
      mil::for_each_value_in_op(op, op_where, [&](spec::Value& value, const std::string& at) {
        relocator_->relocate(value, at);
      });
      for (auto& nested : *op.mutable_blocks()) walk_block(nested, fn);
      out.Add(std::move(op));
    }
    block.mutable_operations()->Swap(&out);
    for (auto& output : *block.mutable_outputs()) {
      auto it = fn.renamed.find(output);
      if (it != fn.renamed.end()) output = it->second;
    }
  }

  // Appends the const's replacement ops to `out`; false when the const stays as it is.
  bool replace_const(spec::Operation& op, const Decision& decision, FunctionContext& fn,
                     const std::string& op_where,
                     google::protobuf::RepeatedPtrField<spec::Operation>& out) {
    WeightOutcome& outcome = report_.weights[decision.outcome];
    progress_.report(outcome.name);
    std::optional<rewrite::Replacement> replacement;
    auto precomputed = precomputed_ ? precomputed_->read(decision.outcome)
                                    : std::optional<rewrite::PrecomputedResult>();
    if (precomputed) {
      replacement = splice_precomputed(*precomputed, fn, op_where, outcome);
    } else {
      replacement =
          compress_const(op, decision, const_context(fn, op_where, mil::op_name(op)), outcome);
    }
    progress_.finished_one();
    if (!replacement) return false;
    fn.renamed[op.outputs(0).name()] = replacement->back().outputs(0).name();
    for (auto& new_op : *replacement) out.Add(std::move(new_op));
    return true;
  }

  static std::optional<rewrite::Replacement> compress_const(const spec::Operation& op,
                                                            const Decision& decision,
                                                            const rewrite::ConstContext& context,
                                                            WeightOutcome& outcome) {
    if (const auto* linear = std::get_if<config::OpLinearQuantizerConfig>(&decision.config)) {
      return rewrite::quantize_const(op, *linear, decision.axes, context, outcome);
    }
    if (const auto* palette = std::get_if<config::OpPalettizerConfig>(&decision.config)) {
      return rewrite::palettize_const(op, *palette, decision.axes, context, outcome);
    }
    if (const auto* threshold = std::get_if<config::OpThresholdPrunerConfig>(&decision.config)) {
      return rewrite::prune_const(op, *threshold, context, outcome);
    }
    return rewrite::prune_const(op, std::get<config::OpMagnitudePrunerConfig>(decision.config),
                                context, outcome);
  }

  // A weight another process compressed: its names and payloads are taken here, in the walk's
  // order, so the output is what compressing it here would have written.
  std::optional<rewrite::Replacement> splice_precomputed(rewrite::PrecomputedResult& result,
                                                         FunctionContext& fn,
                                                         const std::string& op_where,
                                                         WeightOutcome& outcome) {
    if (result.name != outcome.name) {
      throw Error(op_where + ": the precomputed result of weight " + std::to_string(result.index) +
                  " is for \"" + result.name + "\", not \"" + outcome.name + "\"");
    }
    if (result.error) throw Error(*result.error);
    outcome.compressed = result.outcome.compressed;
    outcome.op_type = result.outcome.op_type;
    outcome.reason = result.outcome.reason;
    outcome.stored_bytes = result.outcome.stored_bytes;
    outcome.snr_db = result.outcome.snr_db;
    outcome.cosine = result.outcome.cosine;
    if (result.ops.empty()) return std::nullopt;
    return rewrite::replay_precomputed(
        result, [&](const std::string& base) { return unique_name(fn, base); },
        [&](const rewrite::PrecomputedPayload& p) {
          return relocator_->append_new(p.file, p.dtype, p.data(), p.padding_bits);
        },
        op_where);
  }

 public:
  // Compresses the planned consts whose report index is in `selected`, in the walk's order,
  // recording each result instead of writing it; nothing of the program changes. Returns false
  // when a compressor threw (recorded as the result): the share ends there.
  bool precompute(const std::set<uint64_t>& selected, rewrite::PrecomputedWriter& writer,
                  ProgressTracker& progress) {
    for (const auto& name : sorted_function_names()) {
      const auto& function = program_.program->functions().at(name);
      std::vector<std::string> keys;
      for (const auto& [key, block] : function.block_specializations()) keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      for (const auto& key : keys) {
        if (!precompute_block(function.block_specializations().at(key), this->function(name),
                              selected, writer, progress))
          return false;
      }
    }
    return true;
  }

  // The report indices of the consts this program's plan compresses.
  void planned_indices(std::vector<uint64_t>& out) const {
    for (const auto& [name, fn] : functions_) {
      for (const auto& [var, decision] : fn.decisions) out.push_back(decision.outcome);
    }
  }

 private:
  bool precompute_block(const spec::Block& block, FunctionContext& fn,
                        const std::set<uint64_t>& selected, rewrite::PrecomputedWriter& writer,
                        ProgressTracker& progress) {
    for (const auto& op : block.operations()) {
      if (op.type() == "const" && op.outputs_size() == 1) {
        auto decision = fn.decisions.find(op.outputs(0).name());
        if (decision != fn.decisions.end() && selected.count(decision->second.outcome)) {
          if (!precompute_const(op, decision->second, fn, writer, progress)) return false;
          continue;
        }
      }
      for (const auto& nested : op.blocks()) {
        if (!precompute_block(nested, fn, selected, writer, progress)) return false;
      }
    }
    return true;
  }

  bool precompute_const(const spec::Operation& op, const Decision& decision, FunctionContext& fn,
                        rewrite::PrecomputedWriter& writer, ProgressTracker& progress) {
    WeightOutcome outcome = report_.weights[decision.outcome];
    progress.report(outcome.name);
    rewrite::PrecomputedResult result;
    result.index = decision.outcome;
    result.name = outcome.name;
    const std::string name = mil::op_name(op);
    rewrite::ConstContext context = const_context(fn, where(fn, name, op.type()), name);
    context.unique_name = [&result](const std::string& base) {
      result.name_bases.push_back(base);
      return rewrite::kStandInNamePrefix + std::to_string(result.name_bases.size() - 1);
    };
    context.append_payload = [&result](const std::string& file, blob::BlobDType dtype,
                                       std::span<const std::byte> bytes, uint64_t padding) {
      result.payloads.push_back({file, dtype, padding, {bytes.begin(), bytes.end()}, {}});
      return rewrite::kStandInOffsetBase + (result.payloads.size() - 1);
    };
    bool ok = true;
    try {
      auto replacement = compress_const(op, decision, context, outcome);
      if (replacement) result.ops = std::move(*replacement);
    } catch (const Cancelled&) {
      throw;
    } catch (const std::exception& e) {
      result.error = e.what();
      ok = false;
    }
    result.outcome = std::move(outcome);
    writer.add(result);
    progress.finished_one();
    return ok;
  }

  // A joint step's rewrite of a compressed chain, at its final op `head`; when the weight is
  // skipped, the chain is written back as it was.
  void replace_chain(spec::Operation& head, const JointDecision& joint, FunctionContext& fn,
                     const std::string& op_where,
                     google::protobuf::RepeatedPtrField<spec::Operation>& out) {
    WeightOutcome& outcome = report_.weights[joint.decision.outcome];
    progress_.report(outcome.name);
    std::vector<spec::Operation> chain;
    for (const auto& name : joint.chain) {
      auto it = fn.stash.find(name);
      if (it == fn.stash.end()) throw Error(op_where + ": chain op \"" + name + "\" not found");
      chain.push_back(std::move(it->second));
      fn.stash.erase(it);
    }
    rewrite::ConstContext context = const_context(fn, op_where, mil::op_name(head));
    if (!joint.auto_name.empty()) {
      context.auto_name = [name = joint.auto_name](const std::string&) { return name; };
    }
    auto replacement =
        rewrite::joint_const(joint.kind, chain, head, joint.decision.config, joint.decision.axes,
                             step_->nonzero_only, context, outcome);
    progress_.finished_one();
    if (!replacement) {
      for (auto& op : chain) keep_op(op, fn, out);
      keep_op(head, fn, out);
      return;
    }
    const std::string old_var = head.outputs(0).name();
    const std::string new_var = replacement->back().outputs(0).name();
    if (new_var != old_var) fn.renamed[old_var] = new_var;
    for (auto& new_op : *replacement) out.Add(std::move(new_op));
  }

  void keep_op(spec::Operation& op, FunctionContext& fn,
               google::protobuf::RepeatedPtrField<spec::Operation>& out) {
    const std::string op_where = where(fn, mil::op_name(op), op.type());
    mil::for_each_value_in_op(op, op_where, [&](spec::Value& value, const std::string& at) {
      relocator_->relocate(value, at);
    });
    out.Add(std::move(op));
  }

  mil::ProgramRef& program_;
  std::string origin_;
  mil::BlobFiles& blobs_;
  rewrite::BlobRelocator* relocator_;
  RewriteReport& report_;
  ProgressTracker& progress_;
  rewrite::PrecomputedResults* precomputed_;
  std::map<std::string, FunctionContext> functions_;
  rewrite::FunctionProducers producers_{*program_.program};
  const CompressionStep* step_ = nullptr;
};

void check_steps(const RewriteOptions& options) {
  for (size_t i = 0; i < options.steps.size(); ++i) {
    try {
      config::check_config_for(options.steps[i].config, options.steps[i].api);
    } catch (const Error& e) {
      if (options.steps.size() == 1) throw;
      throw Error("step " + std::to_string(i + 1) + ": " + e.what());
    }
  }
}

// Where the packages between the steps of a job live: a temporary folder beside the output,
// removed whatever happens.
class StepFolder {
 public:
  explicit StepFolder(const std::string& out_path) {
    const fs::path out(out_path);
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    std::random_device random;
    path_ = parent / ("." + out.filename().string() + ".mlpress-steps-" + std::to_string(random()) +
                      std::to_string(random()));
    std::error_code ec;
    fs::create_directory(path_, ec);
    if (ec) throw Error(path_.string() + ": cannot create a temporary folder: " + ec.message());
    note_ = TemporaryOutputNote(path_.string());
  }
  ~StepFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  StepFolder(const StepFolder&) = delete;
  StepFolder& operator=(const StepFolder&) = delete;
  std::string package(size_t step) const {
    return (path_ / ("step" + std::to_string(step) + ".mlpackage")).string();
  }

 private:
  fs::path path_;
  TemporaryOutputNote note_;  // path_, for the fault handler (temporary_outputs.h)
};

// One step (or none: a lossless rewrite) from in_path to out_path. `all_steps` are the job's
// steps, checked against the first step's input; `final` writes the last progress report.
RewriteReport run_step(const std::string& in_path, const std::string& out_path,
                       const CompressionStep* step, size_t step_number,
                       const std::vector<CompressionStep>& all_steps, ProgressTracker& progress,
                       bool final, rewrite::PrecomputedResults* precomputed = nullptr) {
  mil::OpenedModel opened(in_path);
  auto& [package, model_file, origin, model, programs] = opened;

  RewriteReport report;
  std::vector<std::unique_ptr<ProgramRewriter>> rewriters;
  mil::BlobFiles blobs(*package);
  PackageWriter writer(out_path);
  rewrite::BlobRelocator relocator(blobs, writer);
  for (auto& program : programs) {
    if (step) upgrade_to_ios16(program);
    rewriters.push_back(std::make_unique<ProgramRewriter>(program, origin, blobs, &relocator,
                                                          report, progress, precomputed));
    if (step_number == 1) rewriters.back()->check_joint_target(all_steps);
    // Every config problem is found before any weight is written.
    if (step) rewriters.back()->plan(*step, step_number);
  }
  for (auto& rewriter : rewriters) rewriter->run();
  if (final) progress.report("");
  relocator.finish(report);

  // A pipeline's own version must be at least that of every sub-model.
  for (const auto& program : programs) {
    if (program.model->specificationversion() > model.specificationversion()) {
      model.set_specificationversion(program.model->specificationversion());
    }
  }
  report.output_bytes =
      rewrite::stage_and_commit(*package, model_file, model, origin, relocator, writer);
  return report;
}

// Opens and plans `step` on `in_path` as run_step does, without an output, and hands the
// planned programs to `use`.
void with_planned_programs(const std::string& in_path, const CompressionStep& step,
                           const std::function<void(std::vector<std::unique_ptr<ProgramRewriter>>&,
                                                    RewriteReport&)>& use) {
  mil::OpenedModel opened(in_path);
  auto& [package, model_file, origin, model, programs] = opened;
  RewriteReport report;
  ProgressTracker planning(RewriteOptions{});
  mil::BlobFiles blobs(*package);
  std::vector<std::unique_ptr<ProgramRewriter>> rewriters;
  const std::vector<CompressionStep> steps{step};
  for (auto& program : programs) {
    upgrade_to_ios16(program);
    rewriters.push_back(
        std::make_unique<ProgramRewriter>(program, origin, blobs, nullptr, report, planning));
    rewriters.back()->check_joint_target(steps);
    rewriters.back()->plan(step, 1);
  }
  use(rewriters, report);
}

}  // namespace

PrecomputePlan precompute_candidates(const std::string& in_path, const RewriteOptions& options) {
  check_steps(options);
  PrecomputePlan plan;
  if (options.steps.size() != 1) {
    plan.reason = options.steps.empty() ? "a lossless rewrite compresses nothing"
                                        : "a job of several steps runs them one after the other";
    return plan;
  }
  if (options.steps[0].joint_compression) {
    plan.reason = "a joint step rewrites existing compressed chains";
    return plan;
  }
  with_planned_programs(in_path, options.steps[0], [&](auto& rewriters, RewriteReport& report) {
    std::vector<uint64_t> indices;
    for (auto& rewriter : rewriters) rewriter->planned_indices(indices);
    std::sort(indices.begin(), indices.end());
    for (uint64_t index : indices) {
      plan.weights.push_back(
          {index, report.weights[index].name, report.weights[index].dense_bytes});
    }
  });
  plan.splittable = true;
  return plan;
}

uint64_t precompute_weights(const std::string& in_path, const std::string& results_path,
                            const RewriteOptions& options, const std::vector<uint64_t>& indices) {
  check_steps(options);
  if (options.steps.size() != 1 || options.steps[0].joint_compression) {
    throw Error("precomputed weights apply to a single compression step that is not joint");
  }
  const std::set<uint64_t> selected(indices.begin(), indices.end());
  uint64_t written = 0;
  with_planned_programs(in_path, options.steps[0], [&](auto& rewriters, RewriteReport&) {
    std::vector<uint64_t> planned;
    for (auto& rewriter : rewriters) rewriter->planned_indices(planned);
    const std::set<uint64_t> known(planned.begin(), planned.end());
    for (uint64_t index : selected) {
      if (!known.count(index)) {
        throw Error(in_path + ": weight " + std::to_string(index) +
                    " is not one the config compresses");
      }
    }
    ProgressTracker progress(options);
    progress.add_planned(selected.size());
    rewrite::PrecomputedWriter writer(results_path);
    for (auto& rewriter : rewriters) {
      if (!rewriter->precompute(selected, writer, progress)) break;
    }
    progress.report("");
    writer.close();
    written = writer.count();
  });
  return written;
}

RewriteReport rewrite_package(const std::string& in_path, const std::string& out_path,
                              const RewriteOptions& options) {
  rewrite::check_output_path(in_path, out_path);
  check_steps(options);
  ProgressTracker progress(options);
  const auto& steps = options.steps;
  if (options.precomputed && (steps.size() != 1 || steps[0].joint_compression)) {
    throw Error("precomputed weights apply to a single compression step that is not joint");
  }
  if (steps.size() <= 1) {
    return run_step(in_path, out_path, steps.empty() ? nullptr : &steps[0], 1, steps, progress,
                    true, options.precomputed);
  }
  // Each step reads what the previous one wrote, exactly as separate coremltools calls would;
  // the packages in between live in a temporary folder, and only the last step writes OUT.
  StepFolder folder(out_path);
  std::vector<WeightOutcome> outcomes;
  std::string input = in_path;
  RewriteReport report;
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool last = i + 1 == steps.size();
    const std::string output = last ? out_path : folder.package(i + 1);
    report = run_step(input, output, &steps[i], i + 1, steps, progress, last);
    for (auto& w : report.weights) outcomes.push_back(std::move(w));
    input = output;
  }
  report.weights = std::move(outcomes);
  return report;
}

}  // namespace mlpress
