#pragma once
// The errors the const compressors throw while writing a weight, told before anything is
// compressed, so that plan_package (the dry run the page shows) refuses the same weights with
// the same messages instead of planning a weight the run then refuses. Only what can be told
// without compressing: the config, the shape, the consumers' axes, the program's opset and,
// where the answer depends on them, the weight's values (read only then).
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config/resolve.h"
#include "core/mil/tensor_type.h"

namespace mlpress::rewrite {

// The weight's storage bytes (as mil::read_tensor_bytes gives them); called at most once.
using StorageReader = std::function<std::vector<std::byte>()>;

// palettize_const's error for the weight, in its order, or nullopt when it writes or skips it:
// an int8/uint8 const with enable_per_channel_scale; the kernel's hard errors (channel axis out
// of range, UNIFORM with cluster_dim > 1); vector palettization with a per-channel scale in an
// iOS18 program, unless a skip comes first (the grouped-conv cluster_dim check, channels not
// divisible by the group size or a group by cluster_dim, NaN or inf values: `read` is called
// for these). Not told, as they need the palettization itself: unique mode needing 3 bits
// before iOS18, an integer LUT index out of range; and unique mode's skip of a group of more
// than 256 distinct (scaled) vectors is taken as not happening, so such a weight is refused
// here where the run would skip it. `joint_compression`: a joint step's (integer values in
// int32, as coremltools casts them there).
std::optional<std::string> palettize_refusal(const config::OpPalettizerConfig& config,
                                             const config::ChannelAxes& axes,
                                             const mil::TensorShape& shape, int opset_version,
                                             bool joint_compression, const std::string& where,
                                             const StorageReader& read);

// quantize_const's error for the weight, or nullopt: an int8/uint8 const whose values (`read`)
// are not a mask, a per-axis block_size of the wrong rank.
std::optional<std::string> quantize_refusal(const config::OpLinearQuantizerConfig& config,
                                            const config::ChannelAxes& axes,
                                            const mil::TensorShape& shape, const std::string& where,
                                            const std::string& op_name, const StorageReader& read);

}  // namespace mlpress::rewrite
