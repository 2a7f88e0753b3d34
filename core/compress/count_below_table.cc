#include "core/compress/count_below_table.h"

#include <stdexcept>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {
namespace {

constexpr uint32_t kBucketShift = 16;
constexpr size_t kBuckets = size_t(1) << (32 - kBucketShift);

}  // namespace

CountBelowTable::CountBelowTable(std::span<const float> thresholds) : below_(kBuckets + 1) {
  if (thresholds.size() > 255) throw std::invalid_argument("CountBelowTable: over 255 thresholds");
  keys_.reserve(thresholds.size() + kInside);
  for (float t : thresholds) keys_.push_back(float_order_key(t));
  // Above every finite value's key: the comparisons past the last threshold count nothing.
  keys_.insert(keys_.end(), kInside, UINT32_MAX);
  const size_t m = thresholds.size();
  size_t j = 0;
  for (size_t b = 0; b <= kBuckets; ++b) {
    // Thresholds whose bucket is below b are below every key of bucket b.
    while (j < m && (keys_[j] >> kBucketShift) < b) ++j;
    size_t end = j;
    while (end < m && (keys_[end] >> kBucketShift) == b) ++end;
    below_[b] = uint16_t(j | (end - j > kInside ? kCrowded : 0));
  }
}

void CountBelowTable::count(const float* x, size_t n, uint8_t* out) const {
  const uint32_t* keys = keys_.data();
  const uint16_t* below = below_.data();
  for (size_t i = 0; i < n; ++i) {
    const uint32_t key = float_order_key(x[i]);
    const uint32_t bucket = key >> kBucketShift;
    const uint32_t entry = below[bucket];
    uint32_t c = entry & 0xFFu;
    if (entry & kCrowded) [[unlikely]] {
      const uint32_t end = below[bucket + 1] & 0xFFu;
      for (uint32_t j = c; j < end; ++j) c += keys[j] < key ? 1 : 0;
    } else {
      // At most kInside thresholds in the bucket; the keys after them belong to later buckets (or
      // are the padding) and are above the value, so these compares count exactly the ones below
      // it, with no branch on how many there are.
      c += (keys[c] < key ? 1 : 0) + (keys[c + 1] < key ? 1 : 0);
    }
    out[i] = uint8_t(c);
  }
}

}  // namespace mlpress::compress
