// The linear quantization row kernels for x86-64 CPUs with AVX2 and F16C: the shared SIMD body
// on 8 lanes, with the hardware binary16 conversions and rounding. Only the functions below the
// target pragma use AVX2; every header is included before it, so no inline function shared with
// other translation units is compiled for AVX2 (which would break CPUs without it).
#include "core/compress/linear_quantize_kernels.h"

#if defined(MLPRESS_KERNELS_X86)

#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/compress/fp16_convert.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,f16c")
#endif

#include "core/compress/linear_quantize_simd_body.h"

namespace mlpress::compress::kernels {
namespace {

struct Avx2F16cIsa {
  static constexpr size_t kLanes = 8;
  using f32 = Vec<8>::f32;
  static f32 load_fp16(const uint16_t* p) {
    return f32(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  // NaN comes out quiet (payload bits may differ from float_to_fp16); only "is NaN" is used.
  static f32 round_fp16(f32 x) {
    return f32(_mm256_cvtph_ps(_mm256_cvtps_ph(__m256(x), _MM_FROUND_TO_NEAREST_INT)));
  }
  // max_keep_a / min_keep_a (SimdBody): maxps(b, a) is b > a ? b : a, minps(b, a) b < a ? b : a.
  static f32 max_keep_a(f32 a, f32 b) { return f32(_mm256_max_ps(__m256(b), __m256(a))); }
  static f32 min_keep_a(f32 a, f32 b) { return f32(_mm256_min_ps(__m256(b), __m256(a))); }
  static f32 round_even(f32 x) {
    return f32(_mm256_round_ps(__m256(x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  // Low bytes of 8 int32 lanes: masked to 0..255, the saturating packs are exact.
  static void store_bytes(Vec<8>::i32 c, uint8_t* out) {
    const __m256i low = _mm256_and_si256(__m256i(c), _mm256_set1_epi32(0xFF));
    const __m128i words =
        _mm_packus_epi32(_mm256_castsi256_si128(low), _mm256_extracti128_si256(low, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(words, words));
  }
  template <size_t H>
  static Vec<8>::f64 widen(f32 v) {
    if constexpr (H == 0) return Vec<8>::f64(_mm256_cvtps_pd(_mm256_castps256_ps128(__m256(v))));
    return Vec<8>::f64(_mm256_cvtps_pd(_mm256_extractf128_ps(__m256(v), 1)));
  }
};

using Avx2 = SimdBody<Avx2F16cIsa>;

}  // namespace

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const RowKernels* x86_avx2_kernels_if_supported() {
  static const RowKernels kAvx2 = {
      "avx2+f16c (8 lanes)", Avx2::minmax_fp16,   Avx2::minmax_fp32,
      Avx2::quantize_fp16,   Avx2::quantize_fp32,
  };
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("f16c")) return nullptr;
  return &kAvx2;
}

}  // namespace mlpress::compress::kernels

#endif  // MLPRESS_KERNELS_X86
