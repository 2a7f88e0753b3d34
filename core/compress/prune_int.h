#pragma once
// Pruning of int8 / uint8 consts (COMPRESSION.md §2.2, §5), bit-exact with coremltools 9.0 on
// numpy 2.2. coremltools runs the same numpy code as for floats on the integer array, so the
// integer arithmetic shows through and is kept here on purpose:
//  - |v| is numpy's int8 abs, which wraps: |-128| is -128, the smallest magnitude of all (the
//    threshold pruner always zeroes -128, magnitude pruning ranks it below 0);
//  - block norms square in the weight's dtype (wrapping mod 256) before numpy sums them in
//    64 bits; an int8 square that wraps negative makes its block norm NaN, the percentile NaN,
//    and then nothing is pruned (the op is still written);
//  - percentiles interpolate in double, the threshold is compared in double;
//  - n:m sorts each group of m stably (numpy's argsort of small int rows is an insertion sort).
// The nonzero values keep the weight's dtype.
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "core/compress/prune.h"

namespace mlpress::compress {

struct IntPruneResult {
  std::vector<uint8_t> nonzero;      // the kept values, row-major, in the weight's dtype
  std::vector<uint8_t> mask;         // one 0/1 byte per element: pruned value != 0
  std::vector<uint8_t> mask_packed;  // ceil(N/8) bytes, LSB-first (FORMAT §4.6)
  uint64_t nonzero_count = 0;
  double sparsity = 0;
  ErrorMetrics error;  // the pruned weight against the source, as numbers
};

// `bytes` holds the weight's values (int8 when is_signed, else uint8) in `shape`.
std::variant<IntPruneResult, PruneSkip> prune_threshold_int(std::span<const uint8_t> bytes,
                                                            bool is_signed,
                                                            const std::vector<uint64_t>& shape,
                                                            const ThresholdPruneSpec& spec);
std::variant<IntPruneResult, PruneSkip> prune_magnitude_int(std::span<const uint8_t> bytes,
                                                            bool is_signed,
                                                            const std::vector<uint64_t>& shape,
                                                            const MagnitudePruneSpec& spec);

}  // namespace mlpress::compress
