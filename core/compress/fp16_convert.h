#pragma once
// IEEE binary16 <-> binary32, both directions, in plain integer code (no _Float16: g++ 12 and
// emcc's clang 14 disagree on it). float -> half rounds to nearest, ties to even, as numpy's
// astype(np.float16) and every IEEE fp16 arithmetic result do.
#include <cstdint>
#include <cstring>

namespace mlpress::compress {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Unsigned keys in the floats' order (negative floats reversed, positives above them; -0 as +0):
// a < b for non-NaN floats exactly when float_order_key(a) < float_order_key(b).
inline uint32_t float_order_key(float v) {
  const uint32_t bits = float_bits(v == 0.0f ? 0.0f : v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

inline float float_from_order_key(uint32_t key) {
  return float_from_bits((key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key);
}

inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) return float_from_bits(sign | 0x7F800000u | (mantissa << 13));
  if (exponent != 0) return float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24 is exact in binary32.
  const float magnitude = float(mantissa) * 0x1p-24f;
  return float_from_bits(sign | float_bits(magnitude));
}

// NaN stays NaN (quiet, top payload bits kept); overflow past 65520 gives infinity.
inline uint16_t float_to_fp16(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7FFFFFFFu;
  if (a >= 0x7F800000u) {
    if (a == 0x7F800000u) return uint16_t(sign | 0x7C00u);
    return uint16_t(sign | 0x7E00u | ((a >> 13) & 0x3FFu));
  }
  if (a >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // >= 65520 rounds to infinity
  if (a < 0x38800000u) {
    // Below the smallest normal half: round to a multiple of 2^-24. Adding 0.5 puts the value in
    // [0.5, 1), whose binary32 spacing is exactly 2^-24, so the FPU does the tie-to-even.
    const float rounded = float_from_bits(a) + 0.5f;
    return uint16_t(sign | (float_bits(rounded) - float_bits(0.5f)));
  }
  // Normal: drop 13 mantissa bits with ties to even; a carry into the exponent is correct.
  const uint32_t rounded = a + 0xFFFu + ((a >> 13) & 1u);
  return uint16_t(sign | ((rounded - (112u << 23)) >> 13));
}

// The nearest binary16 value, as a float (what numpy stores after one fp16 operation).
inline float round_to_fp16(float f) { return fp16_to_float(float_to_fp16(f)); }

}  // namespace mlpress::compress
