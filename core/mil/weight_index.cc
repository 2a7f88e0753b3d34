#include "core/mil/weight_index.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/mil/op_access.h"

namespace mlpress::mil {
namespace {

bool is_constexpr(const std::string& type) { return type.starts_with("constexpr_"); }

// Where a var comes from, for the ops that make weights.
struct Producer {
  const spec::Operation* op = nullptr;
  const spec::ValueType* type = nullptr;
  int weight = -1;  // index into the pending weights (const ops)
};

std::optional<TensorShape> shape_of_type(const spec::ValueType* type) {
  if (!type || !type->has_tensortype()) return std::nullopt;
  try {
    return tensor_shape_of(*type, "");
  } catch (const Error&) {
    return std::nullopt;
  }
}

class FunctionWalker {
 public:
  FunctionWalker(const ProgramRef& program, const std::string& function, const std::string& where)
      : program_(program), function_(function), where_(where) {}

  void walk_block(const spec::Block& block) {
    for (const auto& op : block.operations()) walk_op(op);
    for (const auto& output : block.outputs()) {
      if (auto it = producers_.find(output); it != producers_.end()) block_outputs_.insert(output);
    }
  }

  uint64_t op_count() const { return op_count_; }

  std::vector<WeightInfo> finish() {
    std::vector<WeightInfo> result;
    for (auto& [order, weight] : pending_) {
      weight.is_block_output = block_outputs_.count(weight.name) > 0;
      const bool has_plain_consumer =
          std::any_of(weight.consumers.begin(), weight.consumers.end(),
                      [](const Consumer& c) { return !is_constexpr(c.op_type); });
      // A constexpr output only inside a chain, or a const that only feeds constexprs, is a part
      // of a compressed weight rather than a weight of its own.
      const bool internal =
          !weight.consumers.empty() && !has_plain_consumer && !weight.is_block_output;
      if (is_constexpr(weight.op_type)) {
        if (!has_plain_consumer && !weight.is_block_output) continue;
        weight.compression = describe_chain(*producers_.at(weight.name).op);
      } else if (internal) {
        continue;
      }
      result.push_back(std::move(weight));
    }
    return result;
  }

 private:
  void walk_op(const spec::Operation& op) {
    ++op_count_;
    const std::string name = op_name(op);
    for (const auto& [param, argument] : op.inputs()) {
      for (const auto& binding : argument.arguments()) {
        if (!binding.has_name()) continue;
        auto it = consumers_of_.find(binding.name());
        if (it != consumers_of_.end()) {
          pending_.at(it->second).consumers.push_back({op.type(), name, param});
        }
      }
    }
    for (const auto& block : op.blocks()) walk_block(block);

    if (op.type() == "const") {
      add_const(op, name);
    } else if (is_constexpr(op.type())) {
      for (int i = 0; i < op.outputs_size(); ++i) {
        const auto& output = op.outputs(i);
        producers_[output.name()] = {&op, &output.type(), -1};
        if (op.outputs_size() == 1) add_weight(op, name, output.name(), output.type(), nullptr);
      }
    }
  }

  void add_const(const spec::Operation& op, const std::string& name) {
    if (op.outputs_size() != 1) return;
    auto val = op.attributes().find("val");
    if (val == op.attributes().end()) {
      throw Error(where_ + ": const op \"" + name + "\" has no \"val\" attribute");
    }
    const auto& output = op.outputs(0);
    producers_[output.name()] = {&op, &output.type(), -1};
    const auto& type = val->second.type();
    if (!type.has_tensortype()) return;
    const int dtype = type.tensortype().datatype();
    if (!is_numeric(dtype) || type.tensortype().rank() < 1) return;
    add_weight(op, name, output.name(), type, &val->second);
  }

  void add_weight(const spec::Operation& op, const std::string& name, const std::string& var,
                  const spec::ValueType& type, const spec::Value* value) {
    WeightInfo weight;
    weight.program = program_.id;
    weight.function = function_;
    weight.name = var;
    weight.op_name = name;
    weight.op_type = op.type();
    weight.shape = tensor_shape_of(type, where_ + ": op \"" + name + "\"");
    weight.value = value;
    const uint64_t order = pending_.size();
    consumers_of_[var] = order;
    pending_.emplace(order, std::move(weight));
  }

  // Producer-first list of the constexpr ops feeding `op`, `op` last.
  void chain_of(const spec::Operation& op, std::vector<const spec::Operation*>& chain) {
    for (const auto& [param, argument] : op.inputs()) {
      for (const auto& binding : argument.arguments()) {
        if (!binding.has_name()) continue;
        auto it = producers_.find(binding.name());
        if (it != producers_.end() && is_constexpr(it->second.op->type()) &&
            std::find(chain.begin(), chain.end(), it->second.op) == chain.end()) {
          chain_of(*it->second.op, chain);
        }
      }
    }
    chain.push_back(&op);
  }

  // Type of a parameter, whether given as a value or bound to a producer's output.
  std::optional<TensorShape> param_shape(const spec::Operation& op, const std::string& param) {
    if (const spec::Value* value = param_value(op, param)) return shape_of_type(&value->type());
    const std::string bound = param_binding_name(op, param);
    if (auto it = producers_.find(bound); it != producers_.end())
      return shape_of_type(it->second.type);
    return std::nullopt;
  }

  static void set_granularity(ExistingCompression& c, const TensorShape& data,
                              const TensorShape& scale) {
    std::vector<int> split;
    for (size_t d = 0; d < scale.dims.size() && d < data.dims.size(); ++d) {
      if (scale.dims[d] > 1) split.push_back(static_cast<int>(d));
    }
    if (split.empty()) {
      c.granularity = "per_tensor";
    } else if (split.size() == 1 && scale.dims[split[0]] == data.dims[split[0]]) {
      c.granularity = "per_channel";
      c.axis = split[0];
    } else {
      c.granularity = "per_block";
      for (size_t d = 0; d < data.dims.size() && d < scale.dims.size(); ++d) {
        c.block_sizes.push_back(scale.dims[d] ? data.dims[d] / scale.dims[d] : 0);
      }
    }
  }

  static int log2_exact(uint64_t n) {
    int bits = 0;
    while ((uint64_t{1} << bits) < n) ++bits;
    return bits;
  }

  ExistingCompression describe_chain(const spec::Operation& last) {
    std::vector<const spec::Operation*> chain;
    chain_of(last, chain);
    ExistingCompression c;
    bool quantized = false, palettized = false, sparse = false, cast = false;
    std::set<std::string> lut_inputs;  // vars bound as a LUT of a lut op
    for (const auto* op : chain) {
      for (const char* param : {"lut"}) {
        const std::string bound = param_binding_name(*op, param);
        if (!bound.empty()) lut_inputs.insert(bound);
      }
    }
    for (const auto* op : chain) {
      c.ops.push_back(op->type());
      const std::string& type = op->type();
      const auto out = shape_of_type(&op->outputs(op->outputs_size() - 1).type());
      if (type == "constexpr_affine_dequantize") {
        quantized = true;
        if (auto data = param_shape(*op, "quantized_data")) c.nbits = dtype_bits(data->dtype);
        auto scale = param_shape(*op, "scale");
        if (scale && !scale->dims.empty()) {
          c.granularity = "per_channel";
          if (const spec::Value* axis = param_value(*op, "axis");
              axis && axis->immediatevalue().tensor().ints().values_size() == 1) {
            c.axis = axis->immediatevalue().tensor().ints().values(0);
          }
        } else {
          c.granularity = "per_tensor";
        }
      } else if (type == "constexpr_blockwise_shift_scale") {
        auto data = param_shape(*op, "data");
        auto scale = param_shape(*op, "scale");
        const bool feeds_lut = lut_inputs.count(op->outputs(0).name()) > 0;
        if (data && !is_float(data->dtype)) {
          if (feeds_lut) {
            c.lut_quantized = true;
          } else {
            quantized = true;
            c.nbits = dtype_bits(data->dtype);
            if (scale) set_granularity(c, *data, *scale);
          }
        } else {
          c.per_channel_scale = true;  // a float LUT or dense tensor scaled per channel
        }
      } else if (type == "constexpr_lut_to_dense" || type == "constexpr_lut_to_sparse") {
        palettized = true;
        sparse = sparse || type == "constexpr_lut_to_sparse";
        auto lut = param_shape(*op, "lut");
        if (lut && lut->dims.size() == 1) {  // iOS16: one flat palette
          c.nbits = log2_exact(lut->dims[0]);
          c.granularity = "per_tensor";
        } else if (lut && lut->dims.size() >= 2) {
          const size_t k = lut->dims.size() - 2;
          c.nbits = log2_exact(lut->dims[k]);
          if (lut->dims[k + 1] > 1) c.cluster_dim = lut->dims[k + 1];
          auto indices =
              param_shape(*op, type == "constexpr_lut_to_dense" ? "indices" : "indices_mask");
          const bool grouped = std::any_of(lut->dims.begin(), lut->dims.begin() + k,
                                           [](uint64_t g) { return g > 1; });
          c.granularity = grouped ? "per_grouped_channel" : "per_tensor";
          if (grouped && indices) {
            for (size_t d = 0; d < k && d < indices->dims.size(); ++d) {
              c.block_sizes.push_back(lut->dims[d] ? indices->dims[d] / lut->dims[d] : 0);
            }
          }
        }
      } else if (type == "constexpr_sparse_blockwise_shift_scale") {
        quantized = sparse = true;
        auto data = param_shape(*op, "nonzero_data");
        auto mask = param_shape(*op, "data_mask");
        auto scale = param_shape(*op, "scale");
        if (data) c.nbits = dtype_bits(data->dtype);
        if (mask && scale) set_granularity(c, *mask, *scale);
      } else if (type == "constexpr_sparse_to_dense") {
        sparse = true;
        auto nonzero = param_shape(*op, "nonzero_data");
        if (nonzero && out && !nonzero->dims.empty() && out->element_count() > 0) {
          c.sparsity = 1.0 - double(nonzero->dims[0]) / double(out->element_count());
        }
      } else if (type == "constexpr_cast") {
        cast = true;
      }
    }
    std::vector<std::string> kinds;
    if (sparse) kinds.push_back("sparse");
    if (palettized) kinds.push_back("palettized");
    if (quantized) kinds.push_back("quantized");
    if (cast) kinds.push_back("cast");
    if (kinds.empty()) kinds.push_back("scaled");
    for (size_t i = 0; i < kinds.size(); ++i) c.kind += (i ? "+" : "") + kinds[i];
    return c;
  }

  const ProgramRef& program_;
  std::string function_;
  std::string where_;
  uint64_t op_count_ = 0;
  std::map<std::string, Producer> producers_;
  std::map<std::string, uint64_t> consumers_of_;  // weight var -> pending index
  std::map<uint64_t, WeightInfo> pending_;
  std::set<std::string> block_outputs_;
};

}  // namespace

ProgramIndex index_program(const ProgramRef& ref, const std::string& origin) {
  const std::string where = origin + " (" + ref.id + ")";
  if (ref.program->version() != 1) {
    throw Error(where + ": ML Program version " + std::to_string(ref.program->version()) +
                ", expected 1");
  }
  ProgramIndex index;
  index.id = ref.id;
  index.specification_version = ref.model->specificationversion();
  std::vector<std::string> names;
  for (const auto& [name, function] : ref.program->functions()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const auto& function = ref.program->functions().at(name);
    auto block = function.block_specializations().find(function.opset());
    if (block == function.block_specializations().end()) {
      throw Error(where + ": function \"" + name + "\" has opset \"" + function.opset() +
                  "\" but no block for it");
    }
    FunctionWalker walker(ref, name, where + ": function \"" + name + "\"");
    walker.walk_block(block->second);
    index.functions.push_back({name, function.opset(), walker.op_count()});
    for (auto& weight : walker.finish()) index.weights.push_back(std::move(weight));
  }
  return index;
}

}  // namespace mlpress::mil
