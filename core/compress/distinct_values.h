#pragma once
// The distinct values of a group of weights, ascending, each with its summed weight: the input
// of exact 1-D k-means (kmeans1d.h). -0 and +0 are one value. O(n): for many values that are
// all fp16, one pass into a weight per fp16 bit pattern; otherwise LSD radix sort on the
// float's order-preserving bit pattern (passes where every key shares the digit are skipped, so
// fp16-valued data costs 3 passes and small-range data fewer), instead of an O(n log n)
// comparison sort of indices: for millions of fp32 weights this was the largest cost after the
// k-means itself.
#include <span>
#include <vector>

namespace mlpress::compress {

struct DistinctValues {
  std::vector<double> values;   // strictly ascending
  std::vector<double> weights;  // summed weight of each value
};

// `x` finite; `weights` one per element, or empty for weight 1 each.
DistinctValues distinct_weighted_values(std::span<const float> x, std::span<const double> weights);

}  // namespace mlpress::compress
