#pragma once
// The SIMD body of kernels::nearest_centroid_lanes_simd (palettize_kernels.h), written once over
// the lane count L with GCC/Clang vector extensions. Included only by kernel translation units,
// each compiling it for its own instruction set (4 lanes: SSE2 / simd128; 8 lanes: AVX2 in
// palettize_kernels_x86.cc); everything has internal linkage so the copies never meet at link
// time. Every lane does exactly the scalar reference's float operations in the same order, so
// the labels are identical to the scalar ones bit for bit.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace mlpress::compress::kernels {
namespace {

template <size_t L>
struct LaneVec {
  typedef float f32 __attribute__((vector_size(4 * L)));
  typedef int32_t i32 __attribute__((vector_size(4 * L)));
};

template <size_t L>
inline typename LaneVec<L>::f32 lanes_load(const float* p) {
  typename LaneVec<L>::f32 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Points p .. p + B L - 1 as B blocks of L lanes, D coordinates each (D = 0: `dim` coordinates,
// read as needed; D > 0: held in registers across the centroid loop). Each lane's running
// minimum is a chain of dependent compare-and-select steps, one per centroid; B independent
// blocks let those chains overlap (one block alone waits on the chain's latency).
template <size_t L, size_t D, size_t B>
inline void nearest_lanes_block(const float* points_t, size_t n, size_t dim, const float* centroids,
                                size_t k, size_t p, uint8_t* labels) {
  using f32 = typename LaneVec<L>::f32;
  using i32 = typename LaneVec<L>::i32;
  constexpr size_t kHeld = D ? D : 1;
  f32 x[B][kHeld];
  if constexpr (D > 0) {
    for (size_t b = 0; b < B; ++b) {
      for (size_t t = 0; t < D; ++t) x[b][t] = lanes_load<L>(points_t + t * n + p + b * L);
    }
  }
  const size_t d = D ? D : dim;
  f32 best[B];
  i32 best_j[B];
  for (size_t b = 0; b < B; ++b) {
    best[b] = f32{} + std::numeric_limits<float>::infinity();
    best_j[b] = i32{};
  }
  i32 j_splat = i32{};
  const float* c = centroids;
  for (size_t j = 0; j < k; ++j, c += d, j_splat += 1) {
    for (size_t b = 0; b < B; ++b) {
      const float* xb = points_t + p + b * L;
      // acc starts at the first square rather than 0 + it: the same float (a square is never -0).
      const f32 diff0 = c[0] - (D ? x[b][0] : lanes_load<L>(xb));
      f32 acc = diff0 * diff0;
      for (size_t t = 1; t < d; ++t) {
        const f32 xt = D ? x[b][t] : lanes_load<L>(xb + t * n);
        const f32 diff = c[t] - xt;
        const f32 sq = diff * diff;
        acc = acc + sq;
      }
      const i32 better = acc < best[b];
      best[b] = better ? acc : best[b];
      best_j[b] = better ? j_splat : best_j[b];
    }
  }
  for (size_t b = 0; b < B; ++b) {
    for (size_t lane = 0; lane < L; ++lane) labels[p + b * L + lane] = uint8_t(best_j[b][lane]);
  }
}

// Blocks of L points, kBlocks at a time while they last, then one at a time.
template <size_t L, size_t D>
size_t nearest_lanes_blocks(const float* points_t, size_t n, size_t dim, const float* centroids,
                            size_t k, uint8_t* labels) {
  constexpr size_t kBlocks = D == 0 || D > 2 ? 2 : 4;
  size_t p = 0;
  for (; p + kBlocks * L <= n; p += kBlocks * L) {
    nearest_lanes_block<L, D, kBlocks>(points_t, n, dim, centroids, k, p, labels);
  }
  for (; p + L <= n; p += L)
    nearest_lanes_block<L, D, 1>(points_t, n, dim, centroids, k, p, labels);
  return p;
}

// The whole blocks of L points; returns the number of points labelled (a multiple of L).
template <size_t L>
size_t nearest_lanes(const float* points_t, size_t n, size_t dim, const float* centroids, size_t k,
                     uint8_t* labels) {
  switch (dim) {
    case 1:
      return nearest_lanes_blocks<L, 1>(points_t, n, dim, centroids, k, labels);
    case 2:
      return nearest_lanes_blocks<L, 2>(points_t, n, dim, centroids, k, labels);
    case 3:
      return nearest_lanes_blocks<L, 3>(points_t, n, dim, centroids, k, labels);
    case 4:
      return nearest_lanes_blocks<L, 4>(points_t, n, dim, centroids, k, labels);
    default:
      return nearest_lanes_blocks<L, 0>(points_t, n, dim, centroids, k, labels);
  }
}

}  // namespace
}  // namespace mlpress::compress::kernels
