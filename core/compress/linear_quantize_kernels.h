#pragma once
// Inner loops of linear quantization (COMPRESSION.md §3): a plain scalar reference and SIMD
// twins that must produce identical bits. The SIMD twins are one body of GCC/Clang vector
// extensions (linear_quantize_simd_body.h) compiled twice: 4 x 32-bit lanes everywhere (SSE2 on
// x86-64, simd128 in the wasm SIMD build, plain scalar code where neither exists), and on x86-64
// a second time for AVX2 + F16C with 8 lanes, chosen at run time when the CPU has both. Every
// operation is exact or IEEE correctly rounded, so no tolerance is needed anywhere.
//
// One "row" is a run of the innermost axis. A row is cut into segments of `segment` elements
// (the block size along the innermost axis); segment k of the row belongs to block k of the
// per-row block arrays passed in.
#include <cstddef>
#include <cstdint>

#include "core/compress/error_metrics.h"

// x86-64 native builds also carry the AVX2 + F16C kernels (linear_quantize_kernels_x86.cc).
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__) && defined(__GNUC__)
#define MLPRESS_KERNELS_X86 1
#endif

namespace mlpress::compress::kernels {

// Codes are clipped to [qmin, qmax].
struct CodeRange {
  int32_t qmin;
  int32_t qmax;
};

// One value per segment of the row.
struct SegmentParams {
  const float* scale;        // exactly representable in the weight dtype (or NaN)
  const float* zero;         // what the codes add: an integer, or NaN for a degenerate block
  const float* stored_zero;  // the stored zero point decoded (what a decoder subtracts)
};

// The reconstruction error sums are kept in kErrorLanes interleaved partial sums (element i of
// a row goes to lane i % kErrorLanes), which are then added in lane order. Every kernel set uses
// this one order, so their sums agree to the bit whatever the vector width.
inline constexpr size_t kErrorLanes = 8;

struct RowKernels {
  const char* name;
  // Folds the row into running per-block ranges: lo[k] = min, hi[k] = max over the non-NaN
  // values of segment k (start them at +inf / -inf), and any_nan[k] = 1 once a NaN is seen.
  // Zeros may keep either sign.
  void (*minmax_fp16)(const uint16_t* row, size_t n, size_t segment, float* lo, float* hi,
                      uint8_t* any_nan);
  void (*minmax_fp32)(const float* row, size_t n, size_t segment, float* lo, float* hi,
                      uint8_t* any_nan);
  // Codes for one row: q = clip(rne(w / s) + z, qmin, qmax), NaN -> 0, with w / s rounded to
  // binary16 first in the fp16 variant. Output bytes are the codes as int8 (two's complement)
  // or uint8. Returns the error sums of the row against its reconstruction
  // (q - stored_zero) * s (rounded to binary16 for fp16), in double; the fp16 variant sums in
  // float over 128-element chunks first (exact products; see ChunkSums), within 1e-6 relative.
  ErrorSums (*quantize_fp16)(const uint16_t* row, size_t n, size_t segment, SegmentParams params,
                             CodeRange range, uint8_t* out);
  ErrorSums (*quantize_fp32)(const float* row, size_t n, size_t segment, SegmentParams params,
                             CodeRange range, uint8_t* out);
};

const RowKernels& scalar_kernels();
// 4 lanes of vector extensions: SSE2, wasm simd128, or scalar code.
const RowKernels& portable_simd_kernels();
// AVX2 + F16C, 8 lanes; nullptr when the build or the CPU lacks them.
const RowKernels* x86_avx2_kernels();
// The fastest of the above that this CPU runs.
const RowKernels& best_simd_kernels();

// Building blocks of the portable kernels, exposed for tests: binary16 -> float, and float ->
// nearest binary16 value.
void fp16_to_float_simd(const uint16_t* in, size_t n, float* out);
void round_to_fp16_simd(const float* in, size_t n, float* out);
// Round half to even for every float (integers, inf and NaN pass through).
void round_half_even_simd(const float* in, size_t n, float* out);

}  // namespace mlpress::compress::kernels
