#pragma once
// Rounding a scalar LUT to the weight dtype and the thresholds that assign each value to its
// nearest entry (COMPRESSION.md §4): shared by the general pass (palettize.cc) and the fp16
// pattern pass (palettize_fp16.cc), which must agree exactly.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlpress::compress {

// Correctly rounded binary64 -> binary16 (numpy's astype(float16) from float64).
uint16_t fp16_from_double(double d);

// The largest float <= m.
float float_at_or_below(double m);

// For `count` ascending LUT entries (exact values of one dtype): the count - 1 midpoints between
// neighbours, each the largest float at or below it, so that counting the thresholds below a
// value gives its nearest entry, a value exactly halfway going to the lower one.
std::vector<float> midpoint_thresholds(const double* entry, size_t count);

}  // namespace mlpress::compress
