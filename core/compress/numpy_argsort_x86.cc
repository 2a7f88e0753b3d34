#include "core/compress/numpy_argsort_x86.h"

#include <array>
#include <utility>

namespace mlpress::compress {
namespace {

constexpr size_t kLanes = 4;                 // float32 keys in an xmm register
constexpr uint32_t kPadKey = 0x7F800000u;    // +inf fills the last vector's unused lanes
constexpr uint32_t kPadIndex = 0xFFFFFFFFu;  // never stored for rows without +inf keys

struct Row {
  std::array<uint32_t, kNumpyAvx2NetworkMax> key;
  std::array<uint32_t, kNumpyAvx2NetworkMax> index;

  // The smaller key goes to `lo`, the larger to `hi`; equal keys stay where they are (the
  // SIMD min/max keeps an index where the result equals the key already in that lane).
  void exchange(size_t lo, size_t hi) {
    if (key[hi] < key[lo]) {
      std::swap(key[lo], key[hi]);
      std::swap(index[lo], index[hi]);
    }
  }

  // The in-register sorting network of one 4-lane vector.
  void sort_vector(size_t base) {
    static constexpr std::pair<size_t, size_t> kSteps[] = {{0, 1}, {2, 3}, {0, 3},
                                                           {1, 2}, {0, 1}, {2, 3}};
    for (auto [lo, hi] : kSteps) exchange(base + lo, base + hi);
  }

  // The in-register half cleaners that finish a bitonic merge of one vector.
  void clean_vector(size_t base) {
    static constexpr std::pair<size_t, size_t> kSteps[] = {{0, 2}, {1, 3}, {0, 1}, {2, 3}};
    for (auto [lo, hi] : kSteps) exchange(base + lo, base + hi);
  }

  // Merges the sorted vectors first .. first + count - 1 (count a power of two) into one run:
  // vector i against the lane-reversed vector count - 1 - i, then half cleaners across
  // vectors, then within each vector.
  void merge_vectors(size_t first, size_t count) {
    for (size_t i = 0; i < count / 2; ++i) {
      for (size_t l = 0; l < kLanes; ++l) {
        exchange((first + i) * kLanes + l, (first + count - 1 - i) * kLanes + (kLanes - 1 - l));
      }
    }
    for (size_t span = count / 2; span >= 2; span /= 2) {
      for (size_t j = 0; j < count; j += span) {
        for (size_t i = 0; i < span / 2; ++i) {
          for (size_t l = 0; l < kLanes; ++l) {
            exchange((first + j + i) * kLanes + l, (first + j + i + span / 2) * kLanes + l);
          }
        }
      }
    }
    for (size_t i = 0; i < count; ++i) clean_vector((first + i) * kLanes);
  }
};

}  // namespace

void numpy_avx2_argsort_f32(std::span<const uint32_t> keys, std::span<uint32_t> order) {
  const size_t n = keys.size();
  for (size_t i = 0; i < n; ++i) order[i] = uint32_t(i);
  bool sorted = true;  // x86-simd-sort returns early on a sorted row
  for (size_t i = 1; i < n && sorted; ++i) sorted = !(keys[i] < keys[i - 1]);
  if (sorted) return;

  // The network's width: the fewest vectors (a power of two) holding the row.
  size_t vectors = kNumpyAvx2NetworkMax / kLanes;
  while (vectors > 1 && n * 2 <= vectors * kLanes) vectors /= 2;
  Row row;
  const size_t width = vectors * kLanes;
  for (size_t i = 0; i < width; ++i) {
    row.key[i] = i < n ? keys[i] : kPadKey;
    row.index[i] = i < n ? uint32_t(i) : kPadIndex;
  }
  for (size_t v = 0; v < vectors; ++v) row.sort_vector(v * kLanes);
  for (size_t run = 2; run <= vectors; run *= 2) {
    for (size_t first = 0; first < vectors; first += run) row.merge_vectors(first, run);
  }
  for (size_t i = 0; i < n; ++i) order[i] = row.index[i];
}

}  // namespace mlpress::compress
