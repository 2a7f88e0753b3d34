#include "core/package/crc32.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
#include <immintrin.h>
#define MLPRESS_CRC32_PCLMUL 1
#endif

namespace mlpress {

uint32_t crc32_update_zlib(uint32_t crc, std::span<const std::byte> data) {
  // zlib takes uInt lengths: feed large spans in pieces.
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  for (size_t left = data.size(); left > 0;) {
    const size_t n = std::min<size_t>(left, size_t(1) << 30);
    crc = uint32_t(crc32(crc, p, uInt(n)));
    p += n;
    left -= n;
  }
  return crc;
}

#ifdef MLPRESS_CRC32_PCLMUL
namespace {

// Folding (Gopal et al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ"): a
// 128-bit block is moved D bits further along the message by multiplying its halves by
// x^(D+32) and x^(D-32) mod P (bit-reflected, shifted left by one), which keeps the message's
// value mod P. Four blocks in flight fold by 512 bits; the last ones by 128. The folded block
// and the tail are then a short message with the same CRC: zlib finishes it.
constexpr uint64_t kFold512Low = 0x154442bd4;
constexpr uint64_t kFold512High = 0x1c6e41596;
constexpr uint64_t kFold128Low = 0x1751997d0;
constexpr uint64_t kFold128High = 0x0ccaa009e;

__attribute__((target("pclmul,sse2"))) inline __m128i fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

__attribute__((target("pclmul,sse2"))) inline __m128i load(const std::byte* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// `data` holds at least 64 bytes.
__attribute__((target("pclmul,sse2"))) uint32_t crc32_folded(uint32_t crc,
                                                             std::span<const std::byte> data) {
  const std::byte* p = data.data();
  const std::byte* const end = p + data.size();
  // zlib's crc32(crc, ...) starts from the inverted CRC xored into the first four bytes.
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(int(~crc)));
  __m128i x1 = load(p + 16);
  __m128i x2 = load(p + 32);
  __m128i x3 = load(p + 48);
  p += 64;
  const __m128i k512 = _mm_set_epi64x(int64_t(kFold512High), int64_t(kFold512Low));
  for (; end - p >= 64; p += 64) {
    x0 = _mm_xor_si128(fold(x0, k512), load(p));
    x1 = _mm_xor_si128(fold(x1, k512), load(p + 16));
    x2 = _mm_xor_si128(fold(x2, k512), load(p + 32));
    x3 = _mm_xor_si128(fold(x3, k512), load(p + 48));
  }
  const __m128i k128 = _mm_set_epi64x(int64_t(kFold128High), int64_t(kFold128Low));
  __m128i x = _mm_xor_si128(fold(x0, k128), x1);
  x = _mm_xor_si128(fold(x, k128), x2);
  x = _mm_xor_si128(fold(x, k128), x3);
  for (; end - p >= 16; p += 16) x = _mm_xor_si128(fold(x, k128), load(p));
  // The folded block followed by the tail, with the CRC's start already in the block: zlib
  // with an inverted start of zero (0xFFFFFFFF) gives the message's CRC.
  std::byte rest[32];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(rest), x);
  const size_t tail = size_t(end - p);
  std::memcpy(rest + 16, p, tail);
  return crc32_update_zlib(0xFFFFFFFFu, std::span(rest, 16 + tail));
}

bool has_pclmul() {
  static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
  return yes;
}

}  // namespace
#endif

uint32_t crc32_update(uint32_t crc, std::span<const std::byte> data) {
#ifdef MLPRESS_CRC32_PCLMUL
  if (data.size() >= 256 && has_pclmul()) return crc32_folded(crc, data);
#endif
  return crc32_update_zlib(crc, data);
}

namespace {

// Polynomials mod P in CRC-32's reflected bit order (bit 31 is x^0, the reflected polynomial is
// 0xEDB88320). Done here rather than by zlib's crc32_combine, whose length parameter is a z_off_t
// whose size differs between the wasm dependency build and its header.
constexpr uint32_t kReflectedPoly = 0xEDB88320u;

uint32_t multiply_mod_p(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kReflectedPoly : b >> 1;  // b * x
  }
  return product;
}

// x^(8 n) mod P.
uint32_t x_to_8n_mod_p(uint64_t n) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t power = 1u << 23;   // x^8
  for (; n != 0; n >>= 1) {
    if (n & 1) result = multiply_mod_p(result, power);
    power = multiply_mod_p(power, power);
  }
  return result;
}

}  // namespace

uint32_t crc32_combine_lengths(uint32_t crc_a, uint32_t crc_b, uint64_t length_b) {
  // The CRC of A then B is A's CRC moved past B's length, xor B's CRC (the pre- and
  // post-inversions cancel out).
  return multiply_mod_p(x_to_8n_mod_p(length_b), crc_a) ^ crc_b;
}

}  // namespace mlpress
