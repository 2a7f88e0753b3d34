#pragma once
// The n:m groups of a conv / linear weight (cout, cin, kernel...) along `dim` (§5.4), shared by
// the float and the integer pruners: each run of m channels at one (other channel, kernel
// position) loses its n smallest entries. Positions past the last channel pad the group with
// key 0, so they count as the smallest; equal keys go by position (a stable argsort).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/compress/prune.h"

namespace mlpress::compress {

// `key_of(i)` is the magnitude key of flat element i; `zero(i)` prunes it. Returns coremltools'
// skip when m is more than half the channels.
template <typename Key, typename KeyOf, typename Zero>
std::optional<PruneSkip> zero_n_smallest_of_m(const std::vector<uint64_t>& shape, size_t n,
                                              size_t m, size_t dim, KeyOf key_of, Zero zero) {
  const size_t channels = size_t(shape[dim]);
  if (double(m) > double(channels) / 2) {
    return PruneSkip{PruneSkipReason::kGroupTooLarge,
                     "m > channel / 2 is not applicable for n:m pruning. Got m = " +
                         std::to_string(m) + ", channel = " + std::to_string(channels) + "."};
  }
  size_t kernel = 1;
  for (size_t d = 2; d < shape.size(); ++d) kernel *= size_t(shape[d]);
  const size_t cin = size_t(shape[1]);
  const size_t others = size_t(shape[1 - dim]);
  // Element (cout, cin, k) sits at (cout * Cin + cin) * K + k.
  const size_t stride = dim == 1 ? kernel : cin * kernel;
  const size_t other_stride = dim == 1 ? cin * kernel : kernel;
  std::vector<std::pair<Key, size_t>> group(m);
  for (size_t o = 0; o < others; ++o) {
    for (size_t k = 0; k < kernel; ++k) {
      const size_t base = o * other_stride + k;
      for (size_t c0 = 0; c0 < channels; c0 += m) {
        for (size_t p = 0; p < m; ++p) {
          const size_t c = c0 + p;
          group[p] = {c < channels ? key_of(base + c * stride) : Key{0}, p};
        }
        if (n < m) std::nth_element(group.begin(), group.begin() + ptrdiff_t(n), group.end());
        for (size_t j = 0; j < n; ++j) {
          const size_t c = c0 + group[j].second;
          if (c < channels) zero(base + c * stride);
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace mlpress::compress
