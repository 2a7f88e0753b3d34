#pragma once
// A histogram of a weight's values with numpy.histogram's bins: `bins` equal bins over
// [lo, hi], edges computed as np.linspace(lo, hi, bins + 1) computes them in float64, value v
// (widened to double) in bin i when edge[i] <= v < edge[i+1], the last bin closed (v == hi
// counts in it). So numpy.histogram(values.astype(np.float64), bins, range=(lo, hi)) gives the
// same counts, exactly.
//
// Values outside the range are counted apart (below, above) and not binned, as numpy leaves
// them out; -inf/+inf count as below/above; NaN is counted apart (`nan`) and never binned.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/compress/decompress_ops.h"

namespace mlpress::compress {

struct HistogramRange {
  double lo = 0;
  double hi = 1;
};

struct Histogram {
  HistogramRange range;
  std::vector<uint64_t> counts;  // one per bin
  uint64_t below = 0;            // v < lo, -inf included
  uint64_t above = 0;            // v > hi, +inf included
  uint64_t nan = 0;
  uint64_t total = 0;  // every value: sum(counts) + below + above + nan
};

// np.linspace(lo, hi, bins + 1) in float64: lo + i * ((hi - lo) / bins), the last edge hi.
// Throws std::invalid_argument when bins is 0 or the range is not finite with lo < hi.
std::vector<double> histogram_edges(HistogramRange range, size_t bins);

// The range numpy.histogram picks without one, over the finite values only: [min, max], or
// [v - 0.5, v + 0.5] when they are equal, or [0, 1] when no value is finite.
HistogramRange default_histogram_range(const DenseTensor& values);

// Bins every element of `values` (any element type, converted as DenseTensor::as_float).
Histogram histogram(const DenseTensor& values, HistogramRange range, size_t bins);

// The same over plain floats (what the tensor version bins, chunk by chunk).
void add_to_histogram(std::span<const float> values, std::span<const double> edges,
                      Histogram& histogram);

}  // namespace mlpress::compress
