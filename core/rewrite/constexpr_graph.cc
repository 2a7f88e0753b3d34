#include "core/rewrite/constexpr_graph.h"

#include <stdexcept>

#include "core/io/error.h"
#include "core/mil/op_access.h"
#include "core/rewrite/value_tensor.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;
using compress::DenseTensor;

namespace {

bool is_constexpr(const spec::Operation& op) { return op.type().starts_with("constexpr_"); }

}  // namespace

ConstexprGraph::ConstexprGraph(const spec::Block& block, mil::BlobFiles& blobs, std::string where)
    : blobs_(blobs), where_(std::move(where)) {
  std::map<std::string, const spec::Operation*> const_ops;
  std::set<std::string> bound_by_constexpr;
  auto collect = [&](auto& self, const spec::Block& b) -> void {
    for (const auto& op : b.operations()) {
      const bool constexpr_op = is_constexpr(op);
      if (constexpr_op) {
        auto copy = std::make_shared<const spec::Operation>(op);
        for (int i = 0; i < op.outputs_size(); ++i) producers_[op.outputs(i).name()] = {copy, i};
      } else if (op.type() == "const" && op.outputs_size() == 1) {
        const_ops[op.outputs(0).name()] = &op;
      }
      for (const auto& [param, argument] : op.inputs()) {
        for (const auto& binding : argument.arguments()) {
          if (!binding.has_name()) continue;
          (constexpr_op ? bound_by_constexpr : needed_).insert(binding.name());
        }
      }
      for (const auto& nested : op.blocks()) self(self, nested);
    }
    for (const auto& output : b.outputs()) needed_.insert(output);
  };
  collect(collect, block);
  for (const auto& name : bound_by_constexpr) {
    auto it = const_ops.find(name);
    if (it != const_ops.end()) consts_[name] = std::make_shared<const spec::Operation>(*it->second);
  }
}

std::pair<const spec::Operation*, int> ConstexprGraph::producer(const std::string& output) const {
  auto it = producers_.find(output);
  if (it == producers_.end()) return {nullptr, 0};
  return {it->second.first.get(), it->second.second};
}

std::string ConstexprGraph::where(const std::string& op_name, const std::string& type) const {
  return where_ + ", op \"" + op_name + "\" (" + type + ")";
}

// A parameter's value: given inline/blob, or bound by name to a constexpr output or const.
std::optional<DenseTensor> ConstexprGraph::param(const spec::Operation& op, const std::string& name,
                                                 const std::string& op_where, Cache& cache) {
  const std::string at = op_where + ", parameter \"" + name + "\"";
  if (const spec::Value* value = mil::param_value(op, name)) {
    return read_value(*value, blobs_, at);
  }
  const std::string bound = mil::param_binding_name(op, name);
  if (bound.empty()) {
    if (op.inputs().count(name)) throw Error(at + ": expected one binding");
    return std::nullopt;
  }
  if (auto it = producers_.find(bound); it != producers_.end()) {
    const Outputs& outputs = evaluate(*it->second.first, cache);
    return outputs.at(static_cast<size_t>(it->second.second));
  }
  if (auto it = consts_.find(bound); it != consts_.end()) {
    return read_value(it->second->attributes().at("val"), blobs_, at);
  }
  throw Error(at + ": bound to \"" + bound + "\", which is not a constant");
}

DenseTensor ConstexprGraph::required(const spec::Operation& op, const std::string& name,
                                     const std::string& op_where, Cache& cache) {
  auto value = param(op, name, op_where, cache);
  if (!value) throw Error(op_where + ": missing parameter \"" + name + "\"");
  return std::move(*value);
}

std::optional<int64_t> ConstexprGraph::int_param(const spec::Operation& op, const std::string& name,
                                                 const std::string& op_where, Cache& cache) {
  auto value = param(op, name, op_where, cache);
  if (!value) return std::nullopt;
  if (value->count() != 1 || compress::is_float(value->type)) {
    throw Error(op_where + ": parameter \"" + name + "\" must be an integer scalar");
  }
  return value->as_int(0);
}

const ConstexprGraph::Outputs& ConstexprGraph::evaluate(const spec::Operation& op, Cache& cache) {
  if (auto it = cache.find(&op); it != cache.end()) return it->second;
  const std::string op_where = where(mil::op_name(op), op.type());
  Outputs outputs;
  try {
    outputs = compute(op, op_where, cache);
  } catch (const std::invalid_argument& e) {
    throw Error(op_where + ": " + e.what());
  }
  if (outputs.size() != static_cast<size_t>(op.outputs_size())) {
    throw Error(op_where + ": decodes to " + std::to_string(outputs.size()) + " values for " +
                std::to_string(op.outputs_size()) + " outputs");
  }
  return cache.emplace(&op, std::move(outputs)).first->second;
}

ConstexprGraph::Outputs ConstexprGraph::compute(const spec::Operation& op, const std::string& at,
                                                Cache& cache) {
  const std::string& type = op.type();
  auto opt = [&](const std::string& name) { return param(op, name, at, cache); };
  auto req = [&](const std::string& name) { return required(op, name, at, cache); };
  auto shape_param = [&]() -> std::optional<std::vector<uint64_t>> {
    auto shape = opt("shape");
    if (!shape) return std::nullopt;
    std::vector<uint64_t> dims;
    for (uint64_t i = 0; i < shape->count(); ++i)
      dims.push_back(static_cast<uint64_t>(shape->as_int(i)));
    return dims;
  };
  if (type == "constexpr_affine_dequantize") {
    const auto axis = int_param(op, "axis", at, cache);
    if (!axis) throw Error(at + ": missing parameter \"axis\"");
    return {
        compress::affine_dequantize(req("quantized_data"), req("zero_point"), req("scale"), *axis)};
  }
  if (type == "constexpr_cast") {
    const spec::Value* dtype = mil::param_value(op, "output_dtype");
    if (!dtype || mil::string_scalar(*dtype) != "fp32") {
      throw Error(at + ": only output_dtype \"fp32\" is supported");
    }
    return {compress::cast_fp16_to_fp32(req("source_val"))};
  }
  if (type == "constexpr_lut_to_dense") {
    if (auto shape = shape_param()) {
      return {compress::lut_to_dense_ios16(req("indices"), req("lut"), *shape)};
    }
    return {compress::lut_to_dense(req("indices"), req("lut"),
                                   int_param(op, "vector_axis", at, cache))};
  }
  if (type == "constexpr_sparse_to_dense") {
    if (auto shape = shape_param()) {
      return {compress::sparse_to_dense_ios16(req("nonzero_data"), req("mask"), *shape)};
    }
    // A two-output producer's mask is output 0 and its values output 1 (bound by name).
    return {compress::sparse_to_dense(req("nonzero_data"), req("mask"))};
  }
  if (type == "constexpr_blockwise_shift_scale") {
    const auto offset = opt("offset");
    return {
        compress::blockwise_shift_scale(req("data"), req("scale"), offset ? &*offset : nullptr)};
  }
  if (type == "constexpr_lut_to_sparse") {
    auto [mask, values] =
        compress::lut_to_sparse(req("indices_mask"), req("indices_nonzero_data"), req("lut"),
                                int_param(op, "vector_axis", at, cache));
    Outputs outputs;
    outputs.push_back(std::move(mask));
    outputs.push_back(std::move(values));
    return outputs;
  }
  if (type == "constexpr_sparse_blockwise_shift_scale") {
    const auto offset = opt("offset");
    auto [mask, values] = compress::sparse_blockwise_shift_scale(
        req("data_mask"), req("nonzero_data"), req("scale"), offset ? &*offset : nullptr);
    Outputs outputs;
    outputs.push_back(std::move(mask));
    outputs.push_back(std::move(values));
    return outputs;
  }
  throw Error(at + ": unknown constexpr op type");
}

}  // namespace mlpress::rewrite
