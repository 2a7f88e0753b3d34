#include "core/compress/palettize_kernels.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace mlpress::compress::kernels {
namespace {

using f32x4 = float __attribute__((vector_size(16)));
using i32x4 = int32_t __attribute__((vector_size(16)));
constexpr size_t kLanes = 4;

inline f32x4 splat(float x) { return f32x4{x, x, x, x}; }

template <typename To, typename From>
inline To bit_as(From from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

// mask lanes are all ones or all zeros.
inline i32x4 select_i(i32x4 mask, i32x4 a, i32x4 b) { return (mask & a) | (~mask & b); }
inline f32x4 select_f(i32x4 mask, f32x4 a, f32x4 b) {
  return bit_as<f32x4>(select_i(mask, bit_as<i32x4>(a), bit_as<i32x4>(b)));
}

inline f32x4 load_f32(const float* p) {
  f32x4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Past this many thresholds a binary search per element beats comparing against all of them.
constexpr size_t kLinearCountLimit = 32;

// Branch-free lower bound: the halving is data independent and the select compiles to a
// conditional move, so random values cost no mispredictions (2x quicker than std::lower_bound
// on 255 thresholds).
inline uint8_t count_below_one(float x, const float* thresholds, size_t m) {
  if (m == 0) return 0;
  const float* base = thresholds;
  size_t len = m;
  while (len > 1) {
    const size_t half = len / 2;
    base = base[half] < x ? base + half : base;
    len -= half;
  }
  return uint8_t(size_t(base - thresholds) + (*base < x ? 1 : 0));
}

}  // namespace

void count_below_scalar(const float* x, size_t n, const float* thresholds, size_t m, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t count = 0;
    for (size_t j = 0; j < m; ++j) count += thresholds[j] < x[i] ? 1 : 0;
    out[i] = uint8_t(count);
  }
}

void count_below_simd(const float* x, size_t n, const float* thresholds, size_t m, uint8_t* out) {
  size_t i = 0;
  if (m <= kLinearCountLimit) {
    // Four weights at a time against every threshold; a true lane is -1.
    for (; i + kLanes <= n; i += kLanes) {
      const f32x4 v = load_f32(x + i);
      i32x4 count = {0, 0, 0, 0};
      for (size_t j = 0; j < m; ++j) count -= splat(thresholds[j]) < v;
      for (size_t lane = 0; lane < kLanes; ++lane) out[i + lane] = uint8_t(count[lane]);
    }
  }
  for (; i < n; ++i) out[i] = count_below_one(x[i], thresholds, m);
}

void nearest_centroid_scalar(const float* points, size_t n, size_t dim, const float* centroids_t,
                             size_t k, size_t stride, uint8_t* labels) {
  for (size_t p = 0; p < n; ++p) {
    const float* x = points + p * dim;
    float best = std::numeric_limits<float>::infinity();
    size_t best_j = 0;
    for (size_t j = 0; j < k; ++j) {
      float acc = 0.0f;
      for (size_t t = 0; t < dim; ++t) {
        const float diff = centroids_t[t * stride + j] - x[t];
        const float sq = diff * diff;
        acc = acc + sq;
      }
      if (acc < best) {
        best = acc;
        best_j = j;
      }
    }
    labels[p] = uint8_t(best_j);
  }
}

void nearest_centroid_simd(const float* points, size_t n, size_t dim, const float* centroids_t,
                           size_t k, size_t stride, uint8_t* labels) {
  for (size_t p = 0; p < n; ++p) {
    const float* x = points + p * dim;
    // Lane l scans centroids l, l + 4, ... in order, so it keeps the lowest index of its ties.
    f32x4 best = splat(std::numeric_limits<float>::infinity());
    i32x4 best_j = {0, 1, 2, 3};
    for (size_t j = 0; j < k; j += kLanes) {
      f32x4 acc = splat(0.0f);
      for (size_t t = 0; t < dim; ++t) {
        const f32x4 diff = load_f32(centroids_t + t * stride + j) - splat(x[t]);
        const f32x4 sq = diff * diff;
        acc = acc + sq;
      }
      const i32x4 better = acc < best;
      const int32_t j0 = int32_t(j);
      best = select_f(better, acc, best);
      best_j = select_i(better, i32x4{j0, j0 + 1, j0 + 2, j0 + 3}, best_j);
    }
    float b = best[0];
    int32_t bj = best_j[0];
    for (size_t lane = 1; lane < kLanes; ++lane) {
      if (best[lane] < b || (best[lane] == b && best_j[lane] < bj)) {
        b = best[lane];
        bj = best_j[lane];
      }
    }
    labels[p] = uint8_t(bj);
  }
}

}  // namespace mlpress::compress::kernels
