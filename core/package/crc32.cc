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

namespace {

// Polynomials mod P in CRC-32's reflected bit order (bit 31 is x^0, the reflected polynomial is
// 0xEDB88320). Done here rather than by zlib's crc32_combine, whose length parameter is a z_off_t
// whose size differs between the wasm dependency build and its header.
constexpr uint32_t kReflectedPoly = 0xEDB88320u;

constexpr uint32_t multiply_mod_p(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if (a & bit) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kReflectedPoly : b >> 1;  // b * x
  }
  return product;
}

// x^(8 n) mod P.
constexpr uint32_t x_to_8n_mod_p(uint64_t n) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t power = 1u << 23;   // x^8
  for (; n != 0; n >>= 1) {
    if (n & 1) result = multiply_mod_p(result, power);
    power = multiply_mod_p(power, power);
  }
  return result;
}

// --- The portable path -----------------------------------------------------------------------
// A span's CRC depends only on its bits read as a polynomial mod P, and P divides
//   Q(x) = x^2400 + x^1240 + x^936 + x^712 + 1
// (checked below; found by searching for multiples of P with few terms, all whole bytes apart).
// Adding a shifted Q to the message therefore keeps its CRC. Shift it so that its top term
// cancels one byte's bits: that byte becomes zero and its value is xored into the bytes 145,
// 183, 211 and 300 further on (bytes further on are lower powers). Doing so for every byte but
// the last 300, front to back, leaves zeros followed by 300-odd bytes, each the input byte xor
// the final values of the bytes 145, 183, 211 and 300 before it that were cleared. zlib's
// CRC of those bytes alone, from a zero register, is the span's CRC. Every tap is at least 16
// bytes back, so 16 bytes go at a time: five loads, four xors and a store, no tables. This is
// the idea of Kadatch and Jenkins' "Chorba" (2024), with a multiple chosen for 16-byte blocks.
constexpr size_t kTap1 = 145;
constexpr size_t kTap2 = 183;
constexpr size_t kTap3 = 211;
constexpr size_t kSpan = 300;  // the top tap, and the bytes left for zlib
static_assert((x_to_8n_mod_p(kSpan) ^ x_to_8n_mod_p(kSpan - kTap1) ^ x_to_8n_mod_p(kSpan - kTap2) ^
               x_to_8n_mod_p(kSpan - kTap3) ^ x_to_8n_mod_p(0)) == 0,
              "Q must be a multiple of the CRC-32 polynomial");
constexpr size_t kSparseMin = kSpan + 16;

// Two 64-bit lanes: one simd128 or SSE2 register, or a pair of plain 64-bit words without SIMD.
using Block = uint64_t __attribute__((vector_size(16)));

inline Block load_block(const std::byte* p) {
  Block b;
  std::memcpy(&b, p, sizeof b);
  return b;
}

inline void store_block(std::byte* p, Block b) { std::memcpy(p, &b, sizeof b); }

// The final value of the 16 bytes at `oldest + kSpan`, whose input is at `in`. All offsets
// count up from the oldest tap: wasm loads fold only non-negative constant offsets, and
// subtracting each tap costs an instruction per load (half the speed).
inline Block cleared_value(const std::byte* oldest, const std::byte* in) {
  return load_block(in) ^ load_block(oldest + (kSpan - kTap1)) ^
         load_block(oldest + (kSpan - kTap2)) ^ load_block(oldest + (kSpan - kTap3)) ^
         load_block(oldest);
}

}  // namespace

uint32_t crc32_update_sparse(uint32_t crc, std::span<const std::byte> data) {
  if (data.size() < kSparseMin) return crc32_update_zlib(crc, data);
  // The final values go into `history` in blocks; when it fills, its last kHistory bytes (all
  // the taps can reach) move to the front. Sized for one block plus the tail's zeros.
  constexpr size_t kHistory = (kSpan + 15) / 16 * 16;
  constexpr size_t kBlock = 4096;
  alignas(16) std::byte history[kHistory + kBlock + kSparseMin];
  std::memset(history, 0, kHistory);  // bytes before the span: no contribution
  std::byte* const values = history + kHistory;
  const std::byte* in = data.data();
  // Whole blocks of 16 are cleared; the tail keeps kSpan to kSpan + 15 bytes.
  const size_t cleared = (data.size() - kSpan) & ~size_t(15);

  // zlib starts its register at ~crc: the same as xoring ~crc into the first four bytes.
  std::byte first[16];
  std::memcpy(first, in, 16);
  for (size_t i = 0; i < 4; ++i) first[i] ^= std::byte(uint8_t(~crc >> (8 * i)));
  store_block(values, cleared_value(values - kSpan, first));
  size_t done = 16;
  size_t at = 16;  // where in `values` the byte `done` goes
  for (;;) {
    const size_t n = std::min(kBlock - at, cleared - done);
    const std::byte* src = in + done;
    std::byte* oldest = values + at - kSpan;
    for (std::byte* const stop = oldest + n; oldest < stop; oldest += 16, src += 16) {
      store_block(oldest + kSpan, cleared_value(oldest, src));
    }
    done += n;
    at += n;
    if (done == cleared) break;
    std::memcpy(history, history + kBlock, kHistory);
    at = 0;
  }

  // The tail: its own bytes were not cleared, so taps reaching into it (the nearest, kTap1,
  // reaches all but its last kTap1 bytes) must read zeros. Its values are independent of one
  // another, so a last partial block may overlap the one before.
  const size_t tail = data.size() - cleared;
  std::memset(values + at, 0, tail - kTap1);
  std::byte rest[kSparseMin];
  const std::byte* const tail_in = in + cleared;
  std::byte* const tail_oldest = values + at - kSpan;
  for (size_t k = 0; k + 16 <= tail; k += 16) {
    store_block(rest + k, cleared_value(tail_oldest + k, tail_in + k));
  }
  store_block(rest + tail - 16, cleared_value(tail_oldest + tail - 16, tail_in + tail - 16));
  return crc32_update_zlib(0xFFFFFFFFu, std::span(rest, tail));
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
  // Below a KiB zlib's tables are about as fast (the sparse path's zlib tail is 300 bytes).
  if (data.size() >= 1024) return crc32_update_sparse(crc, data);
  return crc32_update_zlib(crc, data);
}

uint32_t crc32_combine_lengths(uint32_t crc_a, uint32_t crc_b, uint64_t length_b) {
  // The CRC of A then B is A's CRC moved past B's length, xor B's CRC (the pre- and
  // post-inversions cancel out).
  return multiply_mod_p(x_to_8n_mod_p(length_b), crc_a) ^ crc_b;
}

}  // namespace mlpress
