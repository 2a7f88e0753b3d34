#include "core/rewrite/linear_quant_spec.h"

namespace mlpress::rewrite {

namespace {

compress::QuantDtype quant_dtype(const std::string& dtype) {
  if (dtype == "int8") return compress::QuantDtype::kInt8;
  if (dtype == "uint8") return compress::QuantDtype::kUint8;
  if (dtype == "int4") return compress::QuantDtype::kInt4;
  return compress::QuantDtype::kUint4;
}

compress::GranularityRequest granularity_request(const config::OpLinearQuantizerConfig& config) {
  compress::GranularityRequest request;
  switch (config.granularity) {
    case config::Granularity::per_tensor:
      request.granularity = compress::QuantGranularity::kPerTensor;
      break;
    case config::Granularity::per_block:
      request.granularity = compress::QuantGranularity::kPerBlock;
      break;
    default:
      request.granularity = compress::QuantGranularity::kPerChannel;
      break;
  }
  if (const auto* size = std::get_if<int64_t>(&config.block_size)) {
    request.block_size = static_cast<uint64_t>(*size);
  } else {
    const auto& sizes = std::get<std::vector<int64_t>>(config.block_size);
    request.block_size_per_axis = std::vector<uint64_t>(sizes.begin(), sizes.end());
  }
  return request;
}

compress::ChannelAxes compress_axes(const config::ChannelAxes& axes, size_t rank) {
  auto normalise = [rank](std::optional<int> axis) -> std::optional<size_t> {
    if (!axis) return std::nullopt;
    const int a = *axis < 0 ? *axis + static_cast<int>(rank) : *axis;
    return static_cast<size_t>(a);
  };
  return {normalise(axes.output), normalise(axes.input)};
}

}  // namespace

std::variant<compress::LinearQuantSpec, compress::QuantSkip> linear_quant_spec(
    const config::OpLinearQuantizerConfig& config, const config::ChannelAxes& axes,
    std::span<const uint64_t> dims) {
  auto blocks = compress::infer_block_sizes(dims, granularity_request(config),
                                            compress_axes(axes, dims.size()));
  if (auto* skip = std::get_if<compress::QuantSkip>(&blocks)) return *skip;
  compress::LinearQuantSpec spec;
  spec.mode = config.mode == "LINEAR" ? compress::QuantMode::kLinear
                                      : compress::QuantMode::kLinearSymmetric;
  spec.dtype = quant_dtype(config.dtype);
  spec.block_sizes = std::get<std::vector<uint64_t>>(blocks);
  return spec;
}

}  // namespace mlpress::rewrite
