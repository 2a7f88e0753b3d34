#include "core/config/resolve.h"

#include <algorithm>
#include <set>

#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/mil/op_access.h"

namespace mlpress::config {
namespace {

namespace spec = CoreML::Specification::MILSpec;

bool is_constexpr(const std::string& op_type) { return op_type.starts_with("constexpr_"); }

std::string describe_op(const mil::Consumer& c) { return c.op_type + " \"" + c.op_name + "\""; }

std::string key(const std::string& function, const std::string& name) {
  return function + "\n" + name;
}

std::string axis_text(const std::set<int>& axes) {
  std::string s;
  for (int a : axes) s += (s.empty() ? "" : " vs ") + std::to_string(a);
  return s;
}

}  // namespace

// --- ProgramFacts ------------------------------------------------------------------------------

ProgramFacts::ProgramFacts(const spec::Program& program) {
  for (const auto& [name, function] : program.functions()) {
    for (const auto& [opset, block] : function.block_specializations()) {
      (void)opset;
      index_block(name, block);
    }
  }
}

void ProgramFacts::index_block(const std::string& function, const spec::Block& block) {
  for (const auto& op : block.operations()) {
    ops_.emplace(key(function, mil::op_name(op)), &op);
    if (op.type() == "const" && op.outputs_size() == 1)
      consts_.emplace(key(function, op.outputs(0).name()), &op);
    for (const auto& nested : op.blocks()) index_block(function, nested);
  }
}

const spec::Value* ProgramFacts::value_of(const std::string& function, const spec::Operation& op,
                                          const std::string& param) const {
  if (const spec::Value* v = mil::param_value(op, param)) return v;
  const std::string bound = mil::param_binding_name(op, param);
  if (bound.empty()) return nullptr;
  auto it = consts_.find(key(function, bound));
  if (it == consts_.end()) return nullptr;
  auto val = it->second->attributes().find("val");
  return val == it->second->attributes().end() ? nullptr : &val->second;
}

std::optional<bool> ProgramFacts::bool_param(const std::string& function, const spec::Operation& op,
                                             const std::string& param) const {
  const spec::Value* v = value_of(function, op, param);
  if (!v || !v->has_immediatevalue() || !v->immediatevalue().has_tensor()) return std::nullopt;
  const auto& t = v->immediatevalue().tensor();
  if (t.has_bools() && t.bools().values_size() == 1) return t.bools().values(0);
  return std::nullopt;
}

std::optional<int64_t> ProgramFacts::int_param(const std::string& function,
                                               const spec::Operation& op,
                                               const std::string& param) const {
  const spec::Value* v = value_of(function, op, param);
  if (!v || !v->has_immediatevalue() || !v->immediatevalue().has_tensor()) return std::nullopt;
  const auto& t = v->immediatevalue().tensor();
  if (t.has_ints() && t.ints().values_size() == 1) return t.ints().values(0);
  if (t.has_longints() && t.longints().values_size() == 1) return t.longints().values(0);
  return std::nullopt;
}

ConsumerFacts ProgramFacts::facts(const mil::WeightInfo& weight,
                                  const mil::Consumer& consumer) const {
  ConsumerFacts f;
  auto it = ops_.find(key(weight.function, consumer.op_name));
  if (it == ops_.end()) return f;
  const spec::Operation& op = *it->second;
  if (consumer.op_type == "matmul") {
    f.transpose_x = bool_param(weight.function, op, "transpose_x").value_or(false);
    f.transpose_y = bool_param(weight.function, op, "transpose_y").value_or(false);
  } else if (consumer.op_type == "conv" || consumer.op_type == "conv_transpose") {
    f.groups = int_param(weight.function, op, "groups");
  }
  return f;
}

ConsumerLookup ProgramFacts::lookup() const {
  return [this](const mil::WeightInfo& w, const mil::Consumer& c) { return facts(w, c); };
}

// --- axes ---------------------------------------------------------------------------------------

ChannelAxes channel_axes(const mil::WeightInfo& weight, const ConsumerLookup& lookup) {
  const int rank = static_cast<int>(weight.shape.dims.size());
  std::set<int> outputs, inputs;
  std::vector<int64_t> conv_groups;
  for (const auto& c : weight.consumers) {
    int o = 0, i = 1;
    if (c.op_type == "conv" || c.op_type == "conv_transpose") {
      const ConsumerFacts f = lookup ? lookup(weight, c) : ConsumerFacts{};
      conv_groups.push_back(f.groups.value_or(1));
    }
    if (c.op_type == "conv_transpose") {
      o = 1;
      i = 0;
    } else if (c.op_type == "matmul") {
      const ConsumerFacts f = lookup ? lookup(weight, c) : ConsumerFacts{};
      const bool transposed = c.parameter == "y" ? f.transpose_y : f.transpose_x;
      // [..., Din, Dout] for y, [..., M, K] for x; a transpose swaps the last two.
      const bool output_last = (c.parameter == "y") != transposed;
      o = output_last ? -1 : -2;
      i = output_last ? -2 : -1;
    }
    if (o < 0) o += rank;
    if (i < 0) i += rank;
    outputs.insert(o);
    inputs.insert(i);
  }
  ChannelAxes axes{0, 1, std::move(conv_groups)};
  if (outputs.size() > 1) axes.output = std::nullopt;
  if (outputs.size() == 1) axes.output = *outputs.begin();
  if (inputs.size() > 1) axes.input = std::nullopt;
  if (inputs.size() == 1) axes.input = *inputs.begin();
  return axes;
}

// --- resolution ---------------------------------------------------------------------------------

std::string_view skip_reason_name(SkipReason reason) {
  switch (reason) {
    case SkipReason::already_compressed:
      return "already_compressed";
    case SkipReason::dtype:
      return "dtype";
    case SkipReason::too_few_elements:
      return "too_few_elements";
    case SkipReason::no_consumers:
      return "no_consumers";
    case SkipReason::config_none:
      return "config_none";
    case SkipReason::rank:
      return "rank";
    case SkipReason::below_threshold:
      return "below_threshold";
    case SkipReason::structural_pruning_op:
      return "structural_pruning_op";
    case SkipReason::undecidable_axes:
      return "undecidable_axes";
  }
  return "unknown";
}

std::string ConfigSource::describe() const {
  switch (level) {
    case Level::op_name_const:
      return "op_name_configs[\"" + key + "\"] (the const)";
    case Level::op_name_consumer:
      return "op_name_configs[\"" + key + "\"]";
    case Level::op_type:
      return "op_type_configs[\"" + key + "\"]";
    case Level::global:
      return "global_config";
  }
  return "global_config";
}

Lookup lookup_config(const OptimizationConfig& config, const mil::WeightInfo& weight,
                     const std::vector<std::string>& names_first) {
  for (const std::string& name : names_first) {
    if (auto it = config.op_name_configs.find(name); it != config.op_name_configs.end())
      return {it->second, {ConfigSource::Level::op_name_const, name}};
  }
  for (const std::string* name : {&weight.op_name, &weight.name}) {
    if (auto it = config.op_name_configs.find(*name); it != config.op_name_configs.end())
      return {it->second, {ConfigSource::Level::op_name_const, *name}};
  }
  if (config.op_type_configs.count("const")) {
    throw Error(
        "const ops cannot be set by the `set_op_type` function. Please use `set_global` "
        "(op_type_configs has a \"const\" entry; op types name the ops consuming a weight)");
  }
  if (weight.consumers.empty()) return {std::nullopt, {}};
  std::vector<Lookup> per_consumer;
  for (const auto& c : weight.consumers) {
    if (auto it = config.op_name_configs.find(c.op_name); it != config.op_name_configs.end()) {
      per_consumer.push_back({it->second, {ConfigSource::Level::op_name_consumer, c.op_name}});
    } else if (auto t = config.op_type_configs.find(c.op_type); t != config.op_type_configs.end()) {
      per_consumer.push_back({t->second, {ConfigSource::Level::op_type, c.op_type}});
    } else {
      per_consumer.push_back({config.global_config, {}});
    }
  }
  for (size_t i = 1; i < per_consumer.size(); ++i) {
    if (per_consumer[i].config != per_consumer[0].config) {
      const auto& a = weight.consumers[0];
      const auto& b = weight.consumers[i];
      throw Error("compression config conflict detected between ops " + describe_op(a) + " and " +
                  describe_op(b) + " (both consume const \"" + weight.op_name + "\"). " +
                  describe_op(a) + " has config " + to_repr(per_consumer[0].config) + " from " +
                  per_consumer[0].source.describe() + " while " + describe_op(b) + " has " +
                  to_repr(per_consumer[i].config) + " from " + per_consumer[i].source.describe() +
                  ".");
    }
  }
  return per_consumer[0];
}

Resolution resolve(const OptimizationConfig& config, const mil::WeightInfo& weight,
                   const ConsumerLookup& lookup, const std::vector<std::string>& names_first) {
  // 1. Only plain consts are candidates (joint compression is not handled here).
  if (weight.op_type != "const") {
    return Skipped{SkipReason::already_compressed,
                   "already compressed (" + weight.op_type + " output)"};
  }
  // 2. "Should use weight file": fp16/fp32/int8/uint8 with at least 10 elements.
  const int dtype = weight.shape.dtype;
  if (dtype != spec::FLOAT16 && dtype != spec::FLOAT32 && dtype != spec::INT8 &&
      dtype != spec::UINT8) {
    return Skipped{SkipReason::dtype, "dtype " + mil::dtype_name(dtype)};
  }
  const uint64_t count = weight.shape.element_count();
  if (count < 10) {
    return Skipped{SkipReason::too_few_elements,
                   "fewer than 10 elements (" + std::to_string(count) + ")"};
  }
  // 3. Config resolution, conflicts included (before any size test).
  const Lookup found = lookup_config(config, weight, names_first);
  if (weight.consumers.empty() && found.source.level != ConfigSource::Level::op_name_const) {
    return Skipped{SkipReason::no_consumers, weight.is_block_output
                                                 ? "not consumed by any op (only a block output)"
                                                 : "not consumed by any op"};
  }
  if (!found.config) {
    std::string text;
    switch (found.source.level) {
      case ConfigSource::Level::op_name_const:
      case ConfigSource::Level::op_name_consumer:
        text = "config None for op_name " + found.source.key;
        break;
      case ConfigSource::Level::op_type:
        text = "config None for op_type " + found.source.key;
        break;
      case ConfigSource::Level::global:
        text = "global_config is None";
        break;
    }
    return Skipped{SkipReason::config_none, text};
  }
  const OpConfig& op_config = *found.config;
  // 4. Payloads of an existing compression.
  for (const auto& c : weight.consumers) {
    if (is_constexpr(c.op_type))
      return Skipped{SkipReason::already_compressed,
                     "already compressed (feeds " + describe_op(c) + ")"};
  }
  if (weight.consumers.empty()) {
    return Skipped{SkipReason::no_consumers, "not consumed by any op"};
  }
  // 5. Rank.
  const size_t rank = weight.shape.dims.size();
  if (rank <= 1) return Skipped{SkipReason::rank, "rank " + std::to_string(rank)};
  // 6. Size.
  const auto& threshold = weight_threshold_of(op_config);
  if (!threshold) {
    throw Error("weight_threshold cannot be None (const \"" + weight.op_name + "\", config from " +
                found.source.describe() + ")");
  }
  if (count <= static_cast<uint64_t>(*threshold)) {
    return Skipped{SkipReason::below_threshold, "below weight_threshold (" + std::to_string(count) +
                                                    " elements <= " + std::to_string(*threshold) +
                                                    ")"};
  }
  // Structural pruning: only conv/linear weights, unless the const is named explicitly.
  if (const auto* m = std::get_if<OpMagnitudePrunerConfig>(&op_config);
      m && m->is_structural() && found.source.level != ConfigSource::Level::op_name_const) {
    for (const auto& c : weight.consumers) {
      if (!((c.op_type == "conv" || c.op_type == "linear") && c.parameter == "weight")) {
        return Skipped{SkipReason::structural_pruning_op,
                       "block / n:m pruning applies only to the weight of conv and linear ops; "
                       "this const feeds " +
                           describe_op(c) + " as \"" + c.parameter + "\""};
      }
    }
  }
  // Axes (§2.4), needed by quantization and palettization.
  Resolved resolved{op_config, found.source, channel_axes(weight, lookup)};
  const bool axes_used = std::holds_alternative<OpLinearQuantizerConfig>(op_config) ||
                         std::holds_alternative<OpPalettizerConfig>(op_config);
  bool explicit_blocks = false;
  if (const auto* q = std::get_if<OpLinearQuantizerConfig>(&op_config)) {
    explicit_blocks = q->granularity == Granularity::per_block &&
                      std::holds_alternative<std::vector<int64_t>>(q->block_size);
    if (explicit_blocks) {
      const auto& blocks = std::get<std::vector<int64_t>>(q->block_size);
      if (blocks.size() != rank) {
        throw Error(
            "The block_size in config must has one element for each axis. However, for "
            "op " +
            weight.op_name + ", there are " + std::to_string(blocks.size()) +
            " elements in block_size, but there are " + std::to_string(rank) +
            " axes in the weight. (config from " + found.source.describe() + ")");
      }
    }
  }
  if (axes_used && !explicit_blocks && !resolved.axes.decided()) {
    std::set<int> outs, ins;
    for (const auto& c : weight.consumers) {
      mil::WeightInfo one = weight;
      one.consumers = {c};
      const ChannelAxes a = channel_axes(one, lookup);
      outs.insert(*a.output);
      ins.insert(*a.input);
    }
    std::string text = "consumers disagree on the ";
    if (!resolved.axes.output) text += "output channel axis (" + axis_text(outs) + ")";
    if (!resolved.axes.output && !resolved.axes.input) text += " and the ";
    if (!resolved.axes.input) text += "input channel axis (" + axis_text(ins) + ")";
    return Skipped{SkipReason::undecidable_axes, text};
  }
  return resolved;
}

}  // namespace mlpress::config
