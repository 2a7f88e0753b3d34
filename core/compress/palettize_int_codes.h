#pragma once
// Palettization of integer weights: int8/uint8 consts, and (joint compression) the int8/uint8
// codes of a quantized weight, as coremltools 9.0 does it (COMPRESSION.md §2.2, §6.2 item 4).
//
// - kmeans and unique cluster the codes as numbers (the float kernels of palettize.h on an exact
//   fp32 copy); the LUT takes the integer dtype, each centroid truncated toward zero as numpy's
//   astype does; every index is then reassigned to the nearest stored entry of its group (the
//   first on a tie), so the indices are optimal for the LUT actually stored.
// - uniform reproduces numpy's arithmetic on the integer array exactly, int8 wrap-around in
//   `w - min` and `max - min` included, and coremltools' failure when that wrap-around puts an
//   index outside the n-bit range.
// - enable_per_channel_scale is refused, as coremltools fails on it (numpy cannot divide an
//   integer array in place).
// - In joint mode coremltools first casts int8/uint8 values to int32, so nothing wraps there
//   (IntArithmetic::kInt32); plain palettization keeps the weight's own dtype (kNative).
#include <cstdint>
#include <span>
#include <stdexcept>
#include <variant>
#include <vector>

#include "core/compress/palettize.h"

namespace mlpress::compress {

// coremltools aborts the whole call here; the message is its own where it has one.
struct IntPaletteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct IntCodePalette {
  // lut_type is kFloat32 and lut_fp32 holds the integer entries exactly; metrics are of the
  // integer LUT against the codes.
  PalettizeResult result;
  bool is_signed = true;
  std::vector<uint8_t> lut_bytes;  // the LUT in its int8 / uint8 storage, row-major

  double lut_at(size_t flat) const {
    return is_signed ? double(int8_t(lut_bytes[flat])) : double(lut_bytes[flat]);
  }
};

// Which numpy dtype coremltools computes in: the weight's own (int8 / uint8 wrap-around) or
// int32 (joint compression casts there first).
enum class IntArithmetic { kNative, kInt32 };

// `codes` holds one byte per element (int8 two's complement when is_signed, else uint8).
// Throws IntPaletteError where coremltools raises.
std::variant<IntCodePalette, PaletteSkip> palettize_int_codes(
    std::span<const uint8_t> codes, bool is_signed, const std::vector<uint64_t>& shape,
    const PalettizeSpec& spec, IntArithmetic arithmetic = IntArithmetic::kNative,
    KernelPath path = KernelPath::kSimd);

}  // namespace mlpress::compress
