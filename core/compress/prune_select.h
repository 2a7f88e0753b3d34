#pragma once
// The magnitude threshold of the magnitude pruner: np.percentile(magnitudes, 100 * s) with
// linear interpolation, as numpy 2.2 computes it for coremltools (COMPRESSION.md §5.2), found by
// O(n) selection (std::nth_element) instead of a sort.
//
// numpy 2 keeps the array's dtype for the index arithmetic inside np.percentile (NEP 50: the
// Python operands are "weak"): for an fp16 array, q / 100, (n - 1) * q, the floor, the +1 and the
// interpolation are all rounded to binary16. Two consequences coremltools inherits:
//   - for fp16 weights the zeroed count drifts from floor((n - 1) s) + 1 (e.g. 4098 instead of
//     4097 for n = 8192, s = 0.5);
//   - for fp16 weights of more than 65520 elements n - 1 becomes infinity, the percentile NaN,
//     and nothing is pruned.
#include <cstdint>
#include <optional>
#include <span>

namespace mlpress::compress {

// The dtype numpy computes in, i.e. the weight's element type.
enum class PercentileArithmetic : uint8_t { kFloat16, kFloat32 };

// Magnitudes are given as keys: the bit patterns of non-negative values of the weight's type
// (fp16 bits widened to 32, or fp32 bits), NaN allowed; `keys` is reordered. `percent` is
// coremltools' q = target_sparsity * 100, in (0, 100).
//
// Returns the percentile as a float (exactly a value of the weight's type; NaN when a key is NaN
// or the index arithmetic overflows), or nullopt where numpy would raise IndexError (an fp16
// index rounded up past the end; only possible for fp16 and s close to 1).
std::optional<float> numpy_percentile_linear(std::span<uint32_t> keys, double percent,
                                             PercentileArithmetic arithmetic);

// Whether numpy_percentile_linear returns nullopt for `count` keys at `percent`: its IndexError
// depends on the count and q only, so no keys are needed to tell.
bool numpy_percentile_raises_index_error(size_t count, double percent,
                                         PercentileArithmetic arithmetic);

// Sorted-order values at positions `lo` <= `hi` of `keys` (reordered), by two partial selections.
struct SelectedPair {
  uint32_t lo;
  uint32_t hi;
};
SelectedPair select_sorted_pair(std::span<uint32_t> keys, size_t lo, size_t hi);

// Nearest binary16 to a double, ties to even, without double rounding through binary32 (as
// numpy's npy_double_to_half).
uint16_t double_to_fp16(double d);

}  // namespace mlpress::compress
