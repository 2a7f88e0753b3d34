#pragma once
// The order numpy 2.x's default argsort gives a row of float32 magnitudes on an x86-64 CPU with
// AVX2 but without AVX-512 (numpy dispatches 32-bit argsort to x86-simd-sort). coremltools'
// n:m pruner takes the first n of that order, so equal magnitudes are pruned in this order, not
// by position. Rows of at most 256 keys are sorted by a bitonic network over 4-lane vectors
// whose compare-exchanges never move equal keys; an already sorted row keeps its positions.
// Checked against numpy 2.2.6 (tests/conformance/test_prune.py).
#include <cstddef>
#include <cstdint>
#include <span>

namespace mlpress::compress {

// The longest row the network sorts; longer rows go through x86-simd-sort's quicksort, which
// mlpress does not reproduce.
inline constexpr size_t kNumpyAvx2NetworkMax = 256;

// `keys` are non-negative float32 magnitudes as their bits (ordered like the values) with no
// NaN, at most kNumpyAvx2NetworkMax of them. Writes into `order` (same length) the positions of
// `keys` in numpy's argsort order.
void numpy_avx2_argsort_f32(std::span<const uint32_t> keys, std::span<uint32_t> order);

}  // namespace mlpress::compress
