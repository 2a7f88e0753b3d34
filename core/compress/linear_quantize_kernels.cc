#include "core/compress/linear_quantize_kernels.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress::kernels {
namespace {

// ---------------------------------------------------------------------------------------------
// Scalar reference.

inline float round_half_even(float x) { return std::nearbyint(x); }  // default FE_TONEAREST

inline uint8_t code_from(float y, float zero, CodeRange range) {
  float q = round_half_even(y) + zero;
  if (q != q) return 0;  // numpy's NaN -> int cast gives 0 on x86-64 (COMPRESSION.md §3.5)
  const float qmin = float(range.qmin);
  const float qmax = float(range.qmax);
  q = q < qmin ? qmin : q;
  q = q > qmax ? qmax : q;
  return uint8_t(int32_t(q));
}

inline uint8_t code_fp16(uint16_t w, float scale, float zero, CodeRange range) {
  return code_from(round_to_fp16(fp16_to_float(w) / scale), zero, range);
}

inline uint8_t code_fp32(float w, float scale, float zero, CodeRange range) {
  return code_from(w / scale, zero, range);
}

inline void fold(float x, float& lo, float& hi, uint8_t& any_nan) {
  if (x != x) any_nan = 1;
  lo = x < lo ? x : lo;
  hi = x > hi ? x : hi;
}

template <typename T, typename ToFloat>
void minmax_row_scalar(const T* row, size_t n, size_t segment, float* lo, float* hi,
                       uint8_t* any_nan, ToFloat to_float) {
  for (size_t i = 0; i < n; ++i) {
    const size_t k = i / segment;
    fold(to_float(row[i]), lo[k], hi[k], any_nan[k]);
  }
}

// ---------------------------------------------------------------------------------------------
// SIMD twin: 4 x 32-bit lanes of GCC/Clang vector extensions.

using f32x4 = float __attribute__((vector_size(16)));
using i32x4 = int32_t __attribute__((vector_size(16)));
using u32x4 = uint32_t __attribute__((vector_size(16)));
constexpr size_t kLanes = 4;

template <typename To, typename From>
inline To bit_as(From from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

inline f32x4 splat(float x) { return f32x4{x, x, x, x}; }
inline u32x4 splat_u(uint32_t x) { return u32x4{x, x, x, x}; }
inline i32x4 splat_i(int32_t x) { return i32x4{x, x, x, x}; }

inline f32x4 load_f32(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_f32(float* p, f32x4 v) { std::memcpy(p, &v, sizeof v); }

inline u32x4 load_u16_widen(const uint16_t* p) { return u32x4{p[0], p[1], p[2], p[3]}; }

// mask lanes are all ones or all zeros.
inline u32x4 select_bits(i32x4 mask, u32x4 a, u32x4 b) {
  const u32x4 m = bit_as<u32x4>(mask);
  return (m & a) | (~m & b);
}
inline f32x4 select(i32x4 mask, f32x4 a, f32x4 b) {
  return bit_as<f32x4>(select_bits(mask, bit_as<u32x4>(a), bit_as<u32x4>(b)));
}

inline f32x4 fp16_to_float_x4(u32x4 h) {
  const u32x4 em = (h & splat_u(0x7FFFu)) << 13;
  // Re-biasing by a multiply by 2^112 is exact for normals and turns subnormal halves (which
  // land on binary32 subnormals) into the right normal floats.
  const u32x4 scaled = bit_as<u32x4>(bit_as<f32x4>(em) * splat(0x1p112f));
  const i32x4 inf_nan = (h & splat_u(0x7C00u)) == splat_u(0x7C00u);
  const u32x4 magnitude = select_bits(inf_nan, em | splat_u(0x7F800000u), scaled);
  return bit_as<f32x4>(magnitude | ((h & splat_u(0x8000u)) << 16));
}

// Same rounding as float_to_fp16 (see there), staying in binary32.
inline f32x4 round_to_fp16_x4(f32x4 x) {
  const u32x4 u = bit_as<u32x4>(x);
  const u32x4 sign = u & splat_u(0x80000000u);
  const u32x4 a = u & splat_u(0x7FFFFFFFu);
  const i32x4 ai = bit_as<i32x4>(a);
  const u32x4 normal = (a + splat_u(0xFFFu) + ((a >> 13) & splat_u(1u))) & splat_u(~0x1FFFu);
  const f32x4 sub = (bit_as<f32x4>(a) + splat(0.5f)) - splat(0.5f);
  u32x4 r = select_bits(ai < splat_i(0x38800000), bit_as<u32x4>(sub), normal);
  r = select_bits(ai >= splat_i(0x477FF000), splat_u(0x7F800000u), r);
  r = select_bits(ai >= splat_i(0x7F800000), a, r);
  return bit_as<f32x4>(r | sign);
}

// Adding and removing 2^23 rounds |x| < 2^23 to an integer, ties to even; larger values, inf
// and NaN are already integers (or not numbers) and pass through.
inline f32x4 round_half_even_x4(f32x4 x) {
  const u32x4 u = bit_as<u32x4>(x);
  const f32x4 a = bit_as<f32x4>(u & splat_u(0x7FFFFFFFu));
  const f32x4 r = (a + splat(0x1p23f)) - splat(0x1p23f);
  const u32x4 signed_r = bit_as<u32x4>(r) | (u & splat_u(0x80000000u));
  return bit_as<f32x4>(select_bits(a < splat(0x1p23f), signed_r, u));
}

inline void codes_x4(f32x4 y, f32x4 zero, CodeRange range, uint8_t* out) {
  f32x4 q = round_half_even_x4(y) + zero;
  const f32x4 qmin = splat(float(range.qmin));
  const f32x4 qmax = splat(float(range.qmax));
  q = select(q < qmin, qmin, q);
  q = select(q > qmax, qmax, q);
  q = select(q == q, q, splat(0.0f));
  const i32x4 c = __builtin_convertvector(q, i32x4);
  for (size_t k = 0; k < kLanes; ++k) out[k] = uint8_t(c[k]);
}

struct Fp16Source {
  using T = uint16_t;
  static f32x4 load(const uint16_t* p) { return fp16_to_float_x4(load_u16_widen(p)); }
  static float one(uint16_t w) { return fp16_to_float(w); }
  static f32x4 quotient(f32x4 w, f32x4 s) { return round_to_fp16_x4(w / s); }
  static uint8_t code(uint16_t w, float s, float z, CodeRange r) { return code_fp16(w, s, z, r); }
};

struct Fp32Source {
  using T = float;
  static f32x4 load(const float* p) { return load_f32(p); }
  static float one(float w) { return w; }
  static f32x4 quotient(f32x4 w, f32x4 s) { return w / s; }
  static uint8_t code(float w, float s, float z, CodeRange r) { return code_fp32(w, s, z, r); }
};

template <typename Source>
void minmax_row_simd(const typename Source::T* row, size_t n, size_t segment, float* lo, float* hi,
                     uint8_t* any_nan) {
  if (segment == 1) {
    // One block per element: vectorise across blocks.
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      const f32x4 x = Source::load(row + i);
      const f32x4 l = load_f32(lo + i);
      const f32x4 h = load_f32(hi + i);
      store_f32(lo + i, select(x < l, x, l));
      store_f32(hi + i, select(x > h, x, h));
      const i32x4 nan = x != x;
      for (size_t k = 0; k < kLanes; ++k) any_nan[i + k] |= uint8_t(nan[k] & 1);
    }
    for (; i < n; ++i) fold(Source::one(row[i]), lo[i], hi[i], any_nan[i]);
    return;
  }
  if (segment < kLanes) {
    minmax_row_scalar(row, n, segment, lo, hi, any_nan, Source::one);
    return;
  }
  for (size_t start = 0, k = 0; start < n; start += segment, ++k) {
    f32x4 vlo = splat(std::numeric_limits<float>::infinity());
    f32x4 vhi = splat(-std::numeric_limits<float>::infinity());
    i32x4 vnan = splat_i(0);
    size_t i = start;
    for (; i + kLanes <= start + segment; i += kLanes) {
      const f32x4 x = Source::load(row + i);
      vlo = select(x < vlo, x, vlo);
      vhi = select(x > vhi, x, vhi);
      vnan |= x != x;
    }
    // A lane that saw only NaN still holds +inf / -inf, which must not widen the range.
    for (size_t lane = 0; lane < kLanes; ++lane) {
      if (vnan[lane]) any_nan[k] = 1;
      lo[k] = vlo[lane] < lo[k] ? vlo[lane] : lo[k];
      hi[k] = vhi[lane] > hi[k] ? vhi[lane] : hi[k];
    }
    for (; i < start + segment; ++i) fold(Source::one(row[i]), lo[k], hi[k], any_nan[k]);
  }
}

template <typename Source>
void quantize_row_simd(const typename Source::T* row, size_t n, size_t segment, const float* scale,
                       const float* zero, CodeRange range, uint8_t* out) {
  if (segment >= kLanes) {
    for (size_t start = 0, k = 0; start < n; start += segment, ++k) {
      const f32x4 s = splat(scale[k]);
      const f32x4 z = splat(zero[k]);
      size_t i = start;
      for (; i + kLanes <= start + segment; i += kLanes) {
        codes_x4(Source::quotient(Source::load(row + i), s), z, range, out + i);
      }
      for (; i < start + segment; ++i) out[i] = Source::code(row[i], scale[k], zero[k], range);
    }
    return;
  }
  // Short segments: gather each lane's block parameters.
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    f32x4 s = splat(0.0f);
    f32x4 z = splat(0.0f);
    for (size_t lane = 0; lane < kLanes; ++lane) {
      s[lane] = scale[(i + lane) / segment];
      z[lane] = zero[(i + lane) / segment];
    }
    codes_x4(Source::quotient(Source::load(row + i), s), z, range, out + i);
  }
  for (; i < n; ++i) out[i] = Source::code(row[i], scale[i / segment], zero[i / segment], range);
}

}  // namespace

void minmax_row_fp16_scalar(const uint16_t* row, size_t n, size_t segment, float* lo, float* hi,
                            uint8_t* any_nan) {
  minmax_row_scalar(row, n, segment, lo, hi, any_nan, fp16_to_float);
}

void minmax_row_fp32_scalar(const float* row, size_t n, size_t segment, float* lo, float* hi,
                            uint8_t* any_nan) {
  minmax_row_scalar(row, n, segment, lo, hi, any_nan, [](float x) { return x; });
}

void minmax_row_fp16_simd(const uint16_t* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan) {
  minmax_row_simd<Fp16Source>(row, n, segment, lo, hi, any_nan);
}

void minmax_row_fp32_simd(const float* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan) {
  minmax_row_simd<Fp32Source>(row, n, segment, lo, hi, any_nan);
}

void quantize_row_fp16_scalar(const uint16_t* row, size_t n, size_t segment, const float* scale,
                              const float* zero, CodeRange range, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = code_fp16(row[i], scale[i / segment], zero[i / segment], range);
  }
}

void quantize_row_fp32_scalar(const float* row, size_t n, size_t segment, const float* scale,
                              const float* zero, CodeRange range, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = code_fp32(row[i], scale[i / segment], zero[i / segment], range);
  }
}

void quantize_row_fp16_simd(const uint16_t* row, size_t n, size_t segment, const float* scale,
                            const float* zero, CodeRange range, uint8_t* out) {
  quantize_row_simd<Fp16Source>(row, n, segment, scale, zero, range, out);
}

void quantize_row_fp32_simd(const float* row, size_t n, size_t segment, const float* scale,
                            const float* zero, CodeRange range, uint8_t* out) {
  quantize_row_simd<Fp32Source>(row, n, segment, scale, zero, range, out);
}

void fp16_to_float_simd(const uint16_t* in, size_t n, float* out) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_f32(out + i, fp16_to_float_x4(load_u16_widen(in + i)));
  for (; i < n; ++i) out[i] = fp16_to_float(in[i]);
}

void round_to_fp16_simd(const float* in, size_t n, float* out) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_f32(out + i, round_to_fp16_x4(load_f32(in + i)));
  for (; i < n; ++i) out[i] = round_to_fp16(in[i]);
}

void round_half_even_simd(const float* in, size_t n, float* out) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store_f32(out + i, round_half_even_x4(load_f32(in + i)));
  for (; i < n; ++i) out[i] = round_half_even(in[i]);
}

}  // namespace mlpress::compress::kernels
