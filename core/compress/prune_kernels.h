#pragma once
// Inner loops of pruning (COMPRESSION.md §5), each as a plain scalar reference and a SIMD twin
// that must produce identical bytes. The twins use GCC/Clang vector extensions on 4 x 32-bit
// lanes (SSE2 on x86-64, simd128 in the wasm SIMD build), like linear_quantize_kernels.h. Both
// work on bit patterns only (integer compares and masks), so they agree exactly.
//
// Magnitudes are compared through their bit patterns: for non-negative floats, and NaN above
// infinity, the unsigned order of the bits is the order of the values. A threshold is passed as
// the bits of a non-negative, non-NaN value of the weight's type (+0, never -0).
#include <cstddef>
#include <cstdint>

namespace mlpress::compress::kernels {

// out[i] = +0 when |w[i]| <= threshold, else w[i] (NaN is never <= and stays).
void prune_abs_le_fp16_scalar(const uint16_t* w, size_t n, uint16_t threshold_bits, uint16_t* out);
void prune_abs_le_fp16_simd(const uint16_t* w, size_t n, uint16_t threshold_bits, uint16_t* out);
void prune_abs_le_fp32_scalar(const float* w, size_t n, uint32_t threshold_bits, float* out);
void prune_abs_le_fp32_simd(const float* w, size_t n, uint32_t threshold_bits, float* out);

// The sparse_to_dense mask of v (FORMAT.md §6.4/§6.7): bit i of the LSB-first stream is 1 iff
// v[i] is neither +0 nor -0. Writes ceil(n/8) bytes with the unused high bits of the last byte
// 0, and returns the number of set bits.
uint64_t pack_nonzero_mask_fp16_scalar(const uint16_t* v, size_t n, uint8_t* packed);
uint64_t pack_nonzero_mask_fp16_simd(const uint16_t* v, size_t n, uint8_t* packed);
uint64_t pack_nonzero_mask_fp32_scalar(const float* v, size_t n, uint8_t* packed);
uint64_t pack_nonzero_mask_fp32_simd(const float* v, size_t n, uint8_t* packed);

}  // namespace mlpress::compress::kernels
