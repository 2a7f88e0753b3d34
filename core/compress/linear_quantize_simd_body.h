#pragma once
// The SIMD twin of the linear quantization row kernels, written once over an `Isa` that gives
// the lane count and three conversions (binary16 load, rounding to binary16, rounding half to
// even). Included only by the kernel translation units, each of which compiles it for its own
// instruction set; everything here has internal linkage so the copies never meet at link time.
//
// Isa must provide:
//   static constexpr size_t kLanes;                       // 4 or 8
//   static Vec<kLanes>::f32 load_fp16(const uint16_t*);   // kLanes halves -> floats
//   static Vec<kLanes>::f32 round_fp16(Vec<kLanes>::f32); // nearest binary16 value, as floats
//   static Vec<kLanes>::f32 round_even(Vec<kLanes>::f32); // round half to even
//   static void store_bytes(Vec<kLanes>::i32, uint8_t*);  // low byte of each lane
//   template <size_t H> static Vec<kLanes>::f64 widen(Vec<kLanes>::f32);  // half H as doubles
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/compress/fp16_convert.h"
#include "core/compress/linear_quantize_kernels.h"

namespace mlpress::compress::kernels {
namespace {

// (typedef, not using: GCC drops the attribute from a dependent alias declaration.)
template <size_t L>
struct Vec {
  typedef float f32 __attribute__((vector_size(4 * L)));
  typedef int32_t i32 __attribute__((vector_size(4 * L)));
  typedef uint32_t u32 __attribute__((vector_size(4 * L)));
  typedef uint16_t u16 __attribute__((vector_size(2 * L)));
  typedef uint8_t u8 __attribute__((vector_size(L)));
  typedef double f64 __attribute__((vector_size(4 * L)));  // L / 2 doubles
  typedef int64_t i64 __attribute__((vector_size(4 * L)));
};

template <typename To, typename From>
inline To bit_as(From from) {
  static_assert(sizeof(To) == sizeof(From));
  return __builtin_bit_cast(To, from);  // (a memcpy here defeats GCC in the large kernels)
}

// Mask lanes are all ones or all zeros.
template <typename V, typename M>
inline V select(M mask, V a, V b) {
  using U = decltype(mask);
  const U m = mask;
  return bit_as<V>((m & bit_as<U>(a)) | (~m & bit_as<U>(b)));
}

// The scalar steps, shared by the scalar reference and the SIMD tails.
inline float round_half_even(float x) { return std::nearbyint(x); }  // default FE_TONEAREST

inline float code_value(float y, float zero, CodeRange range) {
  float q = round_half_even(y) + zero;
  if (q != q) return 0;  // numpy's NaN -> int cast gives 0 on x86-64 (COMPRESSION.md §3.5)
  const float qmin = float(range.qmin);
  const float qmax = float(range.qmax);
  q = q < qmin ? qmin : q;
  q = q > qmax ? qmax : q;
  return q;
}

struct ScalarFp16 {
  using T = uint16_t;
  static float load(uint16_t w) { return fp16_to_float(w); }
  static float quotient(float w, float s) { return round_to_fp16(w / s); }
  static float reconstruct(float q, float z, float s) { return round_to_fp16((q - z) * s); }
};

struct ScalarFp32 {
  using T = float;
  static float load(float w) { return w; }
  static float quotient(float w, float s) { return w / s; }
  static float reconstruct(float q, float z, float s) { return (q - z) * s; }
};

// Error sums in kErrorLanes interleaved lanes.
struct LaneSums {
  double signal[kErrorLanes] = {};
  double noise[kErrorLanes] = {};
  double dot[kErrorLanes] = {};
  double recon[kErrorLanes] = {};
  double max_abs[kErrorLanes] = {};

  void add(size_t lane, float w, float r) {
    const double wd = w;
    const double rd = r;
    const double e = wd - rd;
    signal[lane] += wd * wd;
    noise[lane] += e * e;
    dot[lane] += wd * rd;
    recon[lane] += rd * rd;
    const double a = std::fabs(e);
    max_abs[lane] = (a > max_abs[lane] || a != a) ? a : max_abs[lane];
  }

  ErrorSums total() const {
    ErrorSums s;
    for (size_t k = 0; k < kErrorLanes; ++k) {
      ErrorSums lane;
      lane.signal = signal[k];
      lane.noise = noise[k];
      lane.dot = dot[k];
      lane.recon_energy = recon[k];
      lane.max_abs = max_abs[k];
      add_error_sums(s, lane);
    }
    return s;
  }
};

// One element of the scalar reference: its code, and its error into lane i % kErrorLanes.
template <typename Scalar>
inline void quantize_one(const typename Scalar::T* row, size_t i, size_t k, SegmentParams p,
                         CodeRange range, uint8_t* out, LaneSums& sums) {
  const float w = Scalar::load(row[i]);
  const float q = code_value(Scalar::quotient(w, p.scale[k]), p.zero[k], range);
  out[i] = uint8_t(int32_t(q));
  sums.add(i % kErrorLanes, w, Scalar::reconstruct(q, p.stored_zero[k], p.scale[k]));
}

inline void fold(float x, float& lo, float& hi, uint8_t& any_nan) {
  if (x != x) any_nan = 1;
  lo = x < lo ? x : lo;
  hi = x > hi ? x : hi;
}

template <typename Isa>
struct SimdBody {
  static constexpr size_t L = Isa::kLanes;
  static constexpr size_t kVectorsPerGroup = kErrorLanes / L;  // one group = kErrorLanes elements
  static_assert(kErrorLanes % L == 0);
  using f32 = typename Vec<L>::f32;
  using i32 = typename Vec<L>::i32;
  using u32 = typename Vec<L>::u32;
  using u8 = typename Vec<L>::u8;
  using d2 = typename Vec<L>::f64;  // L / 2 doubles
  using m64 = typename Vec<L>::i64;

  static f32 splat(float x) { return f32{} + x; }
  static f32 load_f32(const float* p) {
    f32 v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }

  struct Fp16 {
    using T = uint16_t;
    using Scalar = ScalarFp16;
    static f32 load(const uint16_t* p) { return Isa::load_fp16(p); }
    static f32 quotient(f32 w, f32 s) { return Isa::round_fp16(w / s); }
    static f32 reconstruct(f32 q, f32 z, f32 s) { return Isa::round_fp16((q - z) * s); }
  };
  struct Fp32 {
    using T = float;
    using Scalar = ScalarFp32;
    static f32 load(const float* p) { return load_f32(p); }
    static f32 quotient(f32 w, f32 s) { return w / s; }
    static f32 reconstruct(f32 q, f32 z, f32 s) { return (q - z) * s; }
  };

  // Codes as floats (NaN -> 0, clipped), and their bytes written to out.
  static f32 codes(f32 y, f32 zero, CodeRange range, uint8_t* out) {
    f32 q = Isa::round_even(y) + zero;
    const f32 qmin = splat(float(range.qmin));
    const f32 qmax = splat(float(range.qmax));
    q = select(q < qmin, qmin, q);
    q = select(q > qmax, qmax, q);
    q = select(q == q, q, splat(0.0f));
    Isa::store_bytes(__builtin_convertvector(q, i32), out);
    return q;
  }

  // Per-lane double sums of one vector position in the group: two halves of L / 2 lanes.
  struct Acc {
    d2 signal[2] = {};
    d2 noise[2] = {};
    d2 dot[2] = {};
    d2 recon[2] = {};
    // max |e| (a > m ? a : m, one max instruction) and, apart, whether any |e| was NaN: the
    // pair gives the NaN-sticky maximum without a loop-carried blend.
    d2 max_abs[2] = {};
    m64 any_nan = {};
  };

  template <size_t H>
  static void accumulate_half(Acc& acc, f32 w, f32 r) {
    const d2 wd = Isa::template widen<H>(w);
    const d2 rd = Isa::template widen<H>(r);
    const d2 e = wd - rd;
    acc.signal[H] += wd * wd;
    acc.noise[H] += e * e;
    acc.dot[H] += wd * rd;
    acc.recon[H] += rd * rd;
    const d2 a = bit_as<d2>(bit_as<m64>(e) & (m64{} + std::numeric_limits<int64_t>::max()));
    acc.max_abs[H] = select(a > acc.max_abs[H], a, acc.max_abs[H]);
    acc.any_nan |= a != a;
  }

  static void spill(const Acc (&acc)[kVectorsPerGroup], LaneSums& sums) {
    for (size_t v = 0; v < kVectorsPerGroup; ++v) {
      for (size_t h = 0; h < 2; ++h) {
        for (size_t j = 0; j < L / 2; ++j) {
          const size_t lane = v * L + h * (L / 2) + j;
          sums.signal[lane] = acc[v].signal[h][j];
          sums.noise[lane] = acc[v].noise[h][j];
          sums.dot[lane] = acc[v].dot[h][j];
          sums.recon[lane] = acc[v].recon[h][j];
          sums.max_abs[lane] =
              acc[v].any_nan[j] ? std::numeric_limits<double>::quiet_NaN() : acc[v].max_abs[h][j];
        }
      }
    }
  }

  template <typename Source>
  static void step(const typename Source::T* row, size_t i, f32 s, f32 z, f32 dz, CodeRange range,
                   uint8_t* out, Acc& acc) {
    const f32 w = Source::load(row + i);
    const f32 q = codes(Source::quotient(w, s), z, range, out + i);
    const f32 r = Source::reconstruct(q, dz, s);
    accumulate_half<0>(acc, w, r);
    accumulate_half<1>(acc, w, r);
  }

  template <typename Source>
  static ErrorSums quantize_row(const typename Source::T* row, size_t n, size_t segment,
                                SegmentParams p, CodeRange range, uint8_t* out) {
    Acc acc[kVectorsPerGroup];
    size_t i = 0;
    if (segment % kErrorLanes == 0) {
      // Two short loops over each chunk (codes, then errors) instead of one long one: each has
      // a shorter dependency chain, so the CPU overlaps more iterations.
      constexpr size_t kChunk = 256;
      alignas(64) float codes_as_float[kChunk];
      for (size_t k = 0; i < n; ++k) {
        const f32 s = splat(p.scale[k]);
        const f32 z = splat(p.zero[k]);
        const f32 dz = splat(p.stored_zero[k]);
        for (const size_t end = i + segment; i < end;) {
          const size_t chunk_end = std::min(end, i + kChunk);
          for (size_t j = i; j < chunk_end; j += L) {
            const f32 q = codes(Source::quotient(Source::load(row + j), s), z, range, out + j);
            std::memcpy(codes_as_float + (j - i), &q, sizeof q);
          }
          for (size_t j = i; j < chunk_end; j += kErrorLanes) {
            for (size_t v = 0; v < kVectorsPerGroup; ++v) {
              const f32 w = Source::load(row + j + v * L);
              const f32 r = Source::reconstruct(load_f32(codes_as_float + (j - i) + v * L), dz, s);
              accumulate_half<0>(acc[v], w, r);
              accumulate_half<1>(acc[v], w, r);
            }
          }
          i = chunk_end;
        }
      }
    } else {
      // Short or ragged segments: gather each lane's block parameters.
      for (; i + kErrorLanes <= n; i += kErrorLanes) {
        for (size_t v = 0; v < kVectorsPerGroup; ++v) {
          f32 s, z, dz;
          for (size_t lane = 0; lane < L; ++lane) {
            const size_t k = (i + v * L + lane) / segment;
            s[lane] = p.scale[k];
            z[lane] = p.zero[k];
            dz[lane] = p.stored_zero[k];
          }
          step<Source>(row, i + v * L, s, z, dz, range, out, acc[v]);
        }
      }
    }
    LaneSums sums;
    spill(acc, sums);
    for (; i < n; ++i) {
      quantize_one<typename Source::Scalar>(row, i, i / segment, p, range, out, sums);
    }
    return sums.total();
  }

  template <typename Source>
  static void minmax_row(const typename Source::T* row, size_t n, size_t segment, float* lo,
                         float* hi, uint8_t* any_nan) {
    using Scalar = typename Source::Scalar;
    if (segment == 1) {
      // One block per element: vectorise across blocks.
      size_t i = 0;
      for (; i + L <= n; i += L) {
        const f32 x = Source::load(row + i);
        const f32 l = load_f32(lo + i);
        const f32 h = load_f32(hi + i);
        const f32 new_lo = select(x < l, x, l);
        const f32 new_hi = select(x > h, x, h);
        std::memcpy(lo + i, &new_lo, sizeof new_lo);
        std::memcpy(hi + i, &new_hi, sizeof new_hi);
        const i32 nan = x != x;
        for (size_t k = 0; k < L; ++k) any_nan[i + k] |= uint8_t(nan[k] & 1);
      }
      for (; i < n; ++i) fold(Scalar::load(row[i]), lo[i], hi[i], any_nan[i]);
      return;
    }
    for (size_t start = 0, k = 0; start < n; start += segment, ++k) {
      f32 vlo = splat(std::numeric_limits<float>::infinity());
      f32 vhi = splat(-std::numeric_limits<float>::infinity());
      i32 vnan = i32{};
      size_t i = start;
      for (; i + L <= start + segment; i += L) {
        const f32 x = Source::load(row + i);
        vlo = select(x < vlo, x, vlo);
        vhi = select(x > vhi, x, vhi);
        vnan |= x != x;
      }
      // A lane that saw only NaN still holds +inf / -inf, which must not widen the range.
      for (size_t lane = 0; lane < L; ++lane) {
        if (vnan[lane]) any_nan[k] = 1;
        lo[k] = vlo[lane] < lo[k] ? vlo[lane] : lo[k];
        hi[k] = vhi[lane] > hi[k] ? vhi[lane] : hi[k];
      }
      for (; i < start + segment; ++i) fold(Scalar::load(row[i]), lo[k], hi[k], any_nan[k]);
    }
  }

  static void minmax_fp16(const uint16_t* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan) {
    minmax_row<Fp16>(row, n, segment, lo, hi, any_nan);
  }
  static void minmax_fp32(const float* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan) {
    minmax_row<Fp32>(row, n, segment, lo, hi, any_nan);
  }
  static ErrorSums quantize_fp16(const uint16_t* row, size_t n, size_t segment, SegmentParams p,
                                 CodeRange range, uint8_t* out) {
    return quantize_row<Fp16>(row, n, segment, p, range, out);
  }
  static ErrorSums quantize_fp32(const float* row, size_t n, size_t segment, SegmentParams p,
                                 CodeRange range, uint8_t* out) {
    return quantize_row<Fp32>(row, n, segment, p, range, out);
  }
};

// The portable conversions: integer bit manipulation and one multiply, on any lane count.
template <size_t L>
struct PortableIsa {
  static constexpr size_t kLanes = L;
  using f32 = typename Vec<L>::f32;
  using i32 = typename Vec<L>::i32;
  using u32 = typename Vec<L>::u32;
  using u16 = typename Vec<L>::u16;
  static u32 splat_u(uint32_t x) { return u32{} + x; }
  static f32 splat(float x) { return f32{} + x; }

  // Normal halves: re-bias the exponent by an integer add. Zero and subnormal halves: the float
  // 2^-14 * (1 + m / 1024) minus 2^-14 is m * 2^-24 exactly. No step sees a subnormal float
  // (which costs a microcode assist on x86 CPUs, also under wasm).
  static f32 fp16_to_float(u32 h) {
    const u32 em = (h & splat_u(0x7FFFu)) << 13;
    const u32 exponent = em & splat_u(0x0F800000u);
    const u32 normal = em + splat_u(112u << 23);
    const u32 small = bit_as<u32>(bit_as<f32>(em + splat_u(113u << 23)) - splat(0x1p-14f));
    u32 magnitude = select(exponent == splat_u(0), small, normal);
    magnitude = select(exponent == splat_u(0x0F800000u), em | splat_u(0x7F800000u), magnitude);
    return bit_as<f32>(magnitude | ((h & splat_u(0x8000u)) << 16));
  }

  template <size_t H>
  static typename Vec<L>::f64 widen(f32 v) {
    using f64 = typename Vec<L>::f64;
    if constexpr (L == 8) {
      if constexpr (H == 0)
        return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), f64);
      else
        return __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), f64);
    } else {
      if constexpr (H == 0)
        return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1), f64);
      else
        return __builtin_convertvector(__builtin_shufflevector(v, v, 2, 3), f64);
    }
  }

  static void store_bytes(i32 c, uint8_t* out) {
    const typename Vec<L>::u8 bytes = __builtin_convertvector(c, typename Vec<L>::u8);
    std::memcpy(out, &bytes, sizeof bytes);
  }

  static f32 load_fp16(const uint16_t* p) {
    u16 h;
    std::memcpy(&h, p, sizeof h);
    return fp16_to_float(__builtin_convertvector(h, u32));
  }

  // Same rounding as float_to_fp16, staying in binary32. For 2^E <= |x| < 2^(E+1), adding and
  // removing c = 2^(E+13) rounds |x| to a multiple of 2^(E-10), i.e. to 11 significant bits,
  // ties to even (the sum's last place is |x|'s rounded last place, c has none); below the
  // smallest normal half, E is taken as -14 so the step is the subnormal spacing 2^-24.
  // Magnitudes from 65520 round to infinity; inf and NaN pass through.
  static f32 round_fp16(f32 x) {
    const u32 u = bit_as<u32>(x);
    const u32 sign = u & splat_u(0x80000000u);
    const u32 a = u & splat_u(0x7FFFFFFFu);
    const i32 ai = bit_as<i32>(a);
    const i32 exponent = bit_as<i32>(a & splat_u(0x7F800000u));
    const i32 floor = i32{} + 0x38800000;  // 2^-14
    const i32 e = select(exponent < floor, floor, exponent);
    const f32 c = bit_as<f32>(e + (i32{} + (13 << 23)));
    u32 r = bit_as<u32>((bit_as<f32>(a) + c) - c);
    r = select(ai >= (i32{} + 0x477FF000), splat_u(0x7F800000u), r);
    r = select(ai >= (i32{} + 0x7F800000), a, r);
    return bit_as<f32>(r | sign);
  }

  // Adding and removing 2^23 rounds |x| < 2^23 to an integer, ties to even; larger values, inf
  // and NaN are already integers (or not numbers) and pass through.
  static f32 round_even(f32 x) {
    const u32 u = bit_as<u32>(x);
    const f32 a = bit_as<f32>(u & splat_u(0x7FFFFFFFu));
    const f32 r = (a + splat(0x1p23f)) - splat(0x1p23f);
    const u32 signed_r = bit_as<u32>(r) | (u & splat_u(0x80000000u));
    return bit_as<f32>(select(a < splat(0x1p23f), signed_r, u));
  }
};

}  // namespace
}  // namespace mlpress::compress::kernels
