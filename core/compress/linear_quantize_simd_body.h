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
// and, for the wasm simd128 build (whose Isa is PortableIsa<4>), fp16_to_float and
// fp16_to_float_finite on sign-extended halves in int32 lanes. It may provide
// round_fp16_normal, max_keep_a and min_keep_a (SimdBody has portable versions).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  typedef int16_t halves __attribute__((vector_size(4 * L)));  // 2L lanes of binary16 bits
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

// The fp16 error sums: fp16 values square and multiply exactly in float, so each lane sums in
// float over a chunk of kFp16SumChunk elements of the row (kFp16SumChunk / kErrorLanes terms, a
// relative rounding error of at most 15 float ulps), and each chunk's lane sums are then added
// into the double LaneSums. Float lanes are twice as wide per vector and need no widening, which
// is what makes the 4-lane (simd128) fp16 pass fast. Chunks start at multiples of kFp16SumChunk
// in the row, whatever the segments.
inline constexpr size_t kFp16SumChunk = 128;
static_assert(kFp16SumChunk % kErrorLanes == 0);

struct ChunkSums {
  float signal[kErrorLanes] = {};
  float noise[kErrorLanes] = {};
  float dot[kErrorLanes] = {};
  float recon[kErrorLanes] = {};
  float max_abs[kErrorLanes] = {};  // max of the non-NaN |e|; a NaN |e| shows as a NaN noise

  void add(size_t lane, float w, float r) {
    const float e = w - r;
    signal[lane] += w * w;
    noise[lane] += e * e;
    dot[lane] += w * r;
    recon[lane] += r * r;
    const float a = std::fabs(e);
    max_abs[lane] = max_abs[lane] < a ? a : max_abs[lane];
  }

  // Adds the chunk into `sums` and starts a new chunk.
  void flush_into(LaneSums& sums) {
    for (size_t k = 0; k < kErrorLanes; ++k) {
      sums.signal[k] += signal[k];
      sums.noise[k] += noise[k];
      sums.dot[k] += dot[k];
      sums.recon[k] += recon[k];
      const double a =
          noise[k] != noise[k] ? std::numeric_limits<double>::quiet_NaN() : double(max_abs[k]);
      sums.max_abs[k] = (a > sums.max_abs[k] || a != a) ? a : sums.max_abs[k];
    }
    *this = ChunkSums{};
  }
};

// One element of the scalar reference: its code, and its error into lane i % kErrorLanes.
template <typename Scalar, typename Sums>
inline void quantize_one(const typename Scalar::T* row, size_t i, size_t k, SegmentParams p,
                         CodeRange range, uint8_t* out, Sums& sums) {
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

  // Lane-wise a < b ? b : a and b < a ? b : a (a NaN `a` comes through): one instruction each
  // (f32x4.pmax / pmin, maxps / minps).
  static f32 max_keep_a(f32 a, f32 b) {
    if constexpr (requires { Isa::max_keep_a(a, b); }) return Isa::max_keep_a(a, b);
#if defined(__wasm_simd128__)
    if constexpr (L == 4) return f32(wasm_f32x4_pmax(v128_t(a), v128_t(b)));
#endif
    return select(a < b, b, a);
  }
  static f32 min_keep_a(f32 a, f32 b) {
    if constexpr (requires { Isa::min_keep_a(a, b); }) return Isa::min_keep_a(a, b);
#if defined(__wasm_simd128__)
    if constexpr (L == 4) return f32(wasm_f32x4_pmin(v128_t(a), v128_t(b)));
#endif
    return select(b < a, b, a);
  }

  // The fp16 pass, all in float lanes: each weight is converted once; codes come from the
  // rounding sum t = (y + 1.5 * 2^23) + z, whose last bits are rne(y) + z (y is an fp16 value,
  // so |y| <= 65504 and the sum is exact; a sum too large to be exact lies beyond the clip
  // bounds, and rounding is monotonic, so clipping t to [M + qmin, M + qmax] clips the same
  // codes); NaN -> 0 by a mask. The error sums are ChunkSums in float lanes.
  struct Fp16Acc {
    f32 signal[kVectorsPerGroup] = {};
    f32 noise[kVectorsPerGroup] = {};
    f32 dot[kVectorsPerGroup] = {};
    f32 recon[kVectorsPerGroup] = {};
    // One max |e| for all the group's vectors (a max in any order is the same max), lane j
    // standing for lanes j, j + L, ...
    f32 max_abs = {};
    // The ordinary wasm path's binary16 conversion leaves out infinity and NaN: the largest half
    // shifted left by one (dropping the sign) shows whether the row had any (>= 0xF800).
    typename Vec<8>::u16 doubled_halves_max = {};

    void spill(ChunkSums& c) const {
      for (size_t v = 0; v < kVectorsPerGroup; ++v) {
        for (size_t j = 0; j < L; ++j) {
          c.signal[v * L + j] = signal[v][j];
          c.noise[v * L + j] = noise[v][j];
          c.dot[v * L + j] = dot[v][j];
          c.recon[v * L + j] = recon[v][j];
          c.max_abs[v * L + j] = max_abs[j];
        }
      }
    }
  };

  // The double sums of a row's completed chunks, lane by lane as ChunkSums::flush_into adds
  // them, in vectors. The max |e| is not flushed: Fp16Acc keeps it over the whole row (a max of
  // chunk maxima is the max), and a chunk whose noise is NaN marks its lanes NaN for good.
  struct Fp16Totals {
    d2 signal[kVectorsPerGroup][2] = {};
    d2 noise[kVectorsPerGroup][2] = {};
    d2 dot[kVectorsPerGroup][2] = {};
    d2 recon[kVectorsPerGroup][2] = {};
    i32 nan[kVectorsPerGroup] = {};

    // Adds the chunk in `acc` and clears its sums.
    void flush(Fp16Acc& acc) {
      for (size_t v = 0; v < kVectorsPerGroup; ++v) {
        add_halves(signal[v], acc.signal[v]);
        add_halves(noise[v], acc.noise[v]);
        add_halves(dot[v], acc.dot[v]);
        add_halves(recon[v], acc.recon[v]);
        nan[v] |= acc.noise[v] != acc.noise[v];
        acc.signal[v] = acc.noise[v] = acc.dot[v] = acc.recon[v] = f32{};
      }
    }
    static void add_halves(d2 (&total)[2], f32 part) {
      total[0] += Isa::template widen<0>(part);
      total[1] += Isa::template widen<1>(part);
    }

    // Into LaneSums, whose max_abs then holds NaN for the marked lanes (0 for the others).
    void spill(LaneSums& sums) const {
      for (size_t v = 0; v < kVectorsPerGroup; ++v) {
        for (size_t h = 0; h < 2; ++h) {
          for (size_t j = 0; j < L / 2; ++j) {
            const size_t lane = v * L + h * (L / 2) + j;
            sums.signal[lane] = signal[v][h][j];
            sums.noise[lane] = noise[v][h][j];
            sums.dot[lane] = dot[v][h][j];
            sums.recon[lane] = recon[v][h][j];
            sums.max_abs[lane] =
                nan[v][h * (L / 2) + j] ? std::numeric_limits<double>::quiet_NaN() : 0.0;
          }
        }
      }
    }
  };

  static constexpr float kRoundingMagic = 0x1.8p23f;

  // The errors of one vector of weights w against their reconstruction r, into lane group V.
  template <size_t V>
  static void accumulate_fp16(f32 w, f32 r, Fp16Acc& acc) {
    const f32 e = w - r;
    acc.signal[V] += w * w;
    acc.noise[V] += e * e;
    acc.dot[V] += w * r;
    acc.recon[V] += r * r;
    const f32 a = bit_as<f32>(bit_as<i32>(e) & 0x7FFFFFFF);
    acc.max_abs = max_keep_a(acc.max_abs, a);  // a NaN |e| is seen in noise instead
  }

  // One vector of converted weights: its codes (in the low byte of each lane) and errors.
  template <size_t V>
  static i32 fp16_step(f32 w, f32 s, f32 z, f32 dz, f32 lo, f32 hi, Fp16Acc& acc) {
    const f32 magic = splat(kRoundingMagic);
    f32 t = (Isa::round_fp16(w / s) + magic) + z;
    t = min_keep_a(max_keep_a(t, lo), hi);
    const i32 number = t == t;
    const f32 q = bit_as<f32>(bit_as<i32>(t - magic) & number);
    accumulate_fp16<V>(w, Isa::round_fp16((q - dz) * s), acc);
    return bit_as<i32>(t) & number;  // t = 1.5 * 2^23 + code: the low byte is the code's
  }

  // x rounded to 11 significant bits, ties to even: x's binary16 value wherever that is zero or
  // normal (callers use it only there, see fp16_path). With c = 1.5 * 2^(E + 13) for x's binary32
  // exponent E, x + c lies in [2^(E+13), 2^(E+14)) whatever x's sign; that binade's spacing is
  // 2^(E-10), binary16's spacing for x, and c is an even multiple of it, so the sum rounds x to
  // binary16's grid, ties to even, and removing c is exact. Unlike round_fp16 it neither
  // overflows to infinity past 65504 nor switches to the subnormal spacing below 2^-14; inf and
  // NaN pass through (c is then a tiny negative number).
  static f32 round_fp16_normal(f32 x) {
    if constexpr (requires { Isa::round_fp16_normal(x); }) {
      return Isa::round_fp16_normal(x);
    } else {
      const u32 exponent = bit_as<u32>(x) & 0x7F800000u;
      const f32 c = bit_as<f32>(exponent + ((13u << 23) + 0x400000u));
      return (x + c) - c;
    }
  }

  // The ordinary rows' step (fp16_path): the same codes and reconstruction as fp16_step for
  // weights that are not NaN. round_fp16_normal (or round_fp16_split) suffices for the quotient (an
  // overflow only has to clip to qmax, a quotient below 2^-14 only has to round to code zero) and
  // for (q - dz) * s (an exact product, zero or normal and at most 65504 by the segment checks).
  // Without NaN there is no mask. zero_in_magic: t0 = magic + z when z is even (adding z before the
  // rounding then breaks ties the same way); otherwise t0 = magic and z is added after it, as
  // fp16_step.
  struct OrdinaryParams {
    f32 s, t0, z, magic_dz;  // magic_dz = magic + dz, so t - magic_dz = code - dz exactly
  };
  // round_fp16_normal in three float operations, for finite x (Veltkamp's splitting: with
  // g = x * (2^13 + 1), g + (x - g) is x rounded to 24 - 13 = 11 significant bits). Checked
  // equal to round_fp16_normal, bit for bit, on every value the ordinary step gives it: the
  // quotient w / s of every finite half w by every normal half s, and (code - dz) * s for every
  // integer code - dz within 511 and every such s. An infinite x gives NaN (g - g), so it is
  // used on quotients only where the weights are finite (kFiniteOrdinaryWeights); a NaN
  // reconstruction only comes from a NaN weight, whose row the general path redoes anyway.
  static f32 round_fp16_split(f32 x) {
    const f32 g = x * splat(8193.0f);
    return g + (x - g);
  }
  // The wasm ordinary path converts infinity and NaN halves to finite floats (fp16_group).
#if defined(__wasm_simd128__)
  static constexpr bool kFiniteOrdinaryWeights = L == 4;
#else
  static constexpr bool kFiniteOrdinaryWeights = false;
#endif
  template <size_t V, bool kZeroInMagic>
  static i32 fp16_step_ordinary(f32 w, const OrdinaryParams& p, f32 lo, f32 hi, Fp16Acc& acc) {
    const f32 y = w / p.s;
    f32 t;
    if constexpr (kFiniteOrdinaryWeights)
      t = round_fp16_split(y) + p.t0;
    else
      t = round_fp16_normal(y) + p.t0;
    if constexpr (!kZeroInMagic) t = t + p.z;
    t = min_keep_a(max_keep_a(t, lo), hi);
    accumulate_fp16<V>(w, round_fp16_split((t - p.magic_dz) * p.s), acc);
    return bit_as<i32>(t);
  }

  // kErrorLanes elements; step(std::integral_constant<size_t, V>, w) gives the codes of the V-th
  // vector of weights (in the low byte of each lane) and adds its errors. kFiniteHalves: the
  // wasm conversion skips infinity and NaN and records the halves in acc.doubled_halves_max
  // instead (fp16_groups checks it).
  template <bool kFiniteHalves, typename Step>
  static void fp16_group(const uint16_t* in, uint8_t* out, [[maybe_unused]] Fp16Acc& acc,
                         Step step) {
#if defined(__wasm_simd128__)
    if constexpr (L == 4) {
      // One load of 8 halves, and the 8 code bytes packed by two narrowing steps.
      const v128_t h = wasm_v128_load(in);
      f32 w0, w1;
      if constexpr (kFiniteHalves) {
        w0 = Isa::fp16_to_float_finite(i32(wasm_i32x4_extend_low_i16x8(h)));
        w1 = Isa::fp16_to_float_finite(i32(wasm_i32x4_extend_high_i16x8(h)));
        acc.doubled_halves_max = typename Vec<8>::u16(
            wasm_u16x8_max(v128_t(acc.doubled_halves_max), wasm_i16x8_shl(h, 1)));
      } else {
        w0 = Isa::fp16_to_float(i32(wasm_i32x4_extend_low_i16x8(h)));
        w1 = Isa::fp16_to_float(i32(wasm_i32x4_extend_high_i16x8(h)));
      }
      const v128_t byte = wasm_i32x4_splat(0xFF);
      const v128_t c0 = wasm_v128_and(v128_t(step(std::integral_constant<size_t, 0>{}, w0)), byte);
      const v128_t c1 = wasm_v128_and(v128_t(step(std::integral_constant<size_t, 1>{}, w1)), byte);
      const v128_t c16 = wasm_u16x8_narrow_i32x4(c0, c1);
      const int64_t bytes = wasm_i64x2_extract_lane(wasm_u8x16_narrow_i16x8(c16, c16), 0);
      std::memcpy(out, &bytes, sizeof bytes);
      return;
    }
#endif
    [&]<size_t... V>(std::index_sequence<V...>) {
      (Isa::store_bytes(step(std::integral_constant<size_t, V>{}, Isa::load_fp16(in + V * L)),
                        out + V * L),
       ...);
    }
    (std::make_index_sequence<kVectorsPerGroup>{});
  }

  struct BlockParams {
    f32 s, z, dz;
  };

  enum class Fp16Path { kGeneral, kOrdinary, kOrdinaryZeroInMagic };

  // A row is ordinary when its segments are whole groups and every segment has a normal binary16
  // scale (2^-14 <= s <= 65504), integer zero points within 255 and a reconstruction
  // (code - dz) * s that stays within 65504 for every code: what quantize_linear gives any block
  // without NaN, zero range or tiny scale. NaN weights are found afterwards (fp16_groups).
  static Fp16Path fp16_path(size_t n, size_t segment, SegmentParams p, CodeRange range) {
    if (segment % kErrorLanes != 0 || n < kErrorLanes) return Fp16Path::kGeneral;
    bool even = true;
    for (size_t k = 0; k * segment < n; ++k) {
      const float s = p.scale[k];
      const float z = p.zero[k];
      const float dz = p.stored_zero[k];
      if (!(s >= 0x1p-14f && s <= 65504.0f)) return Fp16Path::kGeneral;
      if (!(std::fabs(z) <= 255.0f && std::nearbyint(z) == z)) return Fp16Path::kGeneral;
      if (!(std::fabs(dz) <= 255.0f && std::nearbyint(dz) == dz)) return Fp16Path::kGeneral;
      const float reach =
          std::max(std::fabs(float(range.qmin) - dz), std::fabs(float(range.qmax) - dz));
      if (!(reach * s <= 65504.0f)) return Fp16Path::kGeneral;  // exact: 9 x 11 bits
      if (std::fmod(z, 2.0f) != 0.0f) even = false;
    }
    return even ? Fp16Path::kOrdinaryZeroInMagic : Fp16Path::kOrdinary;
  }

  // The groups of the row (all but its last n % kErrorLanes elements) into totals and acc. The
  // ordinary paths return false, having found a NaN weight (a NaN noise sum), when the row must
  // be redone by the general path. Not inlined: each path is then a function of its own, and
  // V8 recompiles (TurboFan, on the first wasm compress) only the path a weight's rows take,
  // not all three unrolled bodies in one 18 KB function. The sums are copied in and out so that
  // they stay in registers in the loops (through the references they would live in memory).
  template <Fp16Path kPath>
  __attribute__((noinline)) static bool fp16_groups(const uint16_t* row, size_t full,
                                                    size_t segment, SegmentParams p,
                                                    CodeRange range, uint8_t* out,
                                                    Fp16Totals& totals_out, Fp16Acc& acc_out) {
    Fp16Totals totals = totals_out;
    Fp16Acc acc = acc_out;
    const bool done = fp16_groups_body<kPath>(row, full, segment, p, range, out, totals, acc);
    totals_out = totals;
    acc_out = acc;
    return done;
  }

  template <Fp16Path kPath>
  __attribute__((always_inline)) static bool fp16_groups_body(const uint16_t* row, size_t full,
                                                              size_t segment, SegmentParams p,
                                                              CodeRange range, uint8_t* out,
                                                              Fp16Totals& totals, Fp16Acc& acc) {
    const f32 lo = splat(kRoundingMagic + float(range.qmin));
    const f32 hi = splat(kRoundingMagic + float(range.qmax));
    size_t i = 0;
    size_t k = 0;
    size_t segment_end = 0;
    BlockParams block{};
    OrdinaryParams ordinary{};
    const bool uniform = segment % kErrorLanes == 0;
    while (i < full) {
      const size_t chunk_end = std::min(full, (i / kFp16SumChunk + 1) * kFp16SumChunk);
      if (uniform) {
        while (i < chunk_end) {
          if (i == segment_end) {
            const float s = p.scale[k], z = p.zero[k], dz = p.stored_zero[k];
            block = {splat(s), splat(z), splat(dz)};
            const bool in_magic = kPath == Fp16Path::kOrdinaryZeroInMagic;
            ordinary = {splat(s), splat(kRoundingMagic + (in_magic ? z : 0.0f)), splat(z),
                        splat(kRoundingMagic + dz)};
            ++k;
            segment_end += segment;
          }
          const size_t run_end = std::min(chunk_end, segment_end);
          if constexpr (kPath == Fp16Path::kGeneral) {
            const BlockParams same = block;
            for (; i < run_end; i += kErrorLanes) {
              fp16_group<false>(row + i, out + i, acc, [&](auto v, f32 w) {
                return fp16_step<decltype(v)::value>(w, same.s, same.z, same.dz, lo, hi, acc);
              });
            }
          } else {
            const OrdinaryParams same = ordinary;
            // Four groups per iteration: V8 reloads the constants it spilled once per iteration
            // (the wasm kernel goes from 0.83 to 1.08 GB/s; AVX2 gains a little too).
#if defined(__clang__)
#pragma clang loop unroll_count(4)
#else
#pragma GCC unroll 4
#endif
            for (; i < run_end; i += kErrorLanes) {
              fp16_group<true>(row + i, out + i, acc, [&](auto v, f32 w) {
                return fp16_step_ordinary<decltype(v)::value,
                                          kPath == Fp16Path::kOrdinaryZeroInMagic>(w, same, lo, hi,
                                                                                   acc);
              });
            }
          }
        }
      } else if constexpr (kPath == Fp16Path::kGeneral) {
        // Short or ragged segments: gather each lane's block parameters.
        for (; i < chunk_end; i += kErrorLanes) {
          fp16_group<false>(row + i, out + i, acc, [&](auto v, f32 w) {
            float s[L], z[L], dz[L];
            for (size_t lane = 0; lane < L; ++lane) {
              const size_t b = (i + v * L + lane) / segment;
              s[lane] = p.scale[b];
              z[lane] = p.zero[b];
              dz[lane] = p.stored_zero[b];
            }
            return fp16_step<decltype(v)::value>(w, load_f32(s), load_f32(z), load_f32(dz), lo, hi,
                                                 acc);
          });
        }
      }
      if (i % kFp16SumChunk == 0) totals.flush(acc);
    }
    if constexpr (kPath != Fp16Path::kGeneral) {
      i32 nan = {};
      for (size_t v = 0; v < kVectorsPerGroup; ++v)
        nan |= totals.nan[v] | (acc.noise[v] != acc.noise[v]);
      for (size_t lane = 0; lane < L; ++lane) {
        if (nan[lane]) return false;
      }
      for (size_t lane = 0; lane < 8; ++lane) {
        if (acc.doubled_halves_max[lane] >= 0xF800) return false;
      }
    }
    return true;
  }

  static ErrorSums quantize_row_fp16(const uint16_t* row, size_t n, size_t segment, SegmentParams p,
                                     CodeRange range, uint8_t* out) {
    const size_t full = n - n % kErrorLanes;
    Fp16Acc acc;
    Fp16Totals totals;
    bool done = false;
    switch (fp16_path(n, segment, p, range)) {
      case Fp16Path::kOrdinaryZeroInMagic:
        done = fp16_groups<Fp16Path::kOrdinaryZeroInMagic>(row, full, segment, p, range, out,
                                                           totals, acc);
        break;
      case Fp16Path::kOrdinary:
        done = fp16_groups<Fp16Path::kOrdinary>(row, full, segment, p, range, out, totals, acc);
        break;
      case Fp16Path::kGeneral:
        break;
    }
    if (!done) {
      acc = Fp16Acc{};
      totals = Fp16Totals{};
      fp16_groups<Fp16Path::kGeneral>(row, full, segment, p, range, out, totals, acc);
    }
    LaneSums sums;
    ChunkSums chunk;
    totals.spill(sums);
    acc.spill(chunk);  // the last, partial chunk (or zeros), which the tail continues
    for (size_t i = full; i < n; ++i) {
      quantize_one<ScalarFp16>(row, i, i / segment, p, range, out, chunk);
    }
    chunk.flush_into(sums);
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

  // The range of `count` halves (a multiple of 2L) on their bits, without converting them:
  // key(h) = h ^ ((h >> 15) & 0x7FFF), as int16, orders halves as their values (-0 just below
  // +0, NaNs beyond the infinities), and 2L keys fit one vector. Folds the block's lowest and
  // highest value into lo / hi and returns true, or returns false, folding nothing, when the
  // halves hold a NaN (a magnitude above 0x7C00), whose key would have taken a side.
  static bool minmax_fp16_keys(const uint16_t* p, size_t count, float& lo, float& hi) {
    using H = typename Vec<L>::halves;
    constexpr size_t kHalves = 2 * L;
    H kmin = H{} + int16_t(0x7FFF);
    H kmax = H{} + int16_t(-0x8000);
    H magnitude = H{};
    for (size_t i = 0; i < count; i += kHalves) {
      H h;
      std::memcpy(&h, p + i, sizeof h);
      const H key = h ^ ((h >> 15) & int16_t(0x7FFF));
#if defined(__wasm_simd128__)
      if constexpr (L == 4) {
        kmin = H(wasm_i16x8_min(v128_t(kmin), v128_t(key)));
        kmax = H(wasm_i16x8_max(v128_t(kmax), v128_t(key)));
        magnitude = H(wasm_i16x8_max(v128_t(magnitude), v128_t(h & int16_t(0x7FFF))));
        continue;
      }
#endif
      kmin = select(key < kmin, key, kmin);
      kmax = select(key > kmax, key, kmax);
      const H m = h & int16_t(0x7FFF);
      magnitude = select(m > magnitude, m, magnitude);
    }
    int16_t low = kmin[0], high = kmax[0], top = magnitude[0];
    for (size_t lane = 1; lane < kHalves; ++lane) {
      low = std::min<int16_t>(low, kmin[lane]);
      high = std::max<int16_t>(high, kmax[lane]);
      top = std::max<int16_t>(top, magnitude[lane]);
    }
    if (top > 0x7C00) return false;
    // The key map is its own inverse.
    const auto value = [](int16_t key) {
      return fp16_to_float(uint16_t(key ^ ((key >> 15) & 0x7FFF)));
    };
    const float block_lo = value(low), block_hi = value(high);
    lo = block_lo < lo ? block_lo : lo;
    hi = block_hi > hi ? block_hi : hi;
    return true;
  }

  static void minmax_fp16(const uint16_t* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan) {
    // Blocks of at least 8L halves take the integer path (shorter ones spend more on its lane
    // reduction than they save); a block with a NaN, and short blocks, take the float path.
    if (segment < 8 * L) return minmax_row<Fp16>(row, n, segment, lo, hi, any_nan);
    const size_t whole = segment - segment % (2 * L);
    for (size_t start = 0, k = 0; start < n; start += segment, ++k) {
      const uint16_t* block = row + start;
      if (!minmax_fp16_keys(block, whole, lo[k], hi[k])) {
        minmax_row<Fp16>(block, segment, segment, lo + k, hi + k, any_nan + k);
        continue;
      }
      for (size_t i = whole; i < segment; ++i)
        fold(fp16_to_float(block[i]), lo[k], hi[k], any_nan[k]);
    }
  }
  static void minmax_fp32(const float* row, size_t n, size_t segment, float* lo, float* hi,
                          uint8_t* any_nan) {
    minmax_row<Fp32>(row, n, segment, lo, hi, any_nan);
  }
  static ErrorSums quantize_fp16(const uint16_t* row, size_t n, size_t segment, SegmentParams p,
                                 CodeRange range, uint8_t* out) {
    return quantize_row_fp16(row, n, segment, p, range, out);
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

#if defined(__SSE2__) && !defined(__wasm_simd128__)
  // max_keep_a / min_keep_a (SimdBody): maxps(b, a) is b > a ? b : a, minps(b, a) b < a ? b : a.
  static f32 max_keep_a(f32 a, f32 b) requires(L == 4) {
    return f32(_mm_max_ps(__m128(b), __m128(a)));
  }
  static f32 min_keep_a(f32 a, f32 b) requires(L == 4) {
    return f32(_mm_min_ps(__m128(b), __m128(a)));
  }
#endif

  // Lane-wise max / min of non-negative int32 (i32x4.max_s / min_s in wasm).
  static i32 max_i(i32 a, i32 b) {
#if defined(__wasm_simd128__)
    if constexpr (L == 4) return i32(wasm_i32x4_max(v128_t(a), v128_t(b)));
#endif
    return select(a < b, b, a);
  }
  static i32 min_i(i32 a, i32 b) {
#if defined(__wasm_simd128__)
    if constexpr (L == 4) return i32(wasm_i32x4_min(v128_t(a), v128_t(b)));
#endif
    return select(b < a, b, a);
  }

  // h: the half in the low 16 bits, sign-extended. em = the 15 magnitude bits moved to a float's
  // exponent and mantissa. Normal halves: em re-biased by an integer add. Zero and subnormal
  // halves: the float 2^-14 * (1 + m / 1024) minus 2^-14 is m * 2^-24 exactly. Each candidate is
  // the smaller of the two for its kind of half (for a normal half w, the second is 2w - 2^-14 >=
  // w; for a subnormal one, the first is 2^-15 + m * 2^-25 > m * 2^-24), so one min picks it, with
  // no mask. Inf / NaN halves get the all-ones exponent by an OR (the mantissa stays). No step sees
  // a subnormal float (which costs a microcode assist on x86 CPUs, also under wasm).
  static f32 fp16_to_float(i32 h) {
    const f32 finite = fp16_to_float_finite(h);
    const i32 special = (bit_as<i32>(finite) & 0x7FFFFFFF) >= 0x47800000;  // exponent 31
    return bit_as<f32>(bit_as<i32>(finite) | (special & 0x7F800000));      // inf / NaN
  }
  // The same for halves that are neither infinity nor NaN (those come out finite, >= 65536).
  // (Moving the bits into place and multiplying by 2^112 takes 3 operations instead of 8, but
  // turns every subnormal half into a subnormal float: the kernel then runs at 2/3 of its speed
  // on such rows, even under wasm on a Zen 3, for 5% on ordinary ones.)
  static f32 fp16_to_float_finite(i32 h) {
    const i32 em = (h << 13) & 0x0FFFE000;
    const f32 normal = bit_as<f32>(em + (112 << 23));
    const f32 small = bit_as<f32>(em + (113 << 23)) - splat(0x1p-14f);
#if defined(__wasm_simd128__)
    const i32 magnitude = i32(wasm_f32x4_pmin(v128_t(small), v128_t(normal)));
#else
    const i32 magnitude = bit_as<i32>(select(small < normal, small, normal));
#endif
    return bit_as<f32>(magnitude | (h & int32_t(0x80000000u)));
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
#if defined(__wasm_simd128__)
    if constexpr (L == 4) return fp16_to_float(i32(wasm_i32x4_load16x4(p)));
#endif
    typedef int16_t i16 __attribute__((vector_size(2 * L)));
    i16 h;
    std::memcpy(&h, p, sizeof h);
    return fp16_to_float(__builtin_convertvector(h, i32));
  }

  // Same rounding as float_to_fp16, staying in binary32. For 2^E <= |x| < 2^(E+1), adding and
  // removing c = 2^(E+13) rounds |x| to a multiple of 2^(E-10), i.e. to 11 significant bits,
  // ties to even (the sum's last place is |x|'s rounded last place, c has none); below the
  // smallest normal half, E is taken as -14 so the step is the subnormal spacing 2^-24, and
  // above 2^15 as 15 (so c stays finite; inf and NaN pass through the sums). Magnitudes from
  // 65520 then become infinity by an integer max, which leaves NaN alone.
  static f32 round_fp16(f32 x) {
    const i32 xi = bit_as<i32>(x);
    const i32 a = xi & 0x7FFFFFFF;
    const i32 e = min_i(max_i(a & 0x7F800000, i32{} + 0x38800000), i32{} + 0x47000000);
    const f32 c = bit_as<f32>(e + (13 << 23));
    const i32 r = bit_as<i32>((bit_as<f32>(a) + c) - c);
    const i32 overflow = (bit_as<f32>(a) >= splat(65520.0f)) & 0x7F800000;  // NaN: no
    return bit_as<f32>(max_i(r, overflow) | (xi ^ a));
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
