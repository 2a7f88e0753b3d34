#pragma once
// The linear quantization kernel spec (mode, dtype, block sizes) an OpLinearQuantizerConfig
// asks for on a weight of a given shape, or why coremltools skips (or refuses) the weight.
#include <cstdint>
#include <span>
#include <variant>

#include "core/compress/linear_quantize.h"
#include "core/config/config.h"
#include "core/config/resolve.h"

namespace mlpress::rewrite {

// A skip whose compress::is_hard_error is true fails the whole call in coremltools.
std::variant<compress::LinearQuantSpec, compress::QuantSkip> linear_quant_spec(
    const config::OpLinearQuantizerConfig& config, const config::ChannelAxes& axes,
    std::span<const uint64_t> dims);

}  // namespace mlpress::rewrite
