#pragma once
// What the const compressors will do with a weight -- write it, skip it or throw -- told before
// anything is compressed, so that plan_package (the dry run the page shows) refuses the same
// weights with the same messages, and shows the weights the run skips for their shape as skipped
// with the run's reason. Told from the config, the shape, the consumers' axes and the program's
// opset, asking the kernels' own checks (compress::palettize_skip_for_shape,
// compress::magnitude_prune_skip_for_shape, linear_quant_spec); where the answer depends on the
// values, they are read, and where a cheap kernel decides it, that kernel is run on them.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/config/resolve.h"
#include "core/mil/tensor_type.h"

namespace mlpress::rewrite {

// The weight's storage bytes (as mil::read_tensor_bytes gives them); called at most once.
using StorageReader = std::function<std::vector<std::byte>()>;

struct WriteForecast {
  enum class Kind : uint8_t {
    kWrites,   // compressed, unless values the forecast does not read make the kernel skip it
    kSkips,    // left dense; `message` is the run's reason
    kRefuses,  // the run fails; `message` is its error, whole
  };
  Kind kind = Kind::kWrites;
  std::string message;
};

// palettize_const's outcome for the weight, in its order: the grouped-conv cluster_dim skip; an
// int8/uint8 const with enable_per_channel_scale; the kernel's checks before it reads a value
// (hard errors: channel axis, UNIFORM with cluster_dim > 1; skips: channels not divisible by the
// group size or a group by cluster_dim); then, reading the values (`read`):
// - unique mode below iOS18 (there always per tensor, scalar and unscaled): the kernel is run, so
//   its skips (NaN, more than 256 distinct values) and the 3-bit refusal are the run's;
// - uniform mode on int8/uint8 consts: the integer kernel is run, for its refusal of an index
//   outside the sub-byte range (numpy's int8 wrap-around);
// - vector palettization with a per-channel scale in an iOS18 program: refused unless NaN or inf
//   values make the kernel skip (compress::palettize_skip_for_values; then skipped). Unique mode's
//   skip of a group of more than 256 distinct (scaled) vectors is taken as not happening here, so
//   such a weight is refused where the run would skip it (deciding it needs the palettization's own
//   pass over the scaled vectors).
// Not told (kWrites): the other skips for the values (NaN / inf, unique mode from iOS18 on).
// `joint_compression`: a joint step's (integer values in int32, as coremltools casts them there).
WriteForecast forecast_palettize(const config::OpPalettizerConfig& config,
                                 const config::ChannelAxes& axes, const mil::TensorShape& shape,
                                 int opset_version, bool joint_compression,
                                 const std::string& where, const StorageReader& read);

// quantize_const's outcome: an int8/uint8 const is skipped when its values (`read`) are a mask,
// refused otherwise; linear_quant_spec's hard errors (per-axis block_size of the wrong rank)
// refuse, its skips (undecidable axes, a block size not dividing its axis) skip. Not told: the
// kernel's skip of inf values.
WriteForecast forecast_quantize(const config::OpLinearQuantizerConfig& config,
                                const config::ChannelAxes& axes, const mil::TensorShape& shape,
                                const std::string& where, const std::string& op_name,
                                const StorageReader& read);

// prune_const's outcome for magnitude pruning: the kernel's checks before it reads a value (hard
// errors: a structural mode on a weight of rank other than 2..5, numpy's fp16 percentile
// IndexError; skips: a block or an n:m group larger than half the channels). Threshold pruning's
// only skip depends on the values and is not told.
WriteForecast forecast_magnitude_prune(const config::OpMagnitudePrunerConfig& config,
                                       const mil::TensorShape& shape, const std::string& where);

}  // namespace mlpress::rewrite
