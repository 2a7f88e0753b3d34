#include "core/rewrite/decompress.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "core/blob/blob_format.h"
#include "core/blob/subbyte.h"
#include "core/compress/decompress_ops.h"
#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/mil/dtype.h"
#include "core/mil/model_file.h"
#include "core/mil/op_access.h"
#include "core/mil/tensor_builder.h"
#include "core/mil/tensor_type.h"
#include "core/mil/value_walk.h"
#include "core/package/package_reader.h"
#include "core/package/package_writer.h"
#include "core/rewrite/blob_relocator.h"
#include "core/rewrite/package_output.h"
#include "core/rewrite/value_tensor.h"

namespace mlpress {
namespace spec = CoreML::Specification::MILSpec;
using compress::DenseTensor;
using compress::ElemType;
using rewrite::mil_dtype_of;
using rewrite::read_value;

namespace {

constexpr const char* kDefaultBlobFile = "@model_path/weights/weight.bin";

// A function's constexpr ops (copied, since the walk moves ops) and what consumes them.
struct FunctionGraph {
  std::map<std::string, std::pair<std::shared_ptr<const spec::Operation>, int>> producers;
  std::map<std::string, std::shared_ptr<const spec::Operation>> consts;  // bound by name
  std::set<std::string> needed;  // constexpr outputs an ordinary op or a block output uses
};

bool is_constexpr(const spec::Operation& op) { return op.type().starts_with("constexpr_"); }

void collect(const spec::Block& block, FunctionGraph& graph,
             std::map<std::string, const spec::Operation*>& const_ops,
             std::set<std::string>& bound_by_constexpr) {
  for (const auto& op : block.operations()) {
    const bool constexpr_op = is_constexpr(op);
    if (constexpr_op) {
      auto copy = std::make_shared<const spec::Operation>(op);
      for (int i = 0; i < op.outputs_size(); ++i) graph.producers[op.outputs(i).name()] = {copy, i};
    } else if (op.type() == "const" && op.outputs_size() == 1) {
      const_ops[op.outputs(0).name()] = &op;
    }
    for (const auto& [param, argument] : op.inputs()) {
      for (const auto& binding : argument.arguments()) {
        if (!binding.has_name()) continue;
        (constexpr_op ? bound_by_constexpr : graph.needed).insert(binding.name());
      }
    }
    for (const auto& nested : op.blocks()) collect(nested, graph, const_ops, bound_by_constexpr);
  }
  for (const auto& output : block.outputs()) graph.needed.insert(output);
}

class Decompressor {
 public:
  Decompressor(mil::ProgramRef& program, const std::string& origin, mil::BlobFiles& blobs,
               rewrite::BlobRelocator& relocator, RewriteReport& report)
      : program_(program),
        origin_(origin + " (" + program.id + ")"),
        blobs_(blobs),
        relocator_(relocator),
        report_(report) {}

  void run() {
    auto relocate = [&](spec::Value& value, const std::string& at) {
      relocator_.relocate(value, at);
    };
    mil::for_each_attribute_value(*program_.program->mutable_attributes(),
                                  origin_ + ": program attributes", relocate);
    std::vector<std::string> names;
    for (const auto& [name, f] : program_.program->functions()) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      auto& function = program_.program->mutable_functions()->at(name);
      function_ = name;
      mil::for_each_attribute_value(*function.mutable_attributes(),
                                    origin_ + ": function \"" + name + "\"", relocate);
      std::vector<std::string> keys;
      for (const auto& [key, block] : function.block_specializations()) keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      for (const auto& key : keys) {
        spec::Block& block = function.mutable_block_specializations()->at(key);
        graph_ = FunctionGraph{};
        std::map<std::string, const spec::Operation*> const_ops;
        std::set<std::string> bound;
        collect(block, graph_, const_ops, bound);
        for (const auto& name_bound : bound) {
          auto it = const_ops.find(name_bound);
          if (it != const_ops.end())
            graph_.consts[name_bound] = std::make_shared<const spec::Operation>(*it->second);
        }
        walk_block(block);
      }
    }
  }

 private:
  using Outputs = std::vector<DenseTensor>;
  using Cache = std::map<const spec::Operation*, Outputs>;

  std::string where(const std::string& op, const std::string& type) const {
    return origin_ + ": function \"" + function_ + "\", op \"" + op + "\" (" + type + ")";
  }

  void walk_block(spec::Block& block) {
    mil::for_each_attribute_value(
        *block.mutable_attributes(), origin_ + ": function \"" + function_ + "\" block",
        [&](spec::Value& value, const std::string& at) { relocator_.relocate(value, at); });
    google::protobuf::RepeatedPtrField<spec::Operation> out;
    out.Reserve(block.operations_size());
    for (auto& op : *block.mutable_operations()) {
      const std::string op_where = where(mil::op_name(op), op.type());
      if (is_constexpr(op)) {
        replace_constexpr(op, op_where, out);
        continue;
      }
      mil::for_each_value_in_op(op, op_where, [&](spec::Value& value, const std::string& at) {
        relocator_.relocate(value, at);
      });
      for (auto& nested : *op.mutable_blocks()) walk_block(nested);
      out.Add(std::move(op));
    }
    block.mutable_operations()->Swap(&out);
  }

  // One const per output something other than a constexpr uses; nothing when none is used.
  void replace_constexpr(const spec::Operation& op, const std::string& op_where,
                         google::protobuf::RepeatedPtrField<spec::Operation>& out) {
    bool any = false;
    for (const auto& output : op.outputs()) any = any || graph_.needed.count(output.name());
    if (!any) return;
    const auto& [shared, index] = graph_.producers.at(op.outputs(0).name());
    (void)index;
    Cache cache;  // the chain's intermediate values, dropped after this op
    const Outputs& values = evaluate(*shared, cache);
    const std::string file = blob_file_of(op);
    const std::string out_file = blobs_.output_path_for(file);
    auto append = [&](blob::BlobDType dtype, std::span<const std::byte> data, uint64_t padding) {
      return relocator_.append_new(out_file, dtype, data, padding);
    };
    for (int i = 0; i < op.outputs_size(); ++i) {
      const auto& output = op.outputs(i);
      if (!graph_.needed.count(output.name())) continue;
      const DenseTensor& value = values[static_cast<size_t>(i)];
      const mil::TensorShape declared =
          mil::tensor_shape_of(output.type(), op_where + ", output \"" + output.name() + "\"");
      if (declared.dims != value.dims) {
        throw Error(op_where + ": output \"" + output.name() + "\" is declared " +
                    declared.to_string() + " but decodes to " + std::to_string(value.count()) +
                    " elements of another shape");
      }
      const int dtype = mil_dtype_of(value.type);
      spec::Operation c;
      c.set_type("const");
      (*c.mutable_attributes())["name"] = mil::string_scalar_value(output.name());
      (*c.mutable_attributes())["val"] =
          mil::tensor_value(dtype, value.dims, value.data, file, append);
      auto* new_output = c.add_outputs();
      new_output->set_name(output.name());
      mil::set_tensor_type(new_output->mutable_type(), dtype, value.dims);
      out.Add(std::move(c));

      WeightOutcome outcome;
      outcome.program = program_.id;
      outcome.function = function_;
      outcome.name = output.name();
      outcome.op_name = output.name();
      outcome.shape = value.dims;
      outcome.dtype = mil::dtype_name(dtype);
      outcome.op_type = op.type();
      outcome.reason = "decompressed from " + op.type();
      outcome.dense_bytes =
          (value.count() * static_cast<uint64_t>(mil::dtype_bits(dtype).value_or(0)) + 7) / 8;
      report_.weights.push_back(std::move(outcome));
    }
  }

  // The blob file the op's payloads live in (new blobs go there too).
  static std::string blob_file_of(const spec::Operation& op) {
    std::vector<std::string> names;
    for (const auto& [name, value] : op.attributes())
      if (value.has_blobfilevalue()) names.push_back(value.blobfilevalue().filename());
    for (const auto& [name, argument] : op.inputs())
      for (const auto& binding : argument.arguments())
        if (binding.has_value() && binding.value().has_blobfilevalue())
          names.push_back(binding.value().blobfilevalue().filename());
    if (names.empty()) return kDefaultBlobFile;
    return *std::min_element(names.begin(), names.end());
  }

  // A parameter's value: given inline/blob, or bound by name to a constexpr output or const.
  std::optional<DenseTensor> param(const spec::Operation& op, const std::string& name,
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
    if (auto it = graph_.producers.find(bound); it != graph_.producers.end()) {
      const Outputs& outputs = evaluate(*it->second.first, cache);
      return outputs.at(static_cast<size_t>(it->second.second));
    }
    if (auto it = graph_.consts.find(bound); it != graph_.consts.end()) {
      return read_value(it->second->attributes().at("val"), blobs_, at);
    }
    throw Error(at + ": bound to \"" + bound + "\", which is not a constant");
  }

  DenseTensor required(const spec::Operation& op, const std::string& name,
                       const std::string& op_where, Cache& cache) {
    auto value = param(op, name, op_where, cache);
    if (!value) throw Error(op_where + ": missing parameter \"" + name + "\"");
    return std::move(*value);
  }

  std::optional<int64_t> int_param(const spec::Operation& op, const std::string& name,
                                   const std::string& op_where, Cache& cache) {
    auto value = param(op, name, op_where, cache);
    if (!value) return std::nullopt;
    if (value->count() != 1 || compress::is_float(value->type)) {
      throw Error(op_where + ": parameter \"" + name + "\" must be an integer scalar");
    }
    return value->as_int(0);
  }

  const Outputs& evaluate(const spec::Operation& op, Cache& cache) {
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

  Outputs compute(const spec::Operation& op, const std::string& at, Cache& cache) {
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
      return {compress::affine_dequantize(req("quantized_data"), req("zero_point"), req("scale"),
                                          *axis)};
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

  mil::ProgramRef& program_;
  std::string origin_;
  mil::BlobFiles& blobs_;
  rewrite::BlobRelocator& relocator_;
  RewriteReport& report_;
  std::string function_;
  FunctionGraph graph_;
};

}  // namespace

RewriteReport decompress_package(const std::string& in_path, const std::string& out_path) {
  rewrite::check_output_path(in_path, out_path);
  auto package = PackageReader::open(in_path);
  const std::string model_file = package->root_model_file();
  const std::string origin = package->describe(model_file);
  mil::Model model =
      mil::parse_model(package->read_file(model_file, package->limits().max_model_bytes), origin);
  auto programs = mil::find_programs(model, origin);

  RewriteReport report;
  mil::BlobFiles blobs(*package);
  PackageWriter writer(out_path);
  rewrite::BlobRelocator relocator(blobs, writer);
  for (auto& program : programs) Decompressor(program, origin, blobs, relocator, report).run();
  relocator.finish(report);
  report.output_bytes =
      rewrite::stage_and_commit(*package, model_file, model, origin, relocator, writer);
  return report;
}

}  // namespace mlpress
