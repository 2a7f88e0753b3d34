#include "core/compress/histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mlpress::compress {

namespace {

constexpr uint64_t kChunk = 4096;

// Calls fn(span of floats) for consecutive pieces of the tensor, so that a weight is never
// copied whole into floats.
template <class Fn>
void for_each_chunk(const DenseTensor& values, Fn&& fn) {
  float buffer[kChunk];
  const uint64_t n = values.count();
  for (uint64_t start = 0; start < n; start += kChunk) {
    const uint64_t len = std::min(kChunk, n - start);
    for (uint64_t i = 0; i < len; ++i) buffer[i] = values.as_float(start + i);
    fn(std::span<const float>(buffer, static_cast<size_t>(len)));
  }
}

}  // namespace

std::vector<double> histogram_edges(HistogramRange range, size_t bins) {
  if (bins == 0) throw std::invalid_argument("a histogram needs at least one bin");
  if (!std::isfinite(range.lo) || !std::isfinite(range.hi) || !(range.lo < range.hi)) {
    throw std::invalid_argument("histogram range [" + std::to_string(range.lo) + ", " +
                                std::to_string(range.hi) + "] must be finite with lo < hi");
  }
  // As np.linspace: step = (stop - start) / div, y = i * step + start (two roundings, no fused
  // multiply-add: separate statements keep the compiler from contracting them), y[-1] = stop.
  const double step = (range.hi - range.lo) / static_cast<double>(bins);
  std::vector<double> edges(bins + 1);
  for (size_t i = 0; i < bins; ++i) {
    const double scaled = static_cast<double>(i) * step;
    edges[i] = scaled + range.lo;
  }
  edges[bins] = range.hi;
  return edges;
}

HistogramRange default_histogram_range(const DenseTensor& values) {
  double lo = INFINITY;
  double hi = -INFINITY;
  for_each_chunk(values, [&](std::span<const float> chunk) {
    for (float v : chunk) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, static_cast<double>(v));
      hi = std::max(hi, static_cast<double>(v));
    }
  });
  if (lo > hi) return {0.0, 1.0};
  if (lo == hi) return {lo - 0.5, hi + 0.5};
  return {lo, hi};
}

void add_to_histogram(std::span<const float> values, std::span<const double> edges,
                      Histogram& histogram) {
  const size_t bins = edges.size() - 1;
  const double lo = edges.front();
  const double hi = edges.back();
  const double scale = static_cast<double>(bins) / (hi - lo);
  for (float f : values) {
    ++histogram.total;
    const double v = f;
    if (std::isnan(v)) {
      ++histogram.nan;
    } else if (v < lo) {
      ++histogram.below;
    } else if (v > hi) {
      ++histogram.above;
    } else {
      // A guess from the linear map, then corrected against the edges themselves: the edges
      // alone decide (edge[i] <= v < edge[i+1]; v == hi in the last bin).
      const double guess = (v - lo) * scale;  // NaN or inf only for a denormal-wide range
      size_t i = guess >= static_cast<double>(bins) ? bins - 1
                 : guess > 0                        ? static_cast<size_t>(guess)
                                                    : 0;
      while (i > 0 && v < edges[i]) --i;
      while (i + 1 < bins && v >= edges[i + 1]) ++i;
      ++histogram.counts[i];
    }
  }
}

Histogram histogram(const DenseTensor& values, HistogramRange range, size_t bins) {
  const std::vector<double> edges = histogram_edges(range, bins);
  Histogram result;
  result.range = range;
  result.counts.assign(bins, 0);
  for_each_chunk(values,
                 [&](std::span<const float> chunk) { add_to_histogram(chunk, edges, result); });
  return result;
}

}  // namespace mlpress::compress
