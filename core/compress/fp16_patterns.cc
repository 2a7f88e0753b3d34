#include "core/compress/fp16_patterns.h"

#include <array>

namespace mlpress::compress {
namespace {

// Past this many elements the histogram's 65,536-key scan costs less than sorting.
constexpr size_t kDenseFrom = 16384;

constexpr uint16_t kMinusZeroKey = 0x7FFFu;
constexpr uint16_t kPlusZeroKey = 0x8000u;

// Keys of inf and NaN: negative ones below 0x0400, positive ones from 0xFC00.
bool non_finite_key(uint16_t key) { return key < 0x0400u || key >= 0xFC00u; }

// LSD radix sort of 16-bit keys by two 8-bit digits.
void sort_keys(std::vector<uint16_t>& keys, std::vector<uint16_t>& scratch) {
  std::array<std::array<uint32_t, 256>, 2> count{};
  for (const uint16_t k : keys) ++count[0][k & 0xFFu], ++count[1][k >> 8];
  scratch.resize(keys.size());
  for (int d = 0; d < 2; ++d) {
    uint32_t sum = 0;
    for (uint32_t& c : count[d]) {
      const uint32_t here = c;
      c = sum;
      sum += here;
    }
    for (const uint16_t k : keys) scratch[count[d][(k >> (8 * d)) & 0xFFu]++] = k;
    keys.swap(scratch);
  }
}

void push(Fp16Patterns& out, uint16_t key, uint32_t count) {
  out.patterns.push_back(fp16_from_order_key(key));
  out.counts.push_back(count);
  out.any_non_finite = out.any_non_finite || non_finite_key(key);
  out.total += count;
}

}  // namespace

void Fp16PatternCounter::begin(size_t expected) {
  dense_ = expected >= kDenseFrom;
  if (dense_ && histogram_.empty()) histogram_.assign(65536, 0);
  keys_.clear();
}

void Fp16PatternCounter::add(const uint16_t* bits, size_t n) {
  if (dense_) {
    uint32_t* h = histogram_.data();
    for (size_t i = 0; i < n; ++i) ++h[fp16_order_key(bits[i])];
  } else {
    for (size_t i = 0; i < n; ++i) keys_.push_back(fp16_order_key(bits[i]));
  }
}

void Fp16PatternCounter::add_masked(const uint16_t* bits, const uint8_t* mask, size_t n) {
  if (dense_) {
    uint32_t* h = histogram_.data();
    for (size_t i = 0; i < n; ++i) h[fp16_order_key(bits[i])] += mask[i] ? 1 : 0;
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (mask[i]) keys_.push_back(fp16_order_key(bits[i]));
    }
  }
}

void Fp16PatternCounter::finish(Fp16Patterns& out) {
  out.patterns.clear();
  out.counts.clear();
  out.any_non_finite = false;
  out.total = 0;
  if (dense_) {
    uint32_t* h = histogram_.data();
    h[kPlusZeroKey] += h[kMinusZeroKey];
    h[kMinusZeroKey] = 0;
    for (uint32_t key = 0; key < 65536; ++key) {
      if (h[key] == 0) continue;
      push(out, uint16_t(key), h[key]);
      h[key] = 0;
    }
    return;
  }
  sort_keys(keys_, scratch_);
  for (size_t i = 0; i < keys_.size();) {
    size_t j = i + 1;
    while (j < keys_.size() && keys_[j] == keys_[i]) ++j;
    uint32_t count = uint32_t(j - i);
    uint16_t key = keys_[i];
    if (key == kMinusZeroKey) {
      // +0 (if any) follows directly: one value.
      if (j < keys_.size() && keys_[j] == kPlusZeroKey) {
        const size_t k = j;
        while (j < keys_.size() && keys_[j] == kPlusZeroKey) ++j;
        count += uint32_t(j - k);
      }
      key = kPlusZeroKey;
    }
    push(out, key, count);
    i = j;
  }
  keys_.clear();
}

}  // namespace mlpress::compress
