#pragma once
// The distinct fp16 bit patterns of a set of weights, ascending by value, each with its count:
// what exact 1-D k-means (kmeans1d.h), the index assignment and the error metrics of an fp16
// weight need, read straight from the bit patterns with no conversion to float and no copy of
// the elements. -0 is counted as +0 (one value). Sets from a few thousand elements on count
// into a histogram over the 65,536 patterns (kept zeroed between uses, so one counter serves
// many groups and weights without a fresh allocation); smaller ones sort their patterns instead,
// which beats scanning the histogram.
#include <cstddef>
#include <cstdint>
#include <vector>

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
  std::vector<uint16_t> patterns;  // strictly ascending in value; +0 stands for both zeros
  std::vector<uint32_t> counts;    // elements with each pattern
  bool any_non_finite = false;     // some element is inf or NaN (then listed as well)
  uint64_t total = 0;              // sum of counts
};

class Fp16PatternCounter {
 public:
  // Starts a new set of about `expected` elements (it picks histogram or sort by it). A set
  // holds fewer than 2^32 elements.
  void begin(size_t expected);
  void add(const uint16_t* bits, size_t n);
  // Only the elements whose mask byte is nonzero.
  void add_masked(const uint16_t* bits, const uint8_t* mask, size_t n);
  // The set since begin(), into `out` (its vectors reused); the counter is ready for begin().
  void finish(Fp16Patterns& out);

 private:
  bool dense_ = false;
  // Whether add() marks `present_` (small sets), or finish() finds the patterns met from the
  // histogram (large sets, where a bit per element costs more than one scan of the counts).
  bool track_present_ = false;
  std::vector<uint32_t> histogram_;  // by pattern; all zero outside begin() .. finish()
  std::vector<uint64_t> present_;    // a bit per pattern: add() met it (same)
  std::vector<uint16_t> keys_, scratch_;
  std::vector<uint16_t> listed_patterns_;  // the histogram's patterns, gathered before copying out
  std::vector<uint32_t> listed_counts_;
};

}  // namespace mlpress::compress
