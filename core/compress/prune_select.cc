#include "core/compress/prune_select.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {
namespace {

// One numpy operation of the given dtype: computed in binary32, then rounded to the dtype (how
// numpy's float16 loops work; for float32 the binary32 result is already final).
struct Fp16Ops {
  static float from_double(double d) { return fp16_to_float(double_to_fp16(d)); }
  static float round(float x) { return round_to_fp16(x); }
  static float from_key(uint32_t key) { return fp16_to_float(uint16_t(key)); }
  static bool is_nan_key(uint32_t key) { return key > 0x7C00u; }
};

struct Fp32Ops {
  static float from_double(double d) { return float(d); }
  static float round(float x) { return x; }
  static float from_key(uint32_t key) { return float_from_bits(key); }
  static bool is_nan_key(uint32_t key) { return key > 0x7F800000u; }
};

// The sorted positions numpy's linear percentile of n > 0 values interpolates between, and the
// weight of the upper one; nullopt where numpy raises IndexError. Depends on n and q only.
struct Positions {
  size_t lo;
  size_t hi;
  float gamma;
};

// numpy.lib._function_base_impl: percentile -> _quantile (method "linear"), its index arithmetic.
template <typename Ops>
std::optional<Positions> positions(size_t n, double percent) {
  const float quantile = Ops::round(Ops::from_double(percent) / Ops::from_double(100.0));
  const float last = Ops::from_double(double(n - 1));
  const float virtual_index = Ops::round(last * quantile);

  int64_t prev = -1;
  int64_t next = -1;
  const bool above = virtual_index >= last;
  if (!above && !std::isnan(virtual_index)) {
    const float prev_f = std::floor(virtual_index);
    prev = int64_t(prev_f);
    next = int64_t(Ops::round(prev_f + 1.0f));
  }
  const float gamma = Ops::from_double(double(virtual_index) - double(prev));

  // Python indexing: -1 is the last element; past the end raises IndexError.
  if (prev >= int64_t(n) || next >= int64_t(n)) return std::nullopt;
  return Positions{prev < 0 ? n - 1 : size_t(prev), next < 0 ? n - 1 : size_t(next), gamma};
}

// numpy's percentile -> _quantile (method "linear") -> _lerp, on the keys.
template <typename Ops>
std::optional<float> percentile(std::span<uint32_t> keys, double percent) {
  const auto at = positions<Ops>(keys.size(), percent);
  if (!at) return std::nullopt;
  const size_t hi = at->hi;
  const float gamma = at->gamma;
  const SelectedPair picked = select_sorted_pair(keys, at->lo, hi);
  // A NaN sorts last; numpy then returns it as the percentile.
  if (Ops::is_nan_key(*std::max_element(keys.begin() + ptrdiff_t(hi), keys.end()))) {
    return std::numeric_limits<float>::quiet_NaN();
  }

  const float a = Ops::from_key(picked.lo);
  const float b = Ops::from_key(picked.hi);
  const float diff = Ops::round(b - a);
  float result = Ops::round(a + Ops::round(diff * gamma));
  if (gamma >= 0.5f) result = Ops::round(b - Ops::round(diff * Ops::round(1.0f - gamma)));
  return result;
}

}  // namespace

uint16_t double_to_fp16(double d) {
  // Round to binary32 "to odd": a sticky last bit keeps the second rounding (24 -> 11 bits)
  // from seeing a false tie.
  float f = float(d);
  if (double(f) != d && std::isfinite(f) && (float_bits(f) & 1u) == 0) {
    f = std::nextafter(f, double(f) < d ? std::numeric_limits<float>::infinity()
                                        : -std::numeric_limits<float>::infinity());
  }
  return float_to_fp16(f);
}

SelectedPair select_sorted_pair(std::span<uint32_t> keys, size_t lo, size_t hi) {
  std::nth_element(keys.begin(), keys.begin() + ptrdiff_t(lo), keys.end());
  const uint32_t lo_key = keys[lo];
  if (hi == lo) return {lo_key, lo_key};
  // Everything after position lo is >= keys[lo]; select within that part only.
  std::nth_element(keys.begin() + ptrdiff_t(lo) + 1, keys.begin() + ptrdiff_t(hi), keys.end());
  return {lo_key, keys[hi]};
}

std::optional<float> numpy_percentile_linear(std::span<uint32_t> keys, double percent,
                                             PercentileArithmetic arithmetic) {
  if (keys.empty()) return std::nullopt;
  return arithmetic == PercentileArithmetic::kFloat16 ? percentile<Fp16Ops>(keys, percent)
                                                      : percentile<Fp32Ops>(keys, percent);
}

bool numpy_percentile_raises_index_error(size_t count, double percent,
                                         PercentileArithmetic arithmetic) {
  if (count == 0) return true;
  return arithmetic == PercentileArithmetic::kFloat16 ? !positions<Fp16Ops>(count, percent)
                                                      : !positions<Fp32Ops>(count, percent);
}

}  // namespace mlpress::compress
