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

// fp16 weights, by bit pattern. For each of the `count` patterns (finite, strictly ascending in
// value, as Fp16Patterns lists them): table[pattern] = the number of thresholds t with t <
// fp16_to_float(pattern), as count_below_* gives for that value. Entries of other patterns are
// left alone, except that when +0 is listed -0 gets its index too. `table` holds 65,536 bytes.
// The indices come in runs along the list (fp16_index_runs), so each pattern costs one store,
// no comparison.
void fp16_index_table(const uint16_t* patterns, size_t count, const float* thresholds, size_t m,
                      uint8_t* table);
// Where those runs end: ends[j] (j < m) = the first position whose value is above
// thresholds[j], at least ends[j - 1]; the patterns at [ends[j - 1], ends[j]) (from 0 for j = 0)
// take index j, those from ends[m - 1] on index m. A binary search per threshold, O(m log count).
void fp16_index_runs(const uint16_t* patterns, size_t count, const float* thresholds, size_t m,
                     size_t* ends);
// out[i] = table[bits[i]].
void lookup_fp16_indices(const uint16_t* bits, size_t n, const uint8_t* table, uint8_t* out);

// Vector LUTs. labels[p] = the index of the centroid nearest to point p by squared Euclidean
// distance, summed in float over the dimensions in order; ties go to the lower index. Points are
// held in lanes, for many points against few centroids: coordinate t of point p is
// points_t[t * n + p]; centroid j's is centroids[j * dim + t] (row-major). Each SIMD lane holds
// one point and scans every centroid in order (4 lanes: SSE2 / simd128; 8 lanes with AVX2 on
// x86-64, chosen at run time), so no reduction across lanes is needed. 1 <= k <= 256.
void nearest_centroid_lanes_scalar(const float* points_t, size_t n, size_t dim,
                                   const float* centroids, size_t k, uint8_t* labels);
void nearest_centroid_lanes_simd(const float* points_t, size_t n, size_t dim,
                                 const float* centroids, size_t k, uint8_t* labels);

}  // namespace mlpress::compress::kernels
