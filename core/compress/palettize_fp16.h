#pragma once
// Scalar k-means palettization of an fp16 weight without per-channel scale, worked on the
// 16-bit patterns (COMPRESSION.md §4): per channel group, count the distinct patterns
// (fp16_patterns.h), run exact 1-D k-means on them, turn the LUT's midpoints into a table from
// pattern to index and look every element up. The error metrics come from the distinct patterns
// and their counts (O(distinct values), no decode). Same LUT and indices as the general pass in
// palettize.cc, which it replaces for this case; no float copy of the weight, no gathered
// group, no per-element scratch beyond the indices themselves.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/compress/error_metrics.h"
#include "core/compress/palettize_layout.h"

namespace mlpress::compress {

// `bits`: the weight's patterns, row-major; `fit_mask` as PalettizeSpec::fit_mask (or null).
// Fills `lut` (groups x entries, exact fp16 values, unused entries 0), `indices` (one per
// element) and `sums` (of the decoded weight against the source, groups added in order).
// False, with the outputs unspecified, when some element is inf or NaN.
bool palettize_fp16_kmeans(std::span<const uint16_t> bits, const PaletteLayout& layout,
                           size_t entries, const std::vector<uint8_t>* fit_mask,
                           std::vector<double>& lut, std::vector<uint8_t>& indices,
                           ErrorSums& sums);

}  // namespace mlpress::compress
