#include "core/compress/palettize_kernels.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/compress/fp16_convert.h"
#include "core/compress/linear_quantize_kernels.h"  // MLPRESS_KERNELS_X86
#include "core/compress/nearest_centroid_lanes_body.h"

namespace mlpress::compress::kernels {

// The 8-lane AVX2 body, defined in palettize_kernels_x86.cc when the build targets x86-64 and
// the CPU has AVX2; nullptr otherwise.
using NearestLanesFn = size_t (*)(const float*, size_t, size_t, const float*, size_t, uint8_t*);
NearestLanesFn x86_avx2_nearest_lanes_if_supported();

namespace {

using f32x4 = float __attribute__((vector_size(16)));
using i32x4 = int32_t __attribute__((vector_size(16)));
constexpr size_t kLanes = 4;

inline f32x4 splat(float x) { return f32x4{x, x, x, x}; }

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

uint8_t nearest_lane_point(const float* points_t, size_t n, size_t dim, const float* centroids,
                           size_t k, size_t p) {
  float best = std::numeric_limits<float>::infinity();
  size_t best_j = 0;
  for (size_t j = 0; j < k; ++j) {
    float acc = 0.0f;
    for (size_t t = 0; t < dim; ++t) {
      const float diff = centroids[j * dim + t] - points_t[t * n + p];
      const float sq = diff * diff;
      acc = acc + sq;
    }
    if (acc < best) {
      best = acc;
      best_j = j;
    }
  }
  return uint8_t(best_j);
}

NearestLanesFn best_nearest_lanes() {
  static const NearestLanesFn avx2 = x86_avx2_nearest_lanes_if_supported();
  return avx2 ? avx2 : nearest_lanes<4>;
}

}  // namespace

#if !defined(MLPRESS_KERNELS_X86)
NearestLanesFn x86_avx2_nearest_lanes_if_supported() { return nullptr; }
#endif

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

void fp16_index_runs(const uint16_t* patterns, size_t count, const float* thresholds, size_t m,
                     size_t* ends) {
  size_t lo = 0;
  for (size_t j = 0; j < m; ++j) {
    // The first position from lo on whose value is above the threshold (values ascend).
    size_t len = count - lo;
    while (len > 0) {
      const size_t half = len / 2;
      if (thresholds[j] < fp16_to_float(patterns[lo + half])) {
        len = half;
      } else {
        lo += half + 1;
        len -= half + 1;
      }
    }
    ends[j] = lo;
  }
}

void fp16_index_table(const uint16_t* patterns, size_t count, const float* thresholds, size_t m,
                      uint8_t* table) {
  size_t ends[256];
  fp16_index_runs(patterns, count, thresholds, m, ends);
  size_t i = 0;
  for (size_t j = 0; j <= m; ++j) {
    const size_t end = j < m ? ends[j] : count;
    for (; i < end; ++i) table[patterns[i]] = uint8_t(j);
  }
  // -0 is +0 (listed as +0 only, first of the patterns without the sign bit).
  const uint16_t* positive = std::partition_point(patterns, patterns + count,
                                                  [](uint16_t p) { return (p & 0x8000u) != 0; });
  if (positive != patterns + count && *positive == 0) table[0x8000u] = table[0];
}

void lookup_fp16_indices(const uint16_t* bits, size_t n, const uint8_t* table, uint8_t* out) {
  // Eight at a time, loads before stores (the pointers do not overlap): the one-element loop is
  // so short that where the linker happens to place it decided its speed (a 16 x 1M fp16 weight
  // set: 15% or 26% of the whole run, from one build to the next).
  const uint16_t* __restrict in = bits;
  const uint8_t* __restrict lut = table;
  uint8_t* __restrict to = out;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) to[i + j] = lut[in[i + j]];
  }
  for (; i < n; ++i) to[i] = lut[in[i]];
}

void nearest_centroid_lanes_scalar(const float* points_t, size_t n, size_t dim,
                                   const float* centroids, size_t k, uint8_t* labels) {
  for (size_t p = 0; p < n; ++p) labels[p] = nearest_lane_point(points_t, n, dim, centroids, k, p);
}

void nearest_centroid_lanes_simd(const float* points_t, size_t n, size_t dim,
                                 const float* centroids, size_t k, uint8_t* labels) {
  size_t p = best_nearest_lanes()(points_t, n, dim, centroids, k, labels);
  for (; p < n; ++p) labels[p] = nearest_lane_point(points_t, n, dim, centroids, k, p);
}

}  // namespace mlpress::compress::kernels
