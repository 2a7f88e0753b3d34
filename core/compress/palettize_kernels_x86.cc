// kernels::nearest_centroid_lanes_simd's body on 8 lanes for x86-64 CPUs with AVX2, chosen at
// run time. Only the code below the target pragma uses AVX2; every header is included before
// it, so no inline function shared with other translation units is compiled for AVX2.
#include "core/compress/linear_quantize_kernels.h"  // MLPRESS_KERNELS_X86

#if defined(MLPRESS_KERNELS_X86)

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#include "core/compress/nearest_centroid_lanes_body.h"

namespace mlpress::compress::kernels {
namespace {

size_t nearest_lanes_avx2(const float* points_t, size_t n, size_t dim, const float* centroids,
                          size_t k, uint8_t* labels) {
  return nearest_lanes<8>(points_t, n, dim, centroids, k, labels);
}

}  // namespace

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

using NearestLanesFn = size_t (*)(const float*, size_t, size_t, const float*, size_t, uint8_t*);

NearestLanesFn x86_avx2_nearest_lanes_if_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? nearest_lanes_avx2 : nullptr;
}

}  // namespace mlpress::compress::kernels

#endif  // MLPRESS_KERNELS_X86
