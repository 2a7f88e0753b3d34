#pragma once
// Linear (affine / symmetric) weight quantization, bit-exact with coremltools 9.0
// (`optimize/_utils.py: compute_qparams_by_dtype`), COMPRESSION.md §3. Pure numerics: a weight
// in, codes, scales and zero points out.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/compress/error_metrics.h"
#include "core/compress/tensor_view.h"
#include "core/compress/uninitialized_bytes.h"

namespace mlpress::compress {

enum class QuantMode : uint8_t {
  kLinearSymmetric,  // coremltools "linear_symmetric"
  kLinear,           // coremltools "linear" (affine)
};

enum class QuantDtype : uint8_t { kInt8, kUint8, kInt4, kUint4 };

int bit_width(QuantDtype dtype);
bool is_signed(QuantDtype dtype);

// COMPRESSION.md §3.1, e.g. int8 symmetric [-127, 127], uint4 linear [0, 15].
struct QuantRange {
  int32_t qmin;
  int32_t qmax;
};
QuantRange quant_range(QuantMode mode, QuantDtype dtype);

// Why a weight is left dense. `kBlockRankMismatch` is an error in coremltools (the whole call
// fails); the others are warnings that skip the one weight.
enum class QuantSkipReason : uint8_t {
  kUndecidableAxes,    // consumers disagree on the output/input channel axis (§2.4)
  kBlockRankMismatch,  // per-axis block_size has the wrong length
  kBlockNotDivisible,  // dim % block_size != 0 (§3.2)
  kInfiniteValue,      // the weight holds inf / -inf
  kEmptyTensor,        // a zero-sized dimension
};

struct QuantSkip {
  QuantSkipReason reason;
  std::string message;
};

bool is_hard_error(QuantSkipReason reason);

// ---------------------------------------------------------------------------------------------
// Block sizes from a coremltools granularity (§3.2, `infer_block_sizes`).

enum class QuantGranularity : uint8_t { kPerTensor, kPerChannel, kPerBlock };

struct GranularityRequest {
  QuantGranularity granularity = QuantGranularity::kPerChannel;
  uint64_t block_size = 32;  // per_block int form: along the input axis, 1 on the output axis
  // per_block tuple form (one entry per axis, 0 = whole axis); bypasses axis inference.
  std::optional<std::vector<uint64_t>> block_size_per_axis;
};

// nullopt = undecidable (§2.4).
struct ChannelAxes {
  std::optional<size_t> output_axis;
  std::optional<size_t> input_axis;
};

// One block size per axis (0 = the whole axis) or the reason none can be chosen. Divisibility is
// checked here too, so a returned vector is always valid for quantize_linear.
std::variant<std::vector<uint64_t>, QuantSkip> infer_block_sizes(std::span<const uint64_t> shape,
                                                                 const GranularityRequest& request,
                                                                 const ChannelAxes& axes);

// nullopt when every block size divides its dim (§3.2); the "Invalid block_sizes" skip otherwise.
std::optional<QuantSkip> check_block_sizes(std::span<const uint64_t> shape,
                                           std::span<const uint64_t> block_sizes);

// ---------------------------------------------------------------------------------------------
// Quantization.

struct LinearQuantSpec {
  QuantMode mode = QuantMode::kLinearSymmetric;
  QuantDtype dtype = QuantDtype::kInt8;
  std::vector<uint64_t> block_sizes;  // per axis; 0 = the whole axis, as coremltools
};

struct LinearQuantResult {
  QuantMode mode;
  QuantDtype dtype;
  ElementType scale_type;             // the weight's element type
  std::vector<uint64_t> shape;        // weight shape (= codes shape)
  std::vector<uint64_t> block_sizes;  // as requested (0 = whole axis)
  std::vector<uint64_t> scale_shape;  // rank r: shape[d] / block, 1 where block is 0

  // One code per element, row-major, unpacked: int8 two's complement bytes for int8/int4,
  // plain bytes for uint8/uint4 (see code_at).
  UninitializedBytes codes;
  // Exactly one is filled, per scale_type; row-major over scale_shape.
  std::vector<uint16_t> scale_fp16;
  std::vector<float> scale_fp32;
  // Data dtype bytes, same layout as the scale. Absent for signed symmetric, as in the iOS18
  // constexpr_blockwise_shift_scale op (the iOS16 op wants an all-zero array instead).
  std::optional<std::vector<uint8_t>> zero_point;
  // The error of dequantize_linear(result) against the weight, computed while quantizing. The
  // sums are taken in a fixed order (kernels::kErrorLanes lanes per row, rows in fixed groups),
  // so they are the same for every kernel path and thread count, and agree with
  // compute_error_metrics to rounding.
  ErrorMetrics metrics;

  int32_t code_at(size_t i) const { return decode_byte(codes[i]); }
  int32_t zero_point_at(size_t block) const {
    return zero_point ? decode_byte((*zero_point)[block]) : 0;
  }
  float scale_at(size_t block) const;
  size_t scale_count() const {
    return scale_type == ElementType::kFloat16 ? scale_fp16.size() : scale_fp32.size();
  }

 private:
  int32_t decode_byte(uint8_t b) const { return is_signed(dtype) ? int32_t(int8_t(b)) : b; }
};

// Scalar reference or a SIMD twin; all give identical results. kSimd is the fastest this CPU
// runs (AVX2 + F16C on x86-64 when present); kSimdPortable the 4-lane twin (SSE2, wasm simd128).
enum class KernelPath : uint8_t { kScalar, kSimd, kSimdPortable };

// The weight's codes and parameters, or why the weight is skipped (block_sizes of the wrong
// rank or not dividing the shape, inf in the weight, a zero-sized dimension).
//
// Degenerate cases follow coremltools on x86-64: an all-zero block gets scale 0, codes 0 and,
// in linear mode, zero point 0 (NaN cast to int); a block containing NaN gets a NaN scale
// (canonical quiet NaN bits), codes 0 and zero point 0 (linear) or the symmetric shift.
//
// Large weights are cut into groups of rows that run on up to `threads` threads (0 = one per
// core for weights of 256K elements or more, else 1; the wasm build always uses one).
std::variant<LinearQuantResult, QuantSkip> quantize_linear(const TensorView& weight,
                                                           const LinearQuantSpec& spec,
                                                           KernelPath path = KernelPath::kSimd,
                                                           unsigned threads = 0);

// coremltools' decompress: float32 scale * (code - zero point), then rounded to the weight's
// dtype (each value is exactly representable in fp16 for an fp16 weight).
std::vector<float> dequantize_linear(const LinearQuantResult& result);

}  // namespace mlpress::compress
