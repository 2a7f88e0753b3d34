#pragma once
// The distinct fp16 bit patterns of a set of weights, ascending by value, each with its value and
// count: what exact 1-D k-means (kmeans1d.h), the index assignment and the error metrics of an
// fp16 weight need, read straight from the bit patterns with no conversion of the elements to
// float and no copy of them. -0 is counted as +0 (one value). Sets from a few thousand elements
// on count into a histogram over the 65,536 patterns (kept zeroed between uses, so one counter
// serves many groups and weights without a fresh allocation); smaller ones sort their patterns
// instead, which beats scanning the histogram.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/compress/uninitialized_bytes.h"  // DefaultInitAllocator

namespace mlpress::compress {

// Unsigned keys in the fp16 values' order: negatives reversed below the positives; -0 sits
// just below +0 (the counter merges them). NaN patterns get keys outside the finite ones.
inline uint16_t fp16_order_key(uint16_t bits) {
  return (bits & 0x8000u) ? uint16_t(~bits) : uint16_t(bits | 0x8000u);
}
inline uint16_t fp16_from_order_key(uint16_t key) {
  return (key & 0x8000u) ? uint16_t(key & 0x7FFFu) : uint16_t(~key);
}

struct Fp16Patterns {
  // finish() writes every entry it keeps, so growing needs no zero fill.
  template <typename T>
  using Buffer = std::vector<T, DefaultInitAllocator<T>>;
  Buffer<uint16_t> patterns;    // strictly ascending in value; +0 stands for both zeros
  Buffer<double> values;        // double(fp16_to_float(pattern)), the k-means input
  Buffer<double> counts;        // elements with each pattern (whole numbers): the weights
  bool any_non_finite = false;  // some element is inf or NaN (then listed as well)
  uint64_t total = 0;           // sum of counts
};

class Fp16PatternCounter {
 public:
  // Starts a new set of about `expected` elements (it picks sort, marks or scan by it). A set
  // holds fewer than 2^32 elements.
  void begin(size_t expected);
  void add(const uint16_t* bits, size_t n);
  // Only the elements whose mask byte is nonzero.
  void add_masked(const uint16_t* bits, const uint8_t* mask, size_t n);
  // The set since begin(), into `out` (its vectors reused); the counter is ready for begin().
  void finish(Fp16Patterns& out);

 private:
  enum class Mode { kSort, kMark, kScan };
  // add (kMasked false: `mask` unused) and add_masked, one walk per mode.
  template <bool kMasked>
  void add_elements(const uint16_t* bits, const uint8_t* mask, size_t n);
  void finish_marked(Fp16Patterns& out);
  void finish_scanned(Fp16Patterns& out);
  void finish_sorted(Fp16Patterns& out);

  Mode mode_ = Mode::kSort;
  // kMark: add() marks `present_`, a bit per pattern, and finish() lists the marked patterns.
  // kScan (large sets, where a mark per element costs more): add() notes the largest magnitude
  // met, and finish() scans the counts up to it in both signs.
  uint16_t top_magnitude_ = 0;
  std::vector<uint32_t> histogram_;  // by pattern; all zero outside begin() .. finish()
  std::vector<uint64_t> present_;    // a bit per pattern: add() met it (same)
  std::vector<uint16_t> keys_, scratch_;
};

}  // namespace mlpress::compress
