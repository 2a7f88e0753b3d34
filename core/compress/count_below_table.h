#pragma once
// The index of the nearest entry of a large scalar LUT for many values, as count_below_scalar
// (palettize_kernels.h) gives it: the number of midpoint thresholds strictly below each value.
// A table over the top 16 bits of the values' order keys holds, per bucket, how many thresholds
// lie below the whole bucket; a value then needs only the thresholds inside its own bucket, which
// for 255 thresholds among tens of thousands of buckets is at most two for almost all values.
// Worth its 128 KiB table from tens of thousands of values on (an 8-bit LUT over a large fp32
// weight).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mlpress::compress {

class CountBelowTable {
 public:
  // `thresholds` ascending, finite, at most 255 of them.
  explicit CountBelowTable(std::span<const float> thresholds);

  // out[i] = the number of thresholds < x[i], for finite x.
  void count(const float* x, size_t n, uint8_t* out) const;

 private:
  // Buckets holding up to this many thresholds are counted with that many compares, no branch.
  static constexpr size_t kInside = 2;
  // Set in a bucket's entry when it holds more thresholds than that (then they are looped over).
  static constexpr uint16_t kCrowded = 0x100;

  std::vector<uint32_t> keys_;   // the thresholds' order keys, ascending, then kInside paddings
  std::vector<uint16_t> below_;  // per bucket of keys (65,536, plus one end): thresholds below
                                 // it, and kCrowded
};

}  // namespace mlpress::compress
