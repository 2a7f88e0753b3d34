#pragma once
// palettize_weights for one const op: reads its values, palettizes them, and builds the
// replacement ops as coremltools writes them (COMPRESSION.md §4.7–4.9, FORMAT.md §6.3, §6.6,
// §6.10), or says why the const stays dense.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/compress/palettize.h"
#include "core/config/resolve.h"
#include "core/rewrite/quantize_const.h"

namespace mlpress::rewrite {

// The target rules that can be checked before clustering (§4.9); throws naming `where`.
void check_palettizer_target(const config::OpPalettizerConfig& config, int opset_version,
                             const std::string& where);

// The kernel spec `config` asks for on a weight of rank `rank` whose consumers imply `axes`.
compress::PalettizeSpec palettize_kernel_spec(const config::OpPalettizerConfig& config,
                                              const config::ChannelAxes& axes, size_t rank);
// The MIL dtype of n-bit indices (UINT1 ... UINT8).
int palette_indices_dtype(int nbits);

// coremltools' is_cluster_dim_valid (§4.6): for each conv / conv_transpose consumer, the weight's
// per-group ("effective") shape, dim 0 divided by groups, must divide by cluster_dim on the
// channel axis. A skip message when it does not.
std::optional<std::string> conv_cluster_dim_misfit(const config::OpPalettizerConfig& config,
                                                   const config::ChannelAxes& axes,
                                                   const std::vector<uint64_t>& dims);

// The error for a weight vector-palettized with a per-channel scale in an iOS18 program, which
// coremltools 9.0 fails to write (thrown once the kernel has palettized it).
std::string vector_scale_ios18_refusal(const std::string& where, int64_t cluster_dim);

// The error for a weight unique mode palettizes to 3 bits (5 to 8 distinct values) in a program
// below iOS18, whose constexpr_lut_to_dense has no 8-entry LUT (thrown once the kernel has
// picked nbits).
std::string unique_3bit_refusal(const std::string& where);

// The caller has checked the target rules (check_*_target) while planning, before any
// output was written.
std::optional<Replacement> palettize_const(
    const CoreML::Specification::MILSpec::Operation& const_op,
    const config::OpPalettizerConfig& config, const config::ChannelAxes& axes,
    const ConstContext& context, WeightOutcome& outcome);

}  // namespace mlpress::rewrite
