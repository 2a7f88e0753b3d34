#pragma once
// The n:m groups of a conv / linear weight (cout, cin, kernel...) along `dim` (§5.4), shared by
// the float and the integer pruners: each run of m channels at one (other channel, kernel
// position) loses its n smallest entries. Positions past the last channel pad the group with
// key 0, so they count as the smallest. Equal keys go by position (numpy's argsort of up to 16
// keys is an insertion sort) unless the group follows numpy's x86 AVX2 float32 order.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/compress/numpy_argsort_x86.h"
#include "core/compress/prune.h"

namespace mlpress::compress {

// Which of several equal magnitudes coremltools' argsort puts first.
enum class NmTieOrder {
  kByPosition,        // fp16 and integer magnitudes (numpy's own sort)
  kNumpyAvx2Float32,  // float32 magnitudes: x86-simd-sort's network (numpy_argsort_x86.h)
};

// `key_of(i)` is the magnitude key of flat element i; `zero(i)` prunes it. The caller has
// checked the shape (magnitude_prune_skip_for_shape: m at most half the channels).
template <typename Key, typename KeyOf, typename Zero>
void zero_n_smallest_of_m(const std::vector<uint64_t>& shape, size_t n, size_t m, size_t dim,
                          NmTieOrder ties, KeyOf key_of, Zero zero) {
  const size_t channels = size_t(shape[dim]);
  size_t kernel = 1;
  for (size_t d = 2; d < shape.size(); ++d) kernel *= size_t(shape[d]);
  const size_t cin = size_t(shape[1]);
  const size_t others = size_t(shape[1 - dim]);
  // Element (cout, cin, k) sits at (cout * Cin + cin) * K + k.
  const size_t stride = dim == 1 ? kernel : cin * kernel;
  const size_t other_stride = dim == 1 ? cin * kernel : kernel;
  std::vector<std::pair<Key, size_t>> group(m);
  // float32 groups go through the network unless they hold a NaN (numpy then sorts with
  // std::sort, an insertion sort up to 16 keys: by position) or m > 256 (x86-simd-sort's
  // quicksort, not reproduced: by position).
  std::vector<uint32_t> net_keys(ties == NmTieOrder::kNumpyAvx2Float32 ? m : 0);
  std::vector<uint32_t> net_order(net_keys.size());
  const bool network = !net_keys.empty() && m <= kNumpyAvx2NetworkMax;
  for (size_t o = 0; o < others; ++o) {
    for (size_t k = 0; k < kernel; ++k) {
      const size_t base = o * other_stride + k;
      for (size_t c0 = 0; c0 < channels; c0 += m) {
        for (size_t p = 0; p < m; ++p) {
          const size_t c = c0 + p;
          group[p] = {c < channels ? key_of(base + c * stride) : Key{0}, p};
        }
        bool by_network = network && n < m;
        for (size_t p = 0; by_network && p < m; ++p) {
          net_keys[p] = uint32_t(group[p].first);
          by_network = net_keys[p] <= 0x7F800000u;
        }
        if (by_network) {
          numpy_avx2_argsort_f32(net_keys, net_order);
          for (size_t j = 0; j < n; ++j) group[j].second = net_order[j];
        } else if (n < m) {
          std::nth_element(group.begin(), group.begin() + ptrdiff_t(n), group.end());
        }
        for (size_t j = 0; j < n; ++j) {
          const size_t c = c0 + group[j].second;
          if (c < channels) zero(base + c * stride);
        }
      }
    }
  }
}

}  // namespace mlpress::compress
