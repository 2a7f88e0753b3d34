#include "core/compress/prune_kernels.h"

#include <bit>
#include <cstring>

namespace mlpress::compress::kernels {
namespace {

constexpr uint32_t kAbs16 = 0x7FFFu;
constexpr uint32_t kAbs32 = 0x7FFFFFFFu;

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// ---------------------------------------------------------------------------------------------
// Scalar reference.

void prune_fp16_scalar(const uint16_t* w, size_t n, uint32_t t, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (w[i] & kAbs16) <= t ? uint16_t(0) : w[i];
}

void prune_fp32_scalar(const float* w, size_t n, uint32_t t, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (bits_of(w[i]) & kAbs32) <= t ? 0.0f : w[i];
}

// Element i of the run goes to bit i % 8 of byte i / 8; `get(i)` is 1 for a nonzero element.
template <typename IsNonzero>
uint64_t pack_scalar(size_t n, uint8_t* packed, IsNonzero is_nonzero) {
  uint64_t count = 0;
  for (size_t j = 0; j * 8 < n; ++j) {
    uint8_t byte = 0;
    for (size_t k = 0; k < 8 && j * 8 + k < n; ++k) {
      byte = uint8_t(byte | (is_nonzero(j * 8 + k) << k));
    }
    packed[j] = byte;
    count += uint64_t(std::popcount(byte));
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// SIMD twin: 4 x 32-bit lanes.

using u32x4 = uint32_t __attribute__((vector_size(16)));
constexpr size_t kLanes = 4;

inline u32x4 splat(uint32_t x) { return u32x4{x, x, x, x}; }

inline u32x4 load_u32(const float* p) {
  u32x4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_u32(float* p, u32x4 v) { std::memcpy(p, &v, sizeof v); }
inline u32x4 load_u16_widen(const uint16_t* p) { return u32x4{p[0], p[1], p[2], p[3]}; }
inline void store_u16_narrow(uint16_t* p, u32x4 v) {
  p[0] = uint16_t(v[0]);
  p[1] = uint16_t(v[1]);
  p[2] = uint16_t(v[2]);
  p[3] = uint16_t(v[3]);
}

// Lanes whose |x| > t keep x, the others become 0 (a comparison yields all-ones lanes).
inline u32x4 keep_above(u32x4 x, u32x4 abs_mask, u32x4 t) { return x & u32x4((x & abs_mask) > t); }

// Four lanes' nonzero flags as bits 0..3: lane k contributes 1 << k.
inline uint32_t nibble(u32x4 x, u32x4 abs_mask) {
  const u32x4 bits = u32x4((x & abs_mask) != splat(0)) & u32x4{1, 2, 4, 8};
  return bits[0] | bits[1] | bits[2] | bits[3];
}

template <typename Load>
uint64_t pack_simd(size_t n, uint8_t* packed, uint32_t abs_mask, Load load) {
  const u32x4 am = splat(abs_mask);
  size_t j = 0;
  uint64_t count = 0;
  for (; (j + 1) * 8 <= n; ++j) {
    const uint32_t byte = nibble(load(j * 8), am) | nibble(load(j * 8 + kLanes), am) << 4;
    packed[j] = uint8_t(byte);
    count += uint64_t(std::popcount(byte));
  }
  return count;
}

}  // namespace

void prune_abs_le_fp16_scalar(const uint16_t* w, size_t n, uint16_t threshold_bits, uint16_t* out) {
  prune_fp16_scalar(w, n, threshold_bits, out);
}

void prune_abs_le_fp16_simd(const uint16_t* w, size_t n, uint16_t threshold_bits, uint16_t* out) {
  const u32x4 am = splat(kAbs16);
  const u32x4 t = splat(threshold_bits);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    store_u16_narrow(out + i, keep_above(load_u16_widen(w + i), am, t));
  prune_fp16_scalar(w + i, n - i, threshold_bits, out + i);
}

void prune_abs_le_fp32_scalar(const float* w, size_t n, uint32_t threshold_bits, float* out) {
  prune_fp32_scalar(w, n, threshold_bits, out);
}

void prune_abs_le_fp32_simd(const float* w, size_t n, uint32_t threshold_bits, float* out) {
  const u32x4 am = splat(kAbs32);
  const u32x4 t = splat(threshold_bits);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_u32(out + i, keep_above(load_u32(w + i), am, t));
  prune_fp32_scalar(w + i, n - i, threshold_bits, out + i);
}

uint64_t pack_nonzero_mask_fp16_scalar(const uint16_t* v, size_t n, uint8_t* packed) {
  return pack_scalar(n, packed, [v](size_t i) { return (v[i] & kAbs16) != 0 ? 1 : 0; });
}

uint64_t pack_nonzero_mask_fp16_simd(const uint16_t* v, size_t n, uint8_t* packed) {
  const uint64_t head =
      pack_simd(n, packed, kAbs16, [v](size_t i) { return load_u16_widen(v + i); });
  const size_t done = n / 8 * 8;
  return head + pack_nonzero_mask_fp16_scalar(v + done, n - done, packed + done / 8);
}

uint64_t pack_nonzero_mask_fp32_scalar(const float* v, size_t n, uint8_t* packed) {
  return pack_scalar(n, packed, [v](size_t i) { return (bits_of(v[i]) & kAbs32) != 0 ? 1 : 0; });
}

uint64_t pack_nonzero_mask_fp32_simd(const float* v, size_t n, uint8_t* packed) {
  const uint64_t head = pack_simd(n, packed, kAbs32, [v](size_t i) { return load_u32(v + i); });
  const size_t done = n / 8 * 8;
  return head + pack_nonzero_mask_fp32_scalar(v + done, n - done, packed + done / 8);
}

}  // namespace mlpress::compress::kernels
