#pragma once
// linear_quantize_weights for one const op: reads its values (the one weight in memory),
// quantizes them, and builds the replacement constexpr op, or says why the const stays dense.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/config/resolve.h"
#include "core/mil/blob_files.h"
#include "core/rewrite/const_context.h"

namespace mlpress::rewrite {

// Throws (coremltools' hard errors, e.g. int4 before iOS18 or an int8 const of range >= 2);
// returns nullopt with `outcome.reason` set when the weight is skipped.
// The caller has checked the target rules (check_*_target) while planning, before any
// output was written.
std::optional<Replacement> quantize_const(const CoreML::Specification::MILSpec::Operation& const_op,
                                          const config::OpLinearQuantizerConfig& config,
                                          const config::ChannelAxes& axes,
                                          const ConstContext& context, WeightOutcome& outcome);

// coremltools' integer rule (COMPRESSION.md §2.2): int8/uint8 values whose max - min, computed
// in numpy's arithmetic of their own dtype (int8 wraps: 100 - (-100) is -56), is below 2 are a
// mask it skips; it fails on all other integer values ("Only floating numpy arrays are
// supported."). `bytes` holds one value per byte.
bool integer_values_are_mask(std::span<const std::byte> bytes, bool is_signed);

// Why such a mask (an int8/uint8 const, `dtype`) stays dense.
std::string integer_mask_skip_reason(int dtype);

// The error for an int8/uint8 const (`dtype`) whose values are not such a mask.
std::string integer_quantize_refusal(const std::string& where, int dtype,
                                     const std::string& op_name);

// The target rules of COMPRESSION.md §3.7, checked before any output is written.
void check_linear_quantizer_target(const config::OpLinearQuantizerConfig& config, int opset_version,
                                   const std::string& where);

}  // namespace mlpress::rewrite
