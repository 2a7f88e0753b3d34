#include "core/rewrite/write_refusal.h"

#include <cstring>
#include <span>

#include "MIL.pb.h"
#include "core/compress/fp16_convert.h"
#include "core/compress/linear_quantize.h"
#include "core/compress/palettize.h"
#include "core/compress/palettize_int_codes.h"
#include "core/compress/prune.h"
#include "core/rewrite/linear_quant_spec.h"
#include "core/rewrite/palettize_const.h"
#include "core/rewrite/prune_const.h"
#include "core/rewrite/quantize_const.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

namespace {

WriteForecast writes() { return {}; }
WriteForecast skips(std::string reason) { return {WriteForecast::Kind::kSkips, std::move(reason)}; }
WriteForecast refuses(std::string error) {
  return {WriteForecast::Kind::kRefuses, std::move(error)};
}

// A kernel's skip (palettize, linear quantize or prune): the run throws its hard errors, naming
// the weight, and leaves the weight dense for the others.
template <typename KernelSkip>
WriteForecast from_kernel_skip(const KernelSkip& skip, const std::string& where) {
  if (compress::is_hard_error(skip.reason)) return refuses(where + ": " + skip.message);
  return skips(skip.message);
}

// The weight's values as floats (fp16 or fp32 storage bytes).
std::vector<float> float_values(const std::vector<std::byte>& bytes, bool fp16) {
  if (!fp16) {
    std::vector<float> values(bytes.size() / 4);
    std::memcpy(values.data(), bytes.data(), values.size() * 4);
    return values;
  }
  std::vector<float> values(bytes.size() / 2);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t bits;
    std::memcpy(&bits, &bytes[2 * i], 2);
    values[i] = compress::fp16_to_float(bits);
  }
  return values;
}

compress::IntArithmetic int_arithmetic(bool joint_compression) {
  return joint_compression ? compress::IntArithmetic::kInt32 : compress::IntArithmetic::kNative;
}

// The palettization kernel run on the weight's values, as palettize_const runs it: its error,
// its skip, or the index width it picked.
std::variant<int, WriteForecast> run_palettize_kernel(const compress::PalettizeSpec& s,
                                                      const mil::TensorShape& shape,
                                                      bool joint_compression,
                                                      const std::string& where,
                                                      const std::vector<std::byte>& bytes) {
  if (shape.dtype == spec::INT8 || shape.dtype == spec::UINT8) {
    const std::span<const uint8_t> codes(reinterpret_cast<const uint8_t*>(bytes.data()),
                                         bytes.size());
    try {
      auto palettized = compress::palettize_int_codes(codes, shape.dtype == spec::INT8, shape.dims,
                                                      s, int_arithmetic(joint_compression));
      if (auto* skip = std::get_if<compress::PaletteSkip>(&palettized)) return skips(skip->message);
      return std::get<compress::IntCodePalette>(palettized).result.nbits;
    } catch (const compress::IntPaletteError& e) {
      return refuses(where + ": " + e.what());
    }
  }
  std::variant<compress::PalettizeResult, compress::PaletteSkip> palettized;
  if (shape.dtype == spec::FLOAT16) {
    std::vector<uint16_t> bits(bytes.size() / 2);
    std::memcpy(bits.data(), bytes.data(), bits.size() * 2);
    palettized = compress::palettize(compress::TensorView::fp16(bits, shape.dims), s);
  } else {
    std::vector<float> values(bytes.size() / 4);
    std::memcpy(values.data(), bytes.data(), values.size() * 4);
    palettized = compress::palettize(compress::TensorView::fp32(values, shape.dims), s);
  }
  if (auto* skip = std::get_if<compress::PaletteSkip>(&palettized)) return skips(skip->message);
  return std::get<compress::PalettizeResult>(palettized).nbits;
}

}  // namespace

WriteForecast forecast_palettize(const config::OpPalettizerConfig& config,
                                 const config::ChannelAxes& axes, const mil::TensorShape& shape,
                                 int opset_version, bool joint_compression,
                                 const std::string& where, const StorageReader& read) {
  if (auto misfit = conv_cluster_dim_misfit(config, axes, shape.dims)) return skips(*misfit);
  const bool integer = shape.dtype == spec::INT8 || shape.dtype == spec::UINT8;
  if (!integer && shape.dtype != spec::FLOAT16 && shape.dtype != spec::FLOAT32) return writes();
  const compress::PalettizeSpec s = palettize_kernel_spec(config, axes, shape.dims.size());
  if (integer && s.per_channel_scale) {
    // The integer kernel refuses a per-channel scale before it looks at a value, so asking it
    // with no values gives its message.
    try {
      compress::palettize_int_codes({}, shape.dtype == spec::INT8, {0}, s,
                                    int_arithmetic(joint_compression));
    } catch (const compress::IntPaletteError& e) {
      return refuses(where + ": " + e.what());
    }
  }
  // The kernel's checks before it reads a value (palettize.h): a hard error fails the run, a
  // skip leaves the weight dense; nbits and cluster_dim >= 1 are checked with the config.
  if (const auto skip = compress::palettize_skip_for_shape(shape.dims, s)) {
    return from_kernel_skip(*skip, where);
  }
  // Unique mode's index width (3 bits fail below iOS18) and the integer uniform kernel's range
  // error come out of the palettization itself; both kernels are cheap (no clustering), so the
  // forecast runs them. Below iOS18 unique mode is per tensor, scalar and unscaled
  // (check_palettizer_target refuses the rest there).
  const bool unique_before_ios18 = s.mode == compress::PaletteMode::kUnique && opset_version < 8;
  if (unique_before_ios18 || (integer && s.mode == compress::PaletteMode::kUniform)) {
    auto ran = run_palettize_kernel(s, shape, joint_compression, where, read());
    if (auto* decided = std::get_if<WriteForecast>(&ran)) return *decided;
    if (opset_version < 8 && std::get<int>(ran) == 3) return refuses(unique_3bit_refusal(where));
    return writes();
  }
  if (integer || !s.per_channel_scale || s.cluster_dim <= 1 || opset_version != 8) return writes();
  // Vector palettization with a per-channel scale in an iOS18 program fails once the kernel
  // has palettized the weight, unless the values make it skip:
  const auto values = float_values(read(), shape.dtype == spec::FLOAT16);
  if (auto skip = compress::palettize_skip_for_values(values, s.mode)) return skips(skip->message);
  return refuses(vector_scale_ios18_refusal(where, config.cluster_dim));
}

WriteForecast forecast_quantize(const config::OpLinearQuantizerConfig& config,
                                const config::ChannelAxes& axes, const mil::TensorShape& shape,
                                const std::string& where, const std::string& op_name,
                                const StorageReader& read) {
  if (shape.dtype == spec::INT8 || shape.dtype == spec::UINT8) {
    if (integer_values_are_mask(read(), shape.dtype == spec::INT8)) {
      return skips(integer_mask_skip_reason(shape.dtype));
    }
    return refuses(integer_quantize_refusal(where, shape.dtype, op_name));
  }
  const auto spec_or_skip = linear_quant_spec(config, axes, shape.dims);
  if (const auto* skip = std::get_if<compress::QuantSkip>(&spec_or_skip)) {
    return from_kernel_skip(*skip, where);
  }
  return writes();
}

WriteForecast forecast_magnitude_prune(const config::OpMagnitudePrunerConfig& config,
                                       const mil::TensorShape& shape, const std::string& where) {
  // int8/uint8 consts take the percentile in float64 (prune_int.h), fp32 ones in fp32.
  const bool fp16 = shape.dtype == spec::FLOAT16;
  const auto skip =
      compress::magnitude_prune_skip_for_shape(shape.dims, fp16, magnitude_prune_spec(config));
  return skip ? from_kernel_skip(*skip, where) : writes();
}

}  // namespace mlpress::rewrite
