#pragma once
// Inner loops of palettization (COMPRESSION.md §4): assigning each weight (or vector) to its
// nearest LUT entry. Each comes as a plain scalar reference and a SIMD twin with identical
// results, written with GCC/Clang vector extensions on 4 x 32-bit lanes (SSE2 on x86-64,
// simd128 in the wasm SIMD build, scalar code elsewhere), like linear_quantize_kernels.h.
#include <cstddef>
#include <cstdint>

namespace mlpress::compress::kernels {

// Scalar LUTs. out[i] = the number of thresholds t with t < x[i]. With an ascending LUT and
// thresholds = the midpoints between neighbouring entries (see palettize.cc), that is the index
// of the nearest entry, a value exactly halfway going to the lower entry. `thresholds` ascending,
// m <= 255; x must not hold NaN.
void count_below_scalar(const float* x, size_t n, const float* thresholds, size_t m, uint8_t* out);
void count_below_simd(const float* x, size_t n, const float* thresholds, size_t m, uint8_t* out);

// Vector LUTs. labels[p] = the index of the centroid nearest to point p (dim floats at
// points + p * dim) by squared Euclidean distance, summed in float over the dimensions in order;
// ties go to the lower index. Centroid j's coordinate t is centroids_t[t * stride + j]: stride is
// k rounded up to a multiple of 4 and the padding holds NaN. 1 <= k <= 256.
void nearest_centroid_scalar(const float* points, size_t n, size_t dim, const float* centroids_t,
                             size_t k, size_t stride, uint8_t* labels);
void nearest_centroid_simd(const float* points, size_t n, size_t dim, const float* centroids_t,
                           size_t k, size_t stride, uint8_t* labels);

}  // namespace mlpress::compress::kernels
