// binary16 conversions: every half value both ways, and float -> half on a dense sweep of all
// float bit patterns against an independent double-precision reference (and F16C hardware when
// the machine has it). The SIMD twins must match the scalar functions bit for bit.
#include "core/compress/fp16_convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/compress/linear_quantize_kernels.h"
#include "core/mil/fp16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace mlpress::compress {
namespace {

bool is_nan_half(uint16_t h) { return (h & 0x7FFFu) > 0x7C00u; }

// Nearest half by scaling into an integer grid in double: the grid step is 2^(e-10) for
// exponent e, never finer than the subnormal step 2^-24.
uint16_t float_to_fp16_reference(float f) {
  if (std::isnan(f)) return 0x7E00;
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(double(f));
  if (a == 0) return sign;
  int e = 0;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  const int exponent = std::max(e - 1, -14);
  const double step = std::ldexp(1.0, exponent - 10);
  const double r = std::nearbyint(a / step) * step;
  if (r >= 65520.0 || std::isinf(a)) return sign | 0x7C00;
  // Encode r exactly.
  if (r < std::ldexp(1.0, -14)) return uint16_t(sign | uint16_t(r / std::ldexp(1.0, -24)));
  int re = 0;
  const double rm = std::frexp(r, &re);
  const uint16_t biased = uint16_t(re - 1 + 15);
  const uint16_t mantissa = uint16_t((rm * 2 - 1) * 1024);
  return uint16_t(sign | (biased << 10) | mantissa);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("f16c"))) uint16_t float_to_fp16_f16c(float f) {
  return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
bool have_f16c() { return __builtin_cpu_supports("f16c"); }
#endif

TEST(Fp16Convert, EveryHalfToFloatMatchesMilDecoderAndRoundTrips) {
  std::vector<uint16_t> all(65536);
  for (uint32_t h = 0; h < 65536; ++h) all[h] = uint16_t(h);
  std::vector<float> simd(all.size());
  kernels::fp16_to_float_simd(all.data(), all.size(), simd.data());
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_float(uint16_t(h));
    ASSERT_EQ(float_bits(f), float_bits(fp16_bits_to_float(uint16_t(h)))) << std::hex << h;
    ASSERT_EQ(float_bits(simd[h]), float_bits(f)) << std::hex << h;
    if (is_nan_half(uint16_t(h))) {
      ASSERT_TRUE(is_nan_half(float_to_fp16(f))) << std::hex << h;
    } else {
      ASSERT_EQ(float_to_fp16(f), h) << std::hex << h;
    }
  }
}

// Every 331st float bit pattern (13 million values), plus all ties and their neighbours around
// every half value, checked against the reference, F16C and the SIMD twin.
TEST(Fp16Convert, FloatToHalfRoundsToNearestEven) {
  std::vector<float> inputs;
  for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 331) inputs.push_back(float_from_bits(uint32_t(u)));
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    const float lo = fp16_to_float(uint16_t(h));
    const float hi = h + 1 == 0x7C00 ? 65536.0f : fp16_to_float(uint16_t(h + 1));
    const float mid = (lo + hi) / 2;  // exact in binary32
    for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f)}) {
      inputs.push_back(x);
      inputs.push_back(-x);
    }
  }
#if defined(__x86_64__) && defined(__GNUC__)
  const bool f16c = have_f16c();
#endif
  std::vector<float> simd(inputs.size());
  kernels::round_to_fp16_simd(inputs.data(), inputs.size(), simd.data());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const float f = inputs[i];
    const uint16_t h = float_to_fp16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(is_nan_half(h));
      ASSERT_TRUE(std::isnan(simd[i]));
      continue;
    }
    ASSERT_EQ(h, float_to_fp16_reference(f)) << std::hexfloat << f;
#if defined(__x86_64__) && defined(__GNUC__)
    if (f16c) {
      ASSERT_EQ(h, float_to_fp16_f16c(f)) << std::hexfloat << f;
    }
#endif
    ASSERT_EQ(float_bits(simd[i]), float_bits(round_to_fp16(f))) << std::hexfloat << f;
  }
}

TEST(Fp16Convert, RoundHalfEvenSimdMatchesNearbyint) {
  std::vector<float> inputs;
  for (uint64_t u = 0; u <= 0xFFFFFFFFull; u += 251) inputs.push_back(float_from_bits(uint32_t(u)));
  for (int k = -600; k <= 600; ++k) {
    inputs.push_back(float(k) / 2);
    inputs.push_back(std::nextafter(float(k) / 2, 1e9f));
    inputs.push_back(std::nextafter(float(k) / 2, -1e9f));
  }
  for (float x : {0x1p23f, -0x1p23f, 0x1p23f - 0.5f, 0x1p22f + 0.5f, 0x1p24f + 2}) {
    inputs.push_back(x);
  }
  std::vector<float> out(inputs.size());
  kernels::round_half_even_simd(inputs.data(), inputs.size(), out.data());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const float expect = std::nearbyint(inputs[i]);
    if (std::isnan(expect)) {
      ASSERT_TRUE(std::isnan(out[i]));
    } else {
      ASSERT_EQ(float_bits(out[i]), float_bits(expect)) << std::hexfloat << inputs[i];
    }
  }
}

}  // namespace
}  // namespace mlpress::compress
