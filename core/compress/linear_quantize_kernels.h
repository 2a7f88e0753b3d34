#pragma once
// Inner loops of linear quantization (COMPRESSION.md §3), each as a plain scalar reference and a
// SIMD twin that must produce identical bits. The SIMD twins are written with GCC/Clang vector
// extensions on 4 x 32-bit lanes: SSE2 on x86-64, simd128 in the wasm SIMD build (-msimd128),
// and plain scalar code where neither exists. Every operation they use is exact or IEEE
// correctly rounded, so no tolerance is needed anywhere.
//
// One "row" is a run of the innermost axis. A row is cut into segments of `segment` elements
// (the block size along the innermost axis); segment k of the row belongs to block k of the
// per-row block arrays passed in.
#include <cstddef>
#include <cstdint>

namespace mlpress::compress::kernels {

// Folds the row into running per-block ranges: lo[k] = min, hi[k] = max over the non-NaN values
// of segment k (start them at +inf / -inf), and any_nan[k] = 1 once a NaN is seen. Zeros may
// keep either sign.
void minmax_row_fp16_scalar(const uint16_t* row, size_t n, size_t segment, float* lo, float* hi,
                            uint8_t* any_nan);
void minmax_row_fp16_simd(const uint16_t* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan);
void minmax_row_fp32_scalar(const float* row, size_t n, size_t segment, float* lo, float* hi,
                            uint8_t* any_nan);
void minmax_row_fp32_simd(const float* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan);

// Codes for one row: q = clip(rne(w / s) + z, qmin, qmax), NaN -> 0, with w / s rounded to
// binary16 first in the fp16 variants. `scale` and `zero` hold one value per segment. Output
// bytes are the codes as int8 (two's complement) or uint8.
struct CodeRange {
  int32_t qmin;
  int32_t qmax;
};
void quantize_row_fp16_scalar(const uint16_t* row, size_t n, size_t segment, const float* scale,
                              const float* zero, CodeRange range, uint8_t* out);
void quantize_row_fp16_simd(const uint16_t* row, size_t n, size_t segment, const float* scale,
                            const float* zero, CodeRange range, uint8_t* out);
void quantize_row_fp32_scalar(const float* row, size_t n, size_t segment, const float* scale,
                              const float* zero, CodeRange range, uint8_t* out);
void quantize_row_fp32_simd(const float* row, size_t n, size_t segment, const float* scale,
                            const float* zero, CodeRange range, uint8_t* out);

// Building blocks exposed for tests: binary16 -> float, and float -> nearest binary16 value.
void fp16_to_float_simd(const uint16_t* in, size_t n, float* out);
void round_to_fp16_simd(const float* in, size_t n, float* out);
// Round half to even for every float (integers, inf and NaN pass through).
void round_half_even_simd(const float* in, size_t n, float* out);

}  // namespace mlpress::compress::kernels
