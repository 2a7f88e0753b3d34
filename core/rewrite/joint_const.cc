#include "core/rewrite/joint_const.h"

#include <cmath>
#include <cstring>
#include <map>

#include "core/compress/decompress_ops.h"
#include "core/compress/error_metrics.h"
#include "core/compress/linear_quantize.h"
#include "core/compress/palettize.h"
#include "core/compress/palettize_int_codes.h"
#include "core/compress/prune.h"
#include "core/compress/prune_int.h"
#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/mil/op_access.h"
#include "core/mil/tensor_builder.h"
#include "core/mil/tensor_type.h"
#include "core/rewrite/const_tensor.h"
#include "core/rewrite/joint_config_names.h"
#include "core/rewrite/linear_quant_spec.h"
#include "core/rewrite/palettize_const.h"
#include "core/rewrite/prune_const.h"
#include "core/rewrite/quantize_const.h"
#include "core/rewrite/quantized_op.h"
#include "core/rewrite/value_tensor.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;
using compress::DenseTensor;
using compress::ElemType;

namespace {

constexpr const char* kDefaultBlobFile = "@model_path/weights/weight.bin";

// ---- reading the existing chain --------------------------------------------------------------

bool has_value(const spec::Operation& op, const std::string& param) {
  return mil::param_value(op, param) != nullptr;
}

// What the chain ending in `head` holds, in coremltools' words for messages.
enum class Chain {
  kPruned,               // sparse_to_dense(mask, nonzero_data)
  kPrunedPalettized,     // lut_to_sparse -> sparse_to_dense
  kPrunedQuantized,      // sparse_blockwise_shift_scale -> sparse_to_dense
  kPalettized,           // lut_to_dense(indices, lut)
  kPalettizedScaledLut,  // shift_scale(lut) -> lut_to_dense (int8 LUT or per-channel scale)
  kQuantized,            // shift_scale(data, scale, offset?)
  kQuantizedPalettized,  // lut_to_dense -> shift_scale (the non-canonical order)
  kOther,
};

struct ChainFacts {
  Chain chain = Chain::kOther;
  std::vector<std::string> ops;  // producer first, head excluded
  bool vector = false;           // a vector LUT
  bool lut_inline = false;       // the LUT is a value (not bound to another op)
};

ChainFacts describe(const spec::Operation& head, const ProducerLookup& producer) {
  ChainFacts f;
  const std::string& type = head.type();
  // iOS16 encodings keep their payloads in attributes; joint compression is iOS18-only.
  if (head.attributes().count("shape")) return f;
  auto bound = [&](const spec::Operation& op, const std::string& param) -> const spec::Operation* {
    const std::string name = mil::param_binding_name(op, param);
    return name.empty() ? nullptr : producer(name);
  };
  if (type == "constexpr_sparse_to_dense") {
    const spec::Operation* nz = bound(head, "nonzero_data");
    if (!nz) {
      if (has_value(head, "nonzero_data") && has_value(head, "mask")) f.chain = Chain::kPruned;
      return f;
    }
    if (nz->type() == "constexpr_lut_to_sparse") {
      f.chain = Chain::kPrunedPalettized;
      f.vector = mil::param_value(*nz, "vector_axis") != nullptr;
      f.lut_inline = has_value(*nz, "lut");
      if (const spec::Operation* lut = bound(*nz, "lut")) f.ops.push_back(mil::op_name(*lut));
      f.ops.push_back(mil::op_name(*nz));
    } else if (nz->type() == "constexpr_sparse_blockwise_shift_scale") {
      f.chain = Chain::kPrunedQuantized;
      f.ops.push_back(mil::op_name(*nz));
    }
    return f;
  }
  if (type == "constexpr_lut_to_dense") {
    f.vector = mil::param_value(head, "vector_axis") != nullptr;
    f.lut_inline = has_value(head, "lut");
    if (f.lut_inline) {
      f.chain = Chain::kPalettized;
    } else if (const spec::Operation* lut = bound(head, "lut");
               lut && lut->type() == "constexpr_blockwise_shift_scale" && has_value(*lut, "data")) {
      f.chain = Chain::kPalettizedScaledLut;
      f.ops.push_back(mil::op_name(*lut));
    }
    return f;
  }
  if (type == "constexpr_blockwise_shift_scale") {
    if (has_value(head, "data")) {
      f.chain = Chain::kQuantized;
    } else if (const spec::Operation* lut = bound(head, "data");
               lut && lut->type() == "constexpr_lut_to_dense") {
      f.chain = Chain::kQuantizedPalettized;
      f.ops.push_back(mil::op_name(*lut));
    }
  }
  return f;
}

std::string chain_words(Chain chain) {
  switch (chain) {
    case Chain::kPruned:
      return "pruned";
    case Chain::kPrunedPalettized:
      return "pruned and palettized";
    case Chain::kPrunedQuantized:
      return "pruned and quantized";
    case Chain::kPalettized:
    case Chain::kPalettizedScaledLut:
      return "palettized";
    case Chain::kQuantized:
      return "quantized";
    case Chain::kQuantizedPalettized:
      return "quantized and palettized";
    case Chain::kOther:
      break;
  }
  return "compressed";
}

std::string not_again(Chain chain, const std::string& api_words) {
  return "already " + chain_words(chain) + "; coremltools does not " + api_words +
         " this chain again with joint_compression, so it is left as it is";
}

}  // namespace

namespace {

void add_ops_by_output(const spec::Block& block,
                       std::map<std::string, const spec::Operation*>& out) {
  for (const auto& op : block.operations()) {
    for (const auto& output : op.outputs()) out[output.name()] = &op;
    for (const auto& nested : op.blocks()) add_ops_by_output(nested, out);
  }
}

}  // namespace

ProducerLookup FunctionProducers::lookup(const std::string& function) {
  auto& ops = ops_[function];
  if (ops.empty()) {
    for (const auto& [key, block] : program_.functions().at(function).block_specializations())
      add_ops_by_output(block, ops);
  }
  return [&ops](const std::string& var) -> const spec::Operation* {
    auto it = ops.find(var);
    return it == ops.end() ? nullptr : it->second;
  };
}

JointWeightPlan plan_joint_weight(const mil::WeightInfo& weight, const spec::Operation& head,
                                  const config::OptimizationConfig& config, config::Api api,
                                  const config::ConsumerLookup& lookup,
                                  const ProducerLookup& producer, const std::string& where) {
  mil::WeightInfo as_dense = weight;
  as_dense.op_type = "const";
  const auto resolution =
      config::resolve(config, as_dense, lookup, joint_config_names(head, api, producer));
  JointWeightPlan out;
  if (const auto* skipped = std::get_if<config::Skipped>(&resolution)) {
    out.reason = skipped->text;
    return out;
  }
  out.resolved = std::get<config::Resolved>(resolution);
  out.joint = plan_joint(head, api, out.resolved->config, producer, where);
  return out;
}

std::string joint_prune_const_skip_reason() {
  return "not compressed yet: a joint prune step prunes quantized or palettized weights only (as "
         "coremltools' prune_weights with joint_compression)";
}

std::string joint_target_refusal(const std::string& origin, const std::string& function,
                                 int opset_version, size_t step_number) {
  return origin + ": function \"" + function + "\" (opset CoreML" + std::to_string(opset_version) +
         "), step " + std::to_string(step_number) +
         ": Joint compression is only supported since iOS18. Please re-convert your model with "
         "minimum_deployment_target set to at least ct.target.iOS18, or run the step without "
         "joint compression.";
}

JointPlan plan_joint(const spec::Operation& head, config::Api api, const config::OpConfig& config,
                     const ProducerLookup& producer, const std::string& where) {
  const ChainFacts facts = describe(head, producer);
  JointPlan plan;
  plan.chain = facts.ops;
  switch (api) {
    case config::Api::palettize_weights: {
      const auto& palette = std::get<config::OpPalettizerConfig>(config);
      if (facts.chain == Chain::kPruned) {
        if (palette.cluster_dim > 1 || palette.enable_per_channel_scale) {
          throw Error(where + ": palettizing a pruned weight with " +
                      (palette.cluster_dim > 1 ? "cluster_dim > 1" : "enable_per_channel_scale") +
                      " is not supported (coremltools fails on the mask and index shapes); use "
                      "scalar palettization without a per-channel scale for pruned weights");
        }
        plan.kind = JointKind::kPrunedThenPalettized;
      } else if (facts.chain == Chain::kQuantized) {
        const spec::Value* data = mil::param_value(head, "data");
        const int dtype = data->type().tensortype().datatype();
        if (dtype != spec::INT8 && dtype != spec::UINT8) {
          plan.reason = "quantized to " + mil::dtype_name(dtype) +
                        "; mlpress palettizes int8/uint8 quantized codes only";
        } else if (palette.enable_per_channel_scale) {
          // coremltools casts the codes to int32 and divides them in place by their channel
          // maxima, which numpy refuses (UFuncTypeError).
          throw Error(where +
                      ": palettizing quantized codes with enable_per_channel_scale is not "
                      "supported (coremltools fails: Cannot cast ufunc 'divide' output from "
                      "dtype('float64') to dtype('int32')); palettize without a per-channel scale");
        } else {
          plan.kind = JointKind::kQuantizedThenPalettized;
        }
      } else {
        plan.reason = not_again(facts.chain, "palettize");
      }
      break;
    }
    case config::Api::linear_quantize_weights: {
      const auto& linear = std::get<config::OpLinearQuantizerConfig>(config);
      // A per-channel scale in CoreML9's order (lut_to_dense -> shift_scale): coremltools
      // quantizes the float LUT of the lut_to_dense inside.
      const spec::Operation* scaled_lut = facts.chain == Chain::kQuantizedPalettized
                                              ? producer(mil::param_binding_name(head, "data"))
                                              : nullptr;
      const spec::Value* scaled_lut_value =
          scaled_lut ? mil::param_value(*scaled_lut, "lut") : nullptr;
      const bool float_scaled_lut =
          scaled_lut_value && (scaled_lut_value->type().tensortype().datatype() == spec::FLOAT16 ||
                               scaled_lut_value->type().tensortype().datatype() == spec::FLOAT32);
      const bool lut =
          ((facts.chain == Chain::kPalettized || facts.chain == Chain::kPrunedPalettized) &&
           facts.lut_inline) ||
          float_scaled_lut;
      if (lut) {
        if (linear.granularity != config::Granularity::per_tensor) {
          throw Error(where +
                      ": When use joint compression for palettization-quantization, please make "
                      "sure to use per-tensor quantization, because the axis for the data to be "
                      "quantized (palettization's lut) is different from the original weight.");
        }
        plan.kind = JointKind::kLutQuantized;
      } else if (facts.chain == Chain::kPruned) {
        plan.kind = JointKind::kPrunedThenQuantized;
      } else {
        plan.reason = not_again(facts.chain, "quantize");
      }
      break;
    }
    case config::Api::prune_weights: {
      const auto* magnitude = std::get_if<config::OpMagnitudePrunerConfig>(&config);
      const bool structural = magnitude && (magnitude->block_size || magnitude->n_m_ratio);
      if (structural && (facts.chain == Chain::kQuantized || facts.chain == Chain::kPalettized ||
                         facts.chain == Chain::kPalettizedScaledLut)) {
        // coremltools checks a structural pruner's target with a const-only assertion, so it
        // fails on every quantized or palettized weight it would prune jointly.
        throw Error(where +
                    ": block or n:m pruning of a quantized or palettized weight is not supported "
                    "(coremltools fails on it with joint_compression); prune with target_sparsity "
                    "or a threshold, or prune before quantizing or palettizing");
      }
      if (facts.chain == Chain::kQuantized) {
        plan.kind = JointKind::kQuantizedThenPruned;
      } else if (facts.chain == Chain::kPalettizedScaledLut ||
                 facts.chain == Chain::kQuantizedPalettized) {
        // kQuantizedPalettized: quantized codes palettized, or a per-channel scale, in CoreML9's
        // order (lut_to_dense -> shift_scale); coremltools fails on those too (TypeError).
        throw Error(where +
                    ": pruning a palettized weight whose LUT is quantized or scaled per channel "
                    "is not supported (coremltools fails here); prune before palettizing");
      } else if (facts.chain == Chain::kPalettized) {
        if (facts.vector) {
          throw Error(where +
                      ": pruning a vector-palettized weight (cluster_dim > 1) is not supported: "
                      "the mask would not match the per-vector indices (coremltools crashes "
                      "here). Prune before palettizing, or palettize with cluster_dim 1");
        }
        plan.kind = JointKind::kPalettizedThenPruned;
      } else {
        plan.reason = not_again(facts.chain, "prune");
      }
      break;
    }
  }
  // coremltools only compresses a payload of at least 10 elements (smaller ones it keeps
  // inline), whatever the size of the dense weight: a 2-bit LUT, say, stays as it is.
  if (plan.kind &&
      (*plan.kind == JointKind::kLutQuantized || *plan.kind == JointKind::kPrunedThenPalettized ||
       *plan.kind == JointKind::kPrunedThenQuantized)) {
    const spec::Operation* owner = &head;
    std::string param = "nonzero_data";
    if (*plan.kind == JointKind::kLutQuantized) {
      param = "lut";
      if (head.type() == "constexpr_sparse_to_dense")
        owner = producer(mil::param_binding_name(head, "nonzero_data"));
      if (head.type() == "constexpr_blockwise_shift_scale")
        owner = producer(mil::param_binding_name(head, "data"));
    }
    const spec::Value* payload = owner ? mil::param_value(*owner, param) : nullptr;
    uint64_t count = 1;
    if (payload) {
      for (const auto& dim : payload->type().tensortype().dimensions())
        count *= dim.constant().size();
    }
    if (count < 10) {
      plan.kind.reset();
      plan.reason = "its " + param + " has " + std::to_string(count) +
                    " elements; coremltools compresses payloads of 10 or more only";
    }
  }
  return plan;
}

namespace {

// ---- building ops ----------------------------------------------------------------------------

void add_input(spec::Operation& op, const std::string& param, spec::Value value) {
  *(*op.mutable_inputs())[param].add_arguments()->mutable_value() = std::move(value);
}

void bind_input(spec::Operation& op, const std::string& param, const std::string& var) {
  auto& argument = (*op.mutable_inputs())[param];
  argument.clear_arguments();
  argument.add_arguments()->set_name(var);
}

void add_output(spec::Operation& op, const std::string& name, int dtype,
                std::span<const uint64_t> dims) {
  auto* output = op.add_outputs();
  output->set_name(name);
  mil::set_tensor_type(output->mutable_type(), dtype, dims);
}

spec::Operation new_op(const std::string& type, const std::string& name) {
  spec::Operation op;
  op.set_type(type);
  (*op.mutable_attributes())["name"] = mil::string_scalar_value(name);
  return op;
}

// A value of an existing op, copied into a new op with its blob carried to the output.
spec::Value carried(const spec::Operation& op, const std::string& param,
                    const ConstContext& context) {
  const spec::Value* value = mil::param_value(op, param);
  if (!value) throw Error(context.where + ": parameter \"" + param + "\" is not a value");
  spec::Value copy = *value;
  context.relocator->relocate(copy, context.where + ", parameter \"" + param + "\"");
  return copy;
}

DenseTensor read_param(const spec::Operation& op, const std::string& param,
                       const ConstContext& context) {
  const spec::Value* value = mil::param_value(op, param);
  if (!value) throw Error(context.where + ": parameter \"" + param + "\" is not a value");
  return read_value(*value, *context.blobs, context.where + ", parameter \"" + param + "\"");
}

std::optional<DenseTensor> read_optional(const spec::Operation& op, const std::string& param,
                                         const ConstContext& context) {
  if (!mil::param_value(op, param)) return std::nullopt;
  return read_param(op, param, context);
}

// The blob file the op's payloads live in; new payloads go there too.
std::string blob_file_of(const spec::Operation& op) {
  std::string file;
  for (const auto& [name, argument] : op.inputs())
    for (const auto& binding : argument.arguments())
      if (binding.has_value() && binding.value().has_blobfilevalue()) {
        const std::string& f = binding.value().blobfilevalue().filename();
        if (file.empty() || f < file) file = f;
      }
  return file.empty() ? kDefaultBlobFile : file;
}

int float_dtype(const DenseTensor& t) { return mil_dtype_of(t.type); }

std::vector<std::byte> select_masked(const DenseTensor& values, const std::vector<uint8_t>& mask) {
  const size_t width = compress::elem_bytes(values.type);
  std::vector<std::byte> out;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i])
      out.insert(out.end(), values.data.begin() + long(i * width),
                 values.data.begin() + long((i + 1) * width));
  return out;
}

std::vector<uint8_t> mask_of(const DenseTensor& mask) {
  std::vector<uint8_t> out(mask.count());
  for (uint64_t i = 0; i < mask.count(); ++i) out[i] = mask.as_int(i) != 0;
  return out;
}

// A float DenseTensor viewed as the kernels' input (values copied into `fp16` / `fp32`).
compress::TensorView float_view(const DenseTensor& t, std::vector<uint16_t>& fp16,
                                std::vector<float>& fp32) {
  if (t.type == ElemType::kFp16) {
    fp16.resize(t.count());
    std::memcpy(fp16.data(), t.data.data(), t.data.size());
    return compress::TensorView::fp16(fp16, t.dims);
  }
  if (t.type != ElemType::kFp32) throw std::invalid_argument("float_view: not a float tensor");
  fp32.resize(t.count());
  std::memcpy(fp32.data(), t.data.data(), t.data.size());
  return compress::TensorView::fp32(fp32, t.dims);
}

std::vector<float> floats_of(const DenseTensor& t) {
  std::vector<float> out(t.count());
  for (uint64_t i = 0; i < t.count(); ++i) out[i] = t.as_float(i);
  return out;
}

DenseTensor from_bytes(ElemType type, std::vector<uint64_t> dims, std::vector<std::byte> data) {
  DenseTensor t;
  t.type = type;
  t.dims = std::move(dims);
  t.data = std::move(data);
  return t;
}

// A two-output sparse op (lut_to_sparse, sparse_blockwise_shift_scale) and the
// sparse_to_dense reading both of its outputs.
void add_sparse_outputs(spec::Operation& op, const std::string& name,
                        std::span<const uint64_t> dims, int dtype, uint64_t nonzeros) {
  add_output(op, name + "_0", spec::UINT1, dims);
  const std::vector<uint64_t> nz_dims = {nonzeros};
  add_output(op, name + "_1", dtype, nz_dims);
}

spec::Operation sparse_to_dense_of(const std::string& name, const std::string& producer, int dtype,
                                   std::span<const uint64_t> dims) {
  spec::Operation op = new_op("constexpr_sparse_to_dense", name);
  bind_input(op, "mask", producer + "_0");
  bind_input(op, "nonzero_data", producer + "_1");
  add_output(op, name, dtype, dims);
  return op;
}

// Every value of an op kept as it is carried to the output.
spec::Operation kept(spec::Operation op, const ConstContext& context) {
  for (auto& [param, argument] : *op.mutable_inputs())
    for (auto& binding : *argument.mutable_arguments())
      if (binding.has_value())
        context.relocator->relocate(*binding.mutable_value(),
                                    context.where + ", parameter \"" + param + "\"");
  return op;
}

// Bytes of every tensor the chain's ops hold (new payloads and carried ones): what the
// compressed weight takes, as a report's stored_bytes.
uint64_t chain_bytes(const Replacement& ops) {
  uint64_t total = 0;
  for (const auto& op : ops) {
    for (const auto& [param, argument] : op.inputs()) {
      for (const auto& binding : argument.arguments()) {
        if (!binding.has_value() || !binding.value().type().has_tensortype()) continue;
        const auto& type = binding.value().type().tensortype();
        uint64_t count = 1;
        for (const auto& dim : type.dimensions()) count *= dim.constant().size();
        total += (count * uint64_t(mil::dtype_bits(type.datatype()).value_or(0)) + 7) / 8;
      }
    }
  }
  return total;
}

// A joint chain is reported by its whole size (carried masks, scales and LUTs included) and by
// the op that holds its new payload, which is not always the chain's last op.
void record_chain(WeightOutcome& outcome, const Replacement& ops, const std::string& op_type,
                  const compress::ErrorMetrics& metrics) {
  record_compressed(outcome, ops, chain_bytes(ops), metrics);
  outcome.op_type = op_type;
}

bool is_integer(const DenseTensor& t) {
  return t.type == ElemType::kInt8 || t.type == ElemType::kUint8;
}

// coremltools' linear quantization of an int8/uint8 payload (the nonzero values of a pruned
// integer const, or an integer LUT): skipped as a mask, or it fails.
std::nullopt_t integer_payload_not_quantized(const DenseTensor& payload, const std::string& param,
                                             const ConstContext& context, WeightOutcome& outcome) {
  const std::string dtype = mil::dtype_name(mil_dtype_of(payload.type));
  if (integer_values_are_mask(payload.data, payload.type == ElemType::kInt8)) {
    outcome.reason = "its " + param + " holds " + dtype + " values whose max - min (in numpy's " +
                     dtype +
                     " arithmetic) is below 2: coremltools takes them for a mask and skips them";
    return std::nullopt;
  }
  throw Error(context.where +
              ": Only floating numpy arrays are supported. coremltools cannot "
              "linearly quantize the " +
              dtype + " " + param +
              " of this weight; exclude it with "
              "op_name_configs[\"" +
              outcome.op_name + "\"]: null");
}

// ---- prune -> palettize ----------------------------------------------------------------------

std::optional<Replacement> pruned_then_palettized(const spec::Operation& head,
                                                  const config::OpPalettizerConfig& config,
                                                  const config::ChannelAxes& axes,
                                                  bool nonzero_only, const ConstContext& context,
                                                  WeightOutcome& outcome) {
  const DenseTensor mask = read_param(head, "mask", context);
  const DenseTensor dense =
      compress::sparse_to_dense(read_param(head, "nonzero_data", context), mask);
  const bool integer = is_integer(dense);
  std::vector<uint16_t> fp16;
  std::vector<float> fp32;
  if (integer) fp32 = floats_of(dense);
  const compress::TensorView view =
      integer ? compress::TensorView::fp32(fp32, dense.dims) : float_view(dense, fp16, fp32);
  const std::vector<uint8_t> keep = mask_of(mask);
  compress::PalettizeSpec kernel = palettize_kernel_spec(config, axes, dense.dims.size());
  if (nonzero_only) kernel.fit_mask = &keep;
  // A pruned int8/uint8 const: coremltools casts the dense table (zeros included) to int32,
  // clusters it, and stores the LUT truncated to the table's dtype.
  std::variant<compress::PalettizeResult, compress::PaletteSkip> palettized;
  std::vector<uint8_t> int_lut;
  if (integer) {
    std::variant<compress::IntCodePalette, compress::PaletteSkip> by_int;
    try {
      by_int = compress::palettize_int_codes(
          std::span(reinterpret_cast<const uint8_t*>(dense.data.data()), dense.data.size()),
          dense.type == ElemType::kInt8, dense.dims, kernel, compress::IntArithmetic::kInt32);
    } catch (const compress::IntPaletteError& e) {
      throw Error(context.where + ": " + e.what());
    }
    if (auto* skip = std::get_if<compress::PaletteSkip>(&by_int)) {
      palettized = *skip;
    } else {
      auto& palette = std::get<compress::IntCodePalette>(by_int);
      int_lut = std::move(palette.lut_bytes);
      palettized = std::move(palette.result);
    }
  } else {
    palettized = compress::palettize(view, kernel);
  }
  if (auto* skip = std::get_if<compress::PaletteSkip>(&palettized)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& r = std::get<compress::PalettizeResult>(palettized);
  const std::string file = blob_file_of(head);
  PayloadSink payloads(context, file);
  const mil::BlobAppender append = payloads.appender();
  const std::string name_stem = mil::op_name(head);
  const std::string name = context.unique_name(name_stem + "_nonzero_data_0_palettized");
  const int dtype = mil_dtype_of(dense.type);

  std::vector<uint8_t> kept_indices;
  std::vector<float> decoded(keep.size(), 0.0f);
  const std::vector<float> depalettized = compress::depalettize(r);
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) continue;
    kept_indices.push_back(r.indices[i]);
    decoded[i] = depalettized[i];
  }
  spec::Operation lut_op = new_op("constexpr_lut_to_sparse", name);
  add_input(lut_op, "indices_mask", carried(head, "mask", context));
  const std::vector<uint64_t> nz_dims = {kept_indices.size()};
  add_input(lut_op, "indices_nonzero_data",
            mil::tensor_value(palette_indices_dtype(r.nbits), nz_dims,
                              std::as_bytes(std::span(kept_indices)), file, append));
  add_input(lut_op, "lut",
            integer ? mil::tensor_value(dtype, r.lut_shape, std::as_bytes(std::span(int_lut)), file,
                                        append)
                    : mil::tensor_value(dtype, r.lut_shape, float_bytes(r.lut_fp16, r.lut_fp32),
                                        file, append));
  add_sparse_outputs(lut_op, name, dense.dims, dtype, kept_indices.size());

  Replacement ops;
  ops.push_back(std::move(lut_op));
  ops.push_back(sparse_to_dense_of(name_stem, name, dtype, dense.dims));
  record_chain(outcome, ops, "constexpr_lut_to_sparse",
               compress::compute_error_metrics(view, decoded));
  return ops;
}

// ---- quantize -> palettize (the int codes) ---------------------------------------------------

std::optional<Replacement> quantized_then_palettized(const spec::Operation& head,
                                                     const config::OpPalettizerConfig& config,
                                                     const config::ChannelAxes& axes,
                                                     const ConstContext& context,
                                                     WeightOutcome& outcome) {
  const DenseTensor codes = read_param(head, "data", context);
  const DenseTensor scale = read_param(head, "scale", context);
  const std::optional<DenseTensor> offset = read_optional(head, "offset", context);
  // coremltools clusters the codes as int32 numbers and truncates the centroids to the
  // codes' type (compress::palettize_int_codes, shared with int8/uint8 consts).
  const bool is_signed = codes.type == ElemType::kInt8;
  std::variant<compress::IntCodePalette, compress::PaletteSkip> palettized;
  try {
    palettized = compress::palettize_int_codes(
        std::span(reinterpret_cast<const uint8_t*>(codes.data.data()), codes.data.size()),
        is_signed, codes.dims, palettize_kernel_spec(config, axes, codes.dims.size()),
        compress::IntArithmetic::kInt32);
  } catch (const compress::IntPaletteError& e) {
    throw Error(context.where + ": " + e.what());
  }
  if (auto* skip = std::get_if<compress::PaletteSkip>(&palettized)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& int_palette = std::get<compress::IntCodePalette>(palettized);
  const compress::PalettizeResult& r = int_palette.result;
  const uint64_t entries = uint64_t{1} << r.nbits;
  const std::vector<int8_t> lut(int_palette.lut_bytes.begin(), int_palette.lut_bytes.end());
  const int lut_dtype = is_signed ? spec::INT8 : spec::UINT8;
  const ElemType lut_type = is_signed ? ElemType::kInt8 : ElemType::kUint8;
  const DenseTensor decoded_before =
      compress::blockwise_shift_scale(codes, scale, offset ? &*offset : nullptr);
  const DenseTensor lut_tensor =
      from_bytes(lut_type, r.lut_shape,
                 std::vector<std::byte>(std::as_bytes(std::span(lut)).begin(),
                                        std::as_bytes(std::span(lut)).end()));
  const DenseTensor indices_tensor =
      from_bytes(elem_type_of(palette_indices_dtype(r.nbits)).value(), r.indices_shape,
                 std::vector<std::byte>(std::as_bytes(std::span(r.indices)).begin(),
                                        std::as_bytes(std::span(r.indices)).end()));
  const DenseTensor decoded_after = compress::blockwise_shift_scale(
      compress::lut_to_dense(indices_tensor, lut_tensor, r.vector_axis), scale,
      offset ? &*offset : nullptr);

  const std::string file = blob_file_of(head);
  PayloadSink payloads(context, file);
  const mil::BlobAppender append = payloads.appender();
  const std::string head_name = mil::op_name(head);
  const std::string lut_name = context.unique_name(head_name + "_data_0_palettized");
  const int dtype = float_dtype(scale);
  const size_t rank = codes.dims.size();

  // coremltools saves LUT -> shift_scale as shift_scale(LUT) -> lut_to_dense (its
  // canonicalize_quantized_lut_pattern, iOS18-25), repeating the LUT to the scale's grid; when
  // the grid does not divide, it keeps the first order. For CoreML9 (iOS26) the first order is
  // the canonical one.
  std::vector<uint64_t> grid(rank + 2);
  bool canonical = context.opset_version < 9;
  for (size_t d = 0; d < rank; ++d) {
    const uint64_t s = scale.dims[d], l = r.lut_shape[d];
    if (s > l && s % l != 0) canonical = false;
    grid[d] = std::max(s, l);
  }
  grid[rank] = r.lut_shape[rank];
  grid[rank + 1] = r.lut_shape[rank + 1];
  if (r.cluster_dim > 1 && canonical) {
    // coremltools vector-palettizes the codes, then fails saving the model: its
    // canonicalize_quantized_lut_pattern (iOS18-25) moves the scale onto the LUT and drops the
    // vector axis (per-tensor scale), or repeats the LUT per scale row past the halved indices.
    throw Error(context.where +
                ": palettizing quantized codes into vectors (cluster_dim > 1) is not supported "
                "before iOS26 (coremltools fails saving the result: the LUT's vector axis is lost "
                "when the quantization scale moves onto it); palettize with cluster_dim 1, or "
                "vector-palettize before quantizing");
  }
  Replacement ops;
  if (canonical) {
    const uint64_t cells = compress::element_count(std::span(grid).first(rank));
    std::vector<int8_t> repeated(cells * entries);
    for (uint64_t cell = 0; cell < cells; ++cell) {
      uint64_t rest = cell, src = 0, stride = 1;
      std::vector<uint64_t> coord(rank);
      for (size_t d = rank; d-- > 0;) {
        coord[d] = rest % grid[d];
        rest /= grid[d];
      }
      for (size_t d = rank; d-- > 0;) {
        src += coord[d] * r.lut_shape[d] / grid[d] * stride;
        stride *= r.lut_shape[d];
      }
      for (uint64_t e = 0; e < entries; ++e) repeated[cell * entries + e] = lut[src * entries + e];
    }
    std::vector<uint64_t> param_dims = scale.dims;
    param_dims.push_back(1);
    param_dims.push_back(1);
    spec::Operation scaled = new_op("constexpr_blockwise_shift_scale", lut_name);
    add_input(scaled, "data",
              mil::tensor_value(lut_dtype, grid, std::as_bytes(std::span(repeated)), file, append));
    add_input(scaled, "scale", mil::tensor_value(dtype, param_dims, scale.data, file, append));
    if (offset) {
      add_input(
          scaled, "offset",
          mil::tensor_value(mil_dtype_of(offset->type), param_dims, offset->data, file, append));
    }
    add_output(scaled, lut_name, dtype, grid);
    spec::Operation dense = new_op("constexpr_lut_to_dense", head_name);
    add_input(dense, "indices",
              mil::tensor_value(palette_indices_dtype(r.nbits), codes.dims,
                                std::as_bytes(std::span(r.indices)), file, append));
    bind_input(dense, "lut", lut_name);
    add_output(dense, head_name, dtype, codes.dims);
    ops.push_back(std::move(scaled));
    ops.push_back(std::move(dense));
  } else {
    spec::Operation palette = new_op("constexpr_lut_to_dense", lut_name);
    add_input(palette, "indices",
              mil::tensor_value(palette_indices_dtype(r.nbits), r.indices_shape,
                                std::as_bytes(std::span(r.indices)), file, append));
    add_input(
        palette, "lut",
        mil::tensor_value(lut_dtype, r.lut_shape, std::as_bytes(std::span(lut)), file, append));
    if (r.vector_axis) {
      add_input(palette, "vector_axis", mil::int32_scalar_value(int32_t(*r.vector_axis)));
    }
    add_output(palette, lut_name, lut_dtype, codes.dims);
    spec::Operation dequant = new_op("constexpr_blockwise_shift_scale", head_name);
    bind_input(dequant, "data", lut_name);
    add_input(dequant, "scale", carried(head, "scale", context));
    if (offset) add_input(dequant, "offset", carried(head, "offset", context));
    add_output(dequant, head_name, dtype, codes.dims);
    ops.push_back(std::move(palette));
    ops.push_back(std::move(dequant));
  }
  std::vector<uint16_t> fp16;
  std::vector<float> fp32;
  const compress::TensorView before = float_view(decoded_before, fp16, fp32);
  record_chain(outcome, ops, "constexpr_lut_to_dense",
               compress::compute_error_metrics(before, floats_of(decoded_after)));
  return ops;
}

// ---- palettize -> quantize the LUT -----------------------------------------------------------

std::vector<uint64_t> output_dims(const spec::Operation& op) {
  std::vector<uint64_t> dims;
  for (const auto& d : op.outputs(0).type().tensortype().dimensions())
    dims.push_back(d.constant().size());
  return dims;
}

// For CoreML9 programs coremltools 9.0 (canonicalize_quantized_lut_pattern) saves a quantized
// LUT the other way round: the integer LUT is looked up first, then the integers are scaled,
// with the LUT's per-tensor scale and offset reshaped to their last two dims, [1, 1]. That op is
// valid on rank-2 weights only, the new lookup drops vector_axis, and it takes no 4-bit LUT:
// coremltools fails saving the model otherwise, so mlpress refuses those (nothing is written).
void check_lut_quantizable_coreml9(const spec::Operation& lut_op,
                                   const config::OpLinearQuantizerConfig& config,
                                   const ConstContext& context) {
  if (config.nbits() < 8) {
    // The looked-up LUT would be int4/uint4, which constexpr_lut_to_dense does not take.
    throw Error(context.where + ": quantizing a LUT to " + std::to_string(config.nbits()) +
                " bits is not supported for iOS26 (coremltools fails saving it: its reordered "
                "constexpr_lut_to_dense would take an int4/uint4 LUT); use int8 or uint8, or "
                "target iOS18");
  }
  if (mil::param_value(lut_op, "vector_axis")) {
    throw Error(context.where +
                ": quantizing the LUT of a vector-palettized weight (cluster_dim > 1) is not "
                "supported for iOS26 (coremltools fails saving it: When lut's last dim "
                "(VECTOR_SIZE) > 1, the parameter 'vector_axis' need to be provided); exclude "
                "this weight, or target iOS18");
  }
  const size_t rank = output_dims(lut_op).size();
  if (rank != 2) {
    throw Error(context.where + ": quantizing the LUT of a palettized weight of rank " +
                std::to_string(rank) +
                " is not supported for iOS26 (coremltools fails saving it: Parameter 'data' and "
                "'scale' need to have the same rank, but got " +
                std::to_string(rank) +
                " vs 2); only rank-2 weights' LUTs can be quantized there. Exclude this weight, "
                "or target iOS18");
  }
}

Replacement lut_codes_then_scaled(const compress::LinearQuantResult& result,
                                  const spec::Operation& lut_op, const std::string& codes_name,
                                  int float_dtype, const std::string& file,
                                  const mil::BlobAppender& append, const ConstContext& context) {
  const std::string dense_name = mil::op_name(lut_op);
  const std::vector<uint64_t> dims = output_dims(lut_op);
  const int code_dtype = quantized_data_dtype(result.dtype);
  spec::Operation lookup = new_op("constexpr_lut_to_dense", codes_name);
  add_input(lookup, "indices", carried(lut_op, "indices", context));
  add_input(lookup, "lut",
            mil::tensor_value(code_dtype, result.shape, std::as_bytes(std::span(result.codes)),
                              file, append));
  add_output(lookup, codes_name, code_dtype, dims);
  ShiftScaleParams params = shift_scale_params(result, float_dtype, file, append);
  const std::vector<uint64_t> last_two = {1, 1};
  mil::set_tensor_type(params.scale.mutable_type(), float_dtype, last_two);
  spec::Operation scaled = new_op("constexpr_blockwise_shift_scale", dense_name);
  bind_input(scaled, "data", codes_name);
  add_input(scaled, "scale", std::move(params.scale));
  if (params.offset) {
    mil::set_tensor_type(params.offset->mutable_type(), code_dtype, last_two);
    add_input(scaled, "offset", std::move(*params.offset));
  }
  add_output(scaled, dense_name, float_dtype, dims);
  Replacement ops;
  ops.push_back(std::move(lookup));
  ops.push_back(std::move(scaled));
  return ops;
}

std::optional<Replacement> lut_quantized(std::vector<spec::Operation>& chain,
                                         const spec::Operation& head,
                                         const config::OpLinearQuantizerConfig& config,
                                         const ConstContext& context, WeightOutcome& outcome) {
  // The LUT's op: the head, the lut_to_sparse feeding a sparse_to_dense head, or the
  // lut_to_dense feeding a per-channel scale (CoreML9's order).
  const bool sparse = head.type() == "constexpr_sparse_to_dense";
  const bool scaled = head.type() == "constexpr_blockwise_shift_scale";
  const spec::Operation& lut_op = sparse || scaled ? chain.back() : head;
  const DenseTensor lut = read_param(lut_op, "lut", context);
  if (is_integer(lut)) return integer_payload_not_quantized(lut, "lut", context, outcome);
  const bool lookup_first = !sparse && context.opset_version >= 9;
  if (lookup_first) check_lut_quantizable_coreml9(lut_op, config, context);
  std::vector<uint16_t> fp16;
  std::vector<float> fp32;
  const compress::TensorView view = float_view(lut, fp16, fp32);
  // per_tensor (plan_joint refuses the rest): one block, whatever the axes.
  const config::ChannelAxes axes{0, 1};
  auto quant_spec = linear_quant_spec(config, axes, lut.dims);
  if (auto* skip = std::get_if<compress::QuantSkip>(&quant_spec)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  auto quantized = compress::quantize_linear(view, std::get<compress::LinearQuantSpec>(quant_spec));
  if (auto* skip = std::get_if<compress::QuantSkip>(&quantized)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& result = std::get<compress::LinearQuantResult>(quantized);
  const std::string file = blob_file_of(lut_op);
  PayloadSink payloads(context, file);
  const std::string lut_op_name = mil::op_name(lut_op);
  const std::string name = context.unique_name(lut_op_name + "_lut_0_quantized");
  mil::TensorShape lut_shape;
  lut_shape.dtype = float_dtype(lut);
  lut_shape.dims = lut.dims;
  Replacement ops;
  if (lookup_first) {
    ops = lut_codes_then_scaled(result, lut_op, name, lut_shape.dtype, file, payloads.appender(),
                                context);
    if (scaled) ops.push_back(kept(head, context));
  } else {
    ops.push_back(quantized_op(result, lut_shape, name, 8, file, payloads.appender()));
    spec::Operation new_lut_op = lut_op;
    bind_input(new_lut_op, "lut", name);
    ops.push_back(kept(std::move(new_lut_op), context));
    if (sparse || scaled) ops.push_back(kept(head, context));
  }
  record_chain(outcome, ops, "constexpr_blockwise_shift_scale",
               compress::compute_error_metrics(view, compress::dequantize_linear(result)));
  return ops;
}

// ---- prune -> quantize -----------------------------------------------------------------------

std::optional<Replacement> pruned_then_quantized(const spec::Operation& head,
                                                 const config::OpLinearQuantizerConfig& config,
                                                 const config::ChannelAxes& axes,
                                                 const ConstContext& context,
                                                 WeightOutcome& outcome) {
  const DenseTensor mask = read_param(head, "mask", context);
  const DenseTensor nonzero = read_param(head, "nonzero_data", context);
  if (is_integer(nonzero))
    return integer_payload_not_quantized(nonzero, "nonzero_data", context, outcome);
  const DenseTensor dense = compress::sparse_to_dense(nonzero, mask);
  std::vector<uint16_t> fp16;
  std::vector<float> fp32;
  const compress::TensorView view = float_view(dense, fp16, fp32);
  auto quant_spec = linear_quant_spec(config, axes, dense.dims);
  if (auto* skip = std::get_if<compress::QuantSkip>(&quant_spec)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  auto quantized = compress::quantize_linear(view, std::get<compress::LinearQuantSpec>(quant_spec));
  if (auto* skip = std::get_if<compress::QuantSkip>(&quantized)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& result = std::get<compress::LinearQuantResult>(quantized);
  const std::vector<uint8_t> keep = mask_of(mask);
  std::vector<uint8_t> codes;
  const std::vector<float> dequantized = compress::dequantize_linear(result);
  std::vector<float> decoded(keep.size(), 0.0f);
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) continue;
    codes.push_back(result.codes[i]);
    decoded[i] = dequantized[i];
  }
  const std::string file = blob_file_of(head);
  PayloadSink payloads(context, file);
  const mil::BlobAppender append = payloads.appender();
  const std::string head_name = mil::op_name(head);
  const std::string name = context.unique_name(head_name + "_nonzero_data_0_quantized");
  const int dtype = float_dtype(dense);
  spec::Operation op = new_op("constexpr_sparse_blockwise_shift_scale", name);
  add_input(op, "data_mask", carried(head, "mask", context));
  const std::vector<uint64_t> nz_dims = {codes.size()};
  add_input(op, "nonzero_data",
            mil::tensor_value(quantized_data_dtype(result.dtype), nz_dims,
                              std::as_bytes(std::span(codes)), file, append));
  ShiftScaleParams params = shift_scale_params(result, dtype, file, append);
  add_input(op, "scale", std::move(params.scale));
  if (params.offset) add_input(op, "offset", std::move(*params.offset));
  add_sparse_outputs(op, name, dense.dims, dtype, codes.size());
  // The sparse_to_dense keeps its own mask and reads the dequantized nonzero values.
  spec::Operation dense_op = new_op("constexpr_sparse_to_dense", head_name);
  add_input(dense_op, "mask", carried(head, "mask", context));
  bind_input(dense_op, "nonzero_data", name + "_1");
  add_output(dense_op, head_name, dtype, dense.dims);
  Replacement ops;
  ops.push_back(std::move(op));
  ops.push_back(std::move(dense_op));
  record_chain(outcome, ops, "constexpr_sparse_blockwise_shift_scale",
               compress::compute_error_metrics(view, decoded));
  return ops;
}

// ---- quantize / palettize -> prune -----------------------------------------------------------

std::variant<compress::PruneResult, compress::PruneSkip> prune_view(
    const compress::TensorView& view, const config::OpConfig& config) {
  if (const auto* threshold = std::get_if<config::OpThresholdPrunerConfig>(&config)) {
    return compress::prune_threshold(
        view, {threshold->threshold, threshold->minimum_sparsity_percentile});
  }
  const auto& magnitude = std::get<config::OpMagnitudePrunerConfig>(config);
  return compress::prune_magnitude(
      view, {magnitude.target_sparsity, magnitude.block_size, magnitude.n_m_ratio, magnitude.dim});
}

// What the chain keeps of a pruned decoded weight.
struct PrunedMask {
  std::vector<uint8_t> mask;  // one 0/1 byte per element
  uint64_t nonzero_count = 0;
  compress::ErrorMetrics error;
};

// The decoded weight pruned: float weights by the float pruners, an int8/uint8 palettized
// weight (an integer LUT) by prune_int's integer semantics, as coremltools prunes its values.
std::variant<PrunedMask, compress::PruneSkip> prune_decoded(const DenseTensor& decoded,
                                                            const config::OpConfig& config) {
  if (decoded.type == ElemType::kInt8 || decoded.type == ElemType::kUint8) {
    const auto bytes =
        std::span(reinterpret_cast<const uint8_t*>(decoded.data.data()), decoded.data.size());
    const bool is_signed = decoded.type == ElemType::kInt8;
    std::variant<compress::IntPruneResult, compress::PruneSkip> r;
    if (const auto* threshold = std::get_if<config::OpThresholdPrunerConfig>(&config)) {
      r = compress::prune_threshold_int(
          bytes, is_signed, decoded.dims,
          {threshold->threshold, threshold->minimum_sparsity_percentile});
    } else {
      const auto& magnitude = std::get<config::OpMagnitudePrunerConfig>(config);
      r = compress::prune_magnitude_int(
          bytes, is_signed, decoded.dims,
          {magnitude.target_sparsity, magnitude.block_size, magnitude.n_m_ratio, magnitude.dim});
    }
    if (auto* skip = std::get_if<compress::PruneSkip>(&r)) return *skip;
    auto& result = std::get<compress::IntPruneResult>(r);
    return PrunedMask{std::move(result.mask), result.nonzero_count, result.error};
  }
  std::vector<uint16_t> fp16;
  std::vector<float> fp32;
  auto r = prune_view(float_view(decoded, fp16, fp32), config);
  if (auto* skip = std::get_if<compress::PruneSkip>(&r)) return *skip;
  auto& result = std::get<compress::PruneResult>(r);
  return PrunedMask{std::move(result.mask), result.nonzero_count, result.error};
}

std::optional<Replacement> compressed_then_pruned(std::vector<spec::Operation>& chain,
                                                  const spec::Operation& head,
                                                  const config::OpConfig& config,
                                                  const ConstContext& context,
                                                  WeightOutcome& outcome) {
  const bool quantized = head.type() == "constexpr_blockwise_shift_scale";
  // The decoded weight coremltools prunes.
  DenseTensor decoded;
  if (quantized) {
    const std::optional<DenseTensor> offset = read_optional(head, "offset", context);
    decoded = compress::blockwise_shift_scale(read_param(head, "data", context),
                                              read_param(head, "scale", context),
                                              offset ? &*offset : nullptr);
  } else {
    DenseTensor lut;
    if (mil::param_value(head, "lut")) {
      lut = read_param(head, "lut", context);
    } else {
      const spec::Operation& scaled = chain.back();  // shift_scale(lut)
      const std::optional<DenseTensor> offset = read_optional(scaled, "offset", context);
      lut = compress::blockwise_shift_scale(read_param(scaled, "data", context),
                                            read_param(scaled, "scale", context),
                                            offset ? &*offset : nullptr);
    }
    decoded = compress::lut_to_dense(read_param(head, "indices", context), lut, std::nullopt);
  }
  auto pruned = prune_decoded(decoded, config);
  if (auto* skip = std::get_if<compress::PruneSkip>(&pruned)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& result = std::get<PrunedMask>(pruned);
  const DenseTensor payload = read_param(head, quantized ? "data" : "indices", context);
  const int payload_dtype =
      mil::param_value(head, quantized ? "data" : "indices")->type().tensortype().datatype();
  const std::vector<std::byte> kept_payload = select_masked(payload, result.mask);
  const std::string file = blob_file_of(head);
  PayloadSink payloads(context, file);
  const mil::BlobAppender append = payloads.appender();
  const int dtype = float_dtype(decoded);
  const std::string type =
      quantized ? "constexpr_sparse_blockwise_shift_scale" : "constexpr_lut_to_sparse";
  const std::string name = context.auto_name(type);
  spec::Operation op = new_op(type, name);
  add_input(op, quantized ? "data_mask" : "indices_mask",
            mil::tensor_value(spec::UINT1, decoded.dims, std::as_bytes(std::span(result.mask)),
                              file, append));
  const std::vector<uint64_t> nz_dims = {result.nonzero_count};
  add_input(op, quantized ? "nonzero_data" : "indices_nonzero_data",
            mil::tensor_value(payload_dtype, nz_dims, kept_payload, file, append));
  Replacement ops;
  if (quantized) {
    add_input(op, "scale", carried(head, "scale", context));
    if (mil::param_value(head, "offset")) add_input(op, "offset", carried(head, "offset", context));
  } else if (mil::param_value(head, "lut")) {
    add_input(op, "lut", carried(head, "lut", context));
  } else {
    for (auto& kept_op : chain) ops.push_back(kept(std::move(kept_op), context));
    bind_input(op, "lut", mil::param_binding_name(head, "lut"));
  }
  add_sparse_outputs(op, name, decoded.dims, dtype, result.nonzero_count);
  ops.push_back(std::move(op));
  ops.push_back(sparse_to_dense_of(context.unique_name(mil::op_name(head) + "_sparsified"), name,
                                   dtype, decoded.dims));
  record_chain(outcome, ops, type, result.error);
  return ops;
}

}  // namespace

std::optional<Replacement> joint_const(JointKind kind, std::vector<spec::Operation>& chain,
                                       const spec::Operation& head, const config::OpConfig& config,
                                       const config::ChannelAxes& axes, bool nonzero_only,
                                       const ConstContext& context, WeightOutcome& outcome) {
  switch (kind) {
    case JointKind::kPrunedThenPalettized:
      return pruned_then_palettized(head, std::get<config::OpPalettizerConfig>(config), axes,
                                    nonzero_only, context, outcome);
    case JointKind::kQuantizedThenPalettized:
      return quantized_then_palettized(head, std::get<config::OpPalettizerConfig>(config), axes,
                                       context, outcome);
    case JointKind::kLutQuantized:
      return lut_quantized(chain, head, std::get<config::OpLinearQuantizerConfig>(config), context,
                           outcome);
    case JointKind::kPrunedThenQuantized:
      return pruned_then_quantized(head, std::get<config::OpLinearQuantizerConfig>(config), axes,
                                   context, outcome);
    case JointKind::kQuantizedThenPruned:
    case JointKind::kPalettizedThenPruned:
      return compressed_then_pruned(chain, head, config, context, outcome);
  }
  return std::nullopt;
}

}  // namespace mlpress::rewrite
