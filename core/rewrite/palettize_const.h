#pragma once
// palettize_weights for one const op: reads its values, palettizes them, and builds the
// replacement ops as coremltools writes them (COMPRESSION.md §4.7–4.9, FORMAT.md §6.3, §6.6,
// §6.10), or says why the const stays dense.
#include <optional>
#include <string>

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

// The caller has checked the target rules (check_*_target) while planning, before any
// output was written.
std::optional<Replacement> palettize_const(
    const CoreML::Specification::MILSpec::Operation& const_op,
    const config::OpPalettizerConfig& config, const config::ChannelAxes& axes,
    const ConstContext& context, WeightOutcome& outcome);

}  // namespace mlpress::rewrite
