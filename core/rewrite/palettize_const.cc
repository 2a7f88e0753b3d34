#include "core/rewrite/palettize_const.h"

#include "core/blob/blob_format.h"
#include "core/blob/subbyte.h"
#include "core/compress/palettize.h"
#include "core/compress/palettize_int_codes.h"
#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/mil/tensor_builder.h"
#include "core/rewrite/const_tensor.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

namespace {

const std::string kAdvice =
    " Please re-convert your model with minimum_deployment_target set to at least "
    "ct.target.iOS18.";

int indices_dtype(int nbits) {
  switch (nbits) {
    case 1:
      return spec::UINT1;
    case 2:
      return spec::UINT2;
    case 3:
      return spec::UINT3;
    case 4:
      return spec::UINT4;
    case 6:
      return spec::UINT6;
    default:
      return spec::UINT8;
  }
}

compress::PalettizeSpec kernel_spec(const config::OpPalettizerConfig& config, size_t channel_axis) {
  compress::PalettizeSpec s;
  s.mode = config.mode == "UNIFORM"  ? compress::PaletteMode::kUniform
           : config.mode == "UNIQUE" ? compress::PaletteMode::kUnique
                                     : compress::PaletteMode::kKmeans;
  s.nbits = static_cast<int>(config.nbits.value_or(8));
  s.granularity = config.granularity == config::Granularity::per_grouped_channel
                      ? compress::PaletteGranularity::kPerGroupedChannel
                      : compress::PaletteGranularity::kPerTensor;
  s.group_size = static_cast<uint64_t>(std::max<int64_t>(config.group_size, 0));
  s.channel_axis = channel_axis;
  s.cluster_dim = static_cast<uint64_t>(config.cluster_dim);
  s.per_channel_scale = config.enable_per_channel_scale;
  return s;
}

void add_input(spec::Operation& op, const std::string& param, spec::Value value) {
  *(*op.mutable_inputs())[param].add_arguments()->mutable_value() = std::move(value);
}

spec::Operation new_op(const std::string& type, const std::string& name, int dtype,
                       std::span<const uint64_t> dims) {
  spec::Operation op;
  op.set_type(type);
  (*op.mutable_attributes())["name"] = mil::string_scalar_value(name);
  auto* output = op.add_outputs();
  output->set_name(name);
  mil::set_tensor_type(output->mutable_type(), dtype, dims);
  return op;
}

// iOS16: one flat palette, indices packed by hand into a uint8 stream, the shape as uint32.
spec::Operation lut_to_dense_ios16(const compress::PalettizeResult& r,
                                   const mil::TensorShape& weight, const std::string& name,
                                   const std::string& file, const mil::BlobAppender& append,
                                   const std::vector<std::byte>& lut_bytes) {
  spec::Operation op = new_op("constexpr_lut_to_dense", name, weight.dtype, weight.dims);
  auto& attributes = *op.mutable_attributes();
  std::vector<uint8_t> packed(blob::packed_size_in_bytes(r.indices.size(), r.nbits));
  blob::pack_bits(r.indices, r.nbits, packed);
  const std::vector<uint64_t> packed_dims = {packed.size()};
  attributes["indices"] =
      mil::tensor_value(spec::UINT8, packed_dims, std::as_bytes(std::span(packed)), file, append);
  const std::vector<uint64_t> lut_dims = {uint64_t{1} << r.nbits};
  attributes["lut"] = mil::tensor_value(weight.dtype, lut_dims, lut_bytes, file, append);
  std::vector<uint32_t> shape(weight.dims.begin(), weight.dims.end());
  const std::vector<uint64_t> shape_dims = {shape.size()};
  attributes["shape"] =
      mil::tensor_value(spec::UINT32, shape_dims, std::as_bytes(std::span(shape)), file, append);
  return op;
}

// iOS18: uint<n> indices in the weight's shape, a LUT of rank r+2; `lut_binding` names a
// producer of the LUT (per-channel scale, pattern 1) instead of giving it as a value.
spec::Operation lut_to_dense_ios18(const compress::PalettizeResult& r,
                                   const mil::TensorShape& weight, const std::string& name,
                                   const std::string& file, const mil::BlobAppender& append,
                                   const std::string& lut_binding,
                                   const std::vector<std::byte>& lut_bytes) {
  spec::Operation op = new_op("constexpr_lut_to_dense", name, weight.dtype, weight.dims);
  add_input(op, "indices",
            mil::tensor_value(indices_dtype(r.nbits), r.indices_shape,
                              std::as_bytes(std::span(r.indices)), file, append));
  if (lut_binding.empty()) {
    add_input(op, "lut", mil::tensor_value(weight.dtype, r.lut_shape, lut_bytes, file, append));
  } else {
    (*op.mutable_inputs())["lut"].add_arguments()->set_name(lut_binding);
  }
  if (r.vector_axis) add_input(op, "vector_axis", mil::int32_scalar_value(int32_t(*r.vector_axis)));
  return op;
}

// Per-channel scale, CoreML8 canonical order (FORMAT.md §6.10, pattern 1): the LUT repeated
// to the scale's grid is scaled first, then looked up.
Replacement scaled_lut_pattern(const compress::PalettizeResult& r, const mil::TensorShape& weight,
                               const ConstContext& context, const std::string& file,
                               const mil::BlobAppender& append) {
  const auto& scale = *r.per_channel_scale;
  const size_t rank = weight.dims.size();
  // Grid of the repeated LUT: per axis the larger of the LUT's groups and the scale's extent.
  std::vector<uint64_t> grid(rank);
  for (size_t d = 0; d < rank; ++d) grid[d] = std::max(r.lut_shape[d], scale.shape[d]);
  const uint64_t entries = r.lut_shape[rank] * r.lut_shape[rank + 1];
  uint64_t cells = 1;
  for (uint64_t g : grid) cells *= g;
  const bool fp16 = !r.lut_fp16.empty();
  std::vector<uint16_t> lut16;
  std::vector<float> lut32;
  (fp16 ? lut16.resize(cells * entries) : lut32.resize(cells * entries));
  for (uint64_t cell = 0; cell < cells; ++cell) {
    // The source LUT cell: each grid coordinate mapped onto the LUT's (possibly 1) extent.
    uint64_t rest = cell, src = 0, stride = 1;
    std::vector<uint64_t> coord(rank);
    for (size_t d = rank; d-- > 0;) {
      coord[d] = rest % grid[d];
      rest /= grid[d];
    }
    for (size_t d = rank; d-- > 0;) {
      const uint64_t c = r.lut_shape[d] == 1 ? 0 : coord[d] * r.lut_shape[d] / grid[d];
      src += c * stride;
      stride *= r.lut_shape[d];
    }
    for (uint64_t e = 0; e < entries; ++e) {
      if (fp16) {
        lut16[cell * entries + e] = r.lut_fp16[src * entries + e];
      } else {
        lut32[cell * entries + e] = r.lut_fp32[src * entries + e];
      }
    }
  }
  std::vector<uint64_t> lut_shape = grid;
  lut_shape.push_back(r.lut_shape[rank]);
  lut_shape.push_back(r.lut_shape[rank + 1]);
  std::vector<uint64_t> scale_shape = scale.shape;
  scale_shape.push_back(1);
  scale_shape.push_back(1);

  const std::string scaled_name = context.unique_name(context.const_name + "_palettized");
  spec::Operation scale_op =
      new_op("constexpr_blockwise_shift_scale", scaled_name, weight.dtype, lut_shape);
  add_input(scale_op, "data",
            mil::tensor_value(weight.dtype, lut_shape, float_bytes(lut16, lut32), file, append));
  add_input(scale_op, "scale",
            mil::tensor_value(weight.dtype, scale_shape, float_bytes(scale.fp16, scale.fp32), file,
                              append));
  const std::string lut_name = context.unique_name(context.const_name + "_palettized_pcs");
  Replacement ops;
  ops.push_back(std::move(scale_op));
  ops.push_back(lut_to_dense_ios18(r, weight, lut_name, file, append, scaled_name, {}));
  return ops;
}

// Per-channel scale, CoreML9 canonical order (FORMAT.md §6.10, pattern 2; coremltools 9.0 writes
// it for iOS26 programs): the LUT as clustered, looked up first, then the dense result scaled.
Replacement scaled_dense_pattern(const compress::PalettizeResult& r, const mil::TensorShape& weight,
                                 const ConstContext& context, const std::string& file,
                                 const mil::BlobAppender& append) {
  const auto& scale = *r.per_channel_scale;
  const std::string lut_name = context.unique_name(context.const_name + "_palettized");
  const std::string scaled_name = context.unique_name(context.const_name + "_palettized_pcs");
  Replacement ops;
  ops.push_back(lut_to_dense_ios18(r, weight, lut_name, file, append, "",
                                   float_bytes(r.lut_fp16, r.lut_fp32)));
  spec::Operation scale_op =
      new_op("constexpr_blockwise_shift_scale", scaled_name, weight.dtype, weight.dims);
  (*scale_op.mutable_inputs())["data"].add_arguments()->set_name(lut_name);
  add_input(scale_op, "scale",
            mil::tensor_value(weight.dtype, scale.shape, float_bytes(scale.fp16, scale.fp32), file,
                              append));
  ops.push_back(std::move(scale_op));
  return ops;
}

// An int8/uint8 const (COMPRESSION.md §2.2): an integer LUT of the const's dtype, in the same
// ops as a float weight (per-channel scale is refused by the kernel, as coremltools fails).
std::optional<Replacement> palettize_int_const(const ConstTensor& weight,
                                               const config::OpPalettizerConfig& config,
                                               const config::ChannelAxes& axes,
                                               const ConstContext& context,
                                               WeightOutcome& outcome) {
  const int rank = static_cast<int>(weight.shape.dims.size());
  int axis = config.channel_axis ? static_cast<int>(*config.channel_axis) : axes.output.value_or(0);
  if (axis < 0) axis += rank;
  const std::span<const uint8_t> codes(reinterpret_cast<const uint8_t*>(weight.bytes.data()),
                                       weight.bytes.size());
  std::variant<compress::IntCodePalette, compress::PaletteSkip> palettized;
  try {
    palettized =
        compress::palettize_int_codes(codes, weight.shape.dtype == spec::INT8, weight.shape.dims,
                                      kernel_spec(config, static_cast<size_t>(axis)),
                                      context.joint_compression ? compress::IntArithmetic::kInt32
                                                                : compress::IntArithmetic::kNative);
  } catch (const compress::IntPaletteError& e) {
    throw Error(context.where + ": " + e.what());
  }
  if (auto* skip = std::get_if<compress::PaletteSkip>(&palettized)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& palette = std::get<compress::IntCodePalette>(palettized);
  const compress::PalettizeResult& result = palette.result;
  if (context.opset_version < 8 && result.nbits == 3) {  // unique mode may pick 3 bits
    throw Error(unique_3bit_refusal(context.where));
  }
  const auto lut = std::as_bytes(std::span(palette.lut_bytes));
  const std::vector<std::byte> lut_bytes(lut.begin(), lut.end());
  PayloadSink payloads(context, weight.file_name);
  const mil::BlobAppender append = payloads.appender();
  const std::string name = context.unique_name(context.const_name + "_palettized");
  Replacement ops;
  if (context.opset_version < 8) {
    ops.push_back(
        lut_to_dense_ios16(result, weight.shape, name, weight.file_name, append, lut_bytes));
  } else {
    ops.push_back(
        lut_to_dense_ios18(result, weight.shape, name, weight.file_name, append, "", lut_bytes));
  }
  record_compressed(outcome, ops, payloads.stored_bytes(), result.metrics);
  return ops;
}

}  // namespace

compress::PalettizeSpec palettize_kernel_spec(const config::OpPalettizerConfig& config,
                                              const config::ChannelAxes& axes, size_t rank) {
  int axis = config.channel_axis ? static_cast<int>(*config.channel_axis) : axes.output.value_or(0);
  if (axis < 0) axis += static_cast<int>(rank);
  return kernel_spec(config, static_cast<size_t>(axis));
}

int palette_indices_dtype(int nbits) { return indices_dtype(nbits); }

std::optional<std::string> conv_cluster_dim_misfit(const config::OpPalettizerConfig& config,
                                                   const config::ChannelAxes& axes,
                                                   const std::vector<uint64_t>& dims) {
  if (config.cluster_dim <= 1 || dims.empty()) return std::nullopt;
  const int rank = static_cast<int>(dims.size());
  int axis = config.channel_axis ? static_cast<int>(*config.channel_axis) : axes.output.value_or(0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;  // the kernel reports the bad axis
  for (const int64_t groups : axes.conv_groups) {
    std::vector<uint64_t> effective = dims;
    if (groups > 1) effective[0] /= static_cast<uint64_t>(groups);
    if (effective[static_cast<size_t>(axis)] % static_cast<uint64_t>(config.cluster_dim) != 0) {
      return "The `cluster_dim` " + std::to_string(config.cluster_dim) +
             " does not divide the conv's per-group channels on axis " + std::to_string(axis) +
             " (" + std::to_string(effective[static_cast<size_t>(axis)]) +
             "); skipped, as coremltools skips it";
    }
  }
  return std::nullopt;
}

std::string vector_scale_ios18_refusal(const std::string& where, int64_t cluster_dim) {
  return where + ": vector palettization (cluster_dim " + std::to_string(cluster_dim) +
         ") with enable_per_channel_scale cannot be written in an iOS18 program: "
         "coremltools 9.0 fails on it (\"When lut's last dim (VECTOR_SIZE) > 1, the "
         "parameter 'vector_axis' need to be provided.\"). Re-convert the model with "
         "minimum_deployment_target set to ct.target.iOS26, or drop cluster_dim or "
         "enable_per_channel_scale for this weight.";
}

std::string unique_3bit_refusal(const std::string& where) {
  return where +
         ": Parameter lut should be a vector of size from one of "
         "{2, 4, 16, 64, 256}; unique mode needs 3 bits here, which needs iOS18." +
         kAdvice;
}

void check_palettizer_target(const config::OpPalettizerConfig& config, int opset_version,
                             const std::string& where) {
  if (opset_version >= 8) return;
  if (config.granularity == config::Granularity::per_grouped_channel) {
    throw Error(where + ": The per_grouped_channel palettization is supported since iOS18." +
                kAdvice);
  }
  if (config.cluster_dim > 1) {
    throw Error(where + ": The vector palettization is supported since iOS18." + kAdvice);
  }
  if (config.enable_per_channel_scale) {
    throw Error(where + ": Palettization with per-channel-scale is only supported since iOS18." +
                kAdvice);
  }
  if (config.nbits && *config.nbits == 3) {
    throw Error(where +
                ": 3-bit palettization needs iOS18 (the iOS16 op's lut must have 2, 4, "
                "16, 64 or 256 entries)." +
                kAdvice);
  }
}

std::optional<Replacement> palettize_const(const spec::Operation& const_op,
                                           const config::OpPalettizerConfig& config,
                                           const config::ChannelAxes& axes,
                                           const ConstContext& context, WeightOutcome& outcome) {
  const ConstTensor weight = read_const_tensor(const_op, *context.blobs, context.where);
  if (auto misfit = conv_cluster_dim_misfit(config, axes, weight.shape.dims)) {
    outcome.reason = *misfit;
    return std::nullopt;
  }
  if (weight.shape.dtype == spec::INT8 || weight.shape.dtype == spec::UINT8) {
    return palettize_int_const(weight, config, axes, context, outcome);
  }
  if (!weight.view) {
    outcome.reason =
        mil::dtype_name(weight.shape.dtype) +
        " weights are not palettized by mlpress yet (coremltools builds an integer LUT)";
    return std::nullopt;
  }
  auto palettized = compress::palettize(
      *weight.view, palettize_kernel_spec(config, axes, weight.shape.dims.size()));
  if (auto* skip = std::get_if<compress::PaletteSkip>(&palettized)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& result = std::get<compress::PalettizeResult>(palettized);
  if (context.opset_version < 8 && result.nbits == 3) {  // unique mode may pick 3 bits
    throw Error(unique_3bit_refusal(context.where));
  }

  if (result.per_channel_scale && result.vector_axis && context.opset_version == 8) {
    // coremltools 9.0 fails here: its iOS18 canonical order (the scale applied to a repeated
    // LUT, then the lookup) rebuilds the lookup without `vector_axis`. Only weights actually
    // palettized fail there, so the check follows the kernel's skips (and so does the plan's,
    // forecast_palettize in write_refusal.h).
    throw Error(vector_scale_ios18_refusal(context.where, config.cluster_dim));
  }

  PayloadSink payloads(context, weight.file_name);
  const mil::BlobAppender append = payloads.appender();
  Replacement ops;
  if (context.opset_version < 8) {
    ops.push_back(lut_to_dense_ios16(
        result, weight.shape, context.unique_name(context.const_name + "_palettized"),
        weight.file_name, append, float_bytes(result.lut_fp16, result.lut_fp32)));
  } else if (result.per_channel_scale && context.opset_version >= 9) {
    ops = scaled_dense_pattern(result, weight.shape, context, weight.file_name, append);
  } else if (result.per_channel_scale) {
    ops = scaled_lut_pattern(result, weight.shape, context, weight.file_name, append);
  } else {
    ops.push_back(lut_to_dense_ios18(
        result, weight.shape, context.unique_name(context.const_name + "_palettized"),
        weight.file_name, append, "", float_bytes(result.lut_fp16, result.lut_fp32)));
  }
  record_compressed(outcome, ops, payloads.stored_bytes(), result.metrics);
  outcome.op_type = "constexpr_lut_to_dense";  // also when a scale op ends the chain (CoreML9)
  return ops;
}

}  // namespace mlpress::rewrite
