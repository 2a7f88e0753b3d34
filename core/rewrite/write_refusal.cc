#include "core/rewrite/write_refusal.h"

#include <cmath>
#include <cstring>
#include <span>

#include "MIL.pb.h"
#include "core/compress/linear_quantize.h"
#include "core/compress/palettize.h"
#include "core/compress/palettize_int_codes.h"
#include "core/rewrite/linear_quant_spec.h"
#include "core/rewrite/palettize_const.h"
#include "core/rewrite/quantize_const.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

namespace {

// NaN anywhere, or (`inf_too`) an infinity: the palettization kernel skips such a weight.
bool has_non_finite(const std::vector<std::byte>& bytes, bool fp16, bool inf_too) {
  if (fp16) {
    for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
      uint16_t bits;
      std::memcpy(&bits, &bytes[i], 2);
      if ((bits & 0x7C00) != 0x7C00) continue;
      if ((bits & 0x03FF) != 0 || inf_too) return true;
    }
    return false;
  }
  for (size_t i = 0; i + 3 < bytes.size(); i += 4) {
    float v;
    std::memcpy(&v, &bytes[i], 4);
    if (std::isnan(v) || (inf_too && std::isinf(v))) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> palettize_refusal(const config::OpPalettizerConfig& config,
                                             const config::ChannelAxes& axes,
                                             const mil::TensorShape& shape, int opset_version,
                                             bool joint_compression, const std::string& where,
                                             const StorageReader& read) {
  if (conv_cluster_dim_misfit(config, axes, shape.dims)) return std::nullopt;
  const bool integer = shape.dtype == spec::INT8 || shape.dtype == spec::UINT8;
  if (!integer && shape.dtype != spec::FLOAT16 && shape.dtype != spec::FLOAT32) return std::nullopt;
  const compress::PalettizeSpec s = palettize_kernel_spec(config, axes, shape.dims.size());
  if (integer && s.per_channel_scale) {
    // The integer kernel refuses a per-channel scale before it looks at a value, so asking it
    // with no values gives its message.
    try {
      compress::palettize_int_codes(
          {}, shape.dtype == spec::INT8, {0}, s,
          joint_compression ? compress::IntArithmetic::kInt32 : compress::IntArithmetic::kNative);
    } catch (const compress::IntPaletteError& e) {
      return where + ": " + e.what();
    }
  }
  // The kernel's hard errors, in its order (palettize.h); nbits and cluster_dim >= 1 are
  // checked with the config.
  if (shape.dims.empty() || s.channel_axis >= shape.dims.size()) {
    return where + ": Invalid channel_axis " + std::to_string(s.channel_axis) +
           " for a weight of rank " + std::to_string(shape.dims.size());
  }
  if (s.mode == compress::PaletteMode::kUniform && s.cluster_dim > 1) {
    return where + ": Vector palettization (cluster_dim > 1) doesn't support UNIFORM mode.";
  }
  if (integer || !s.per_channel_scale || s.cluster_dim <= 1 || opset_version != 8) {
    return std::nullopt;
  }
  // Vector palettization with a per-channel scale in an iOS18 program fails once the kernel
  // has palettized the weight; its skips before that:
  const uint64_t channels = shape.dims[s.channel_axis];
  const uint64_t group =
      s.granularity == compress::PaletteGranularity::kPerGroupedChannel && s.group_size
          ? s.group_size
          : channels;
  if (channels % group != 0 || group % s.cluster_dim != 0) return std::nullopt;
  const bool unique = s.mode == compress::PaletteMode::kUnique;
  if (has_non_finite(read(), shape.dtype == spec::FLOAT16, !unique)) return std::nullopt;
  return vector_scale_ios18_refusal(where, config.cluster_dim);
}

std::optional<std::string> quantize_refusal(const config::OpLinearQuantizerConfig& config,
                                            const config::ChannelAxes& axes,
                                            const mil::TensorShape& shape, const std::string& where,
                                            const std::string& op_name, const StorageReader& read) {
  if (shape.dtype == spec::INT8 || shape.dtype == spec::UINT8) {
    if (integer_values_are_mask(read(), shape.dtype == spec::INT8)) return std::nullopt;
    return integer_quantize_refusal(where, shape.dtype, op_name);
  }
  const auto spec_or_skip = linear_quant_spec(config, axes, shape.dims);
  if (const auto* skip = std::get_if<compress::QuantSkip>(&spec_or_skip)) {
    if (compress::is_hard_error(skip->reason)) return where + ": " + skip->message;
  }
  return std::nullopt;
}

}  // namespace mlpress::rewrite
