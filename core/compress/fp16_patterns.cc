#include "core/compress/fp16_patterns.h"

#include <array>
#include <bit>

namespace mlpress::compress {
namespace {

// From this many elements on the histogram (only the patterns met are listed, found by a bit
// per pattern) costs less than sorting: measured 18 against 58 us at 4,096 normal fp16 weights
// (the sort: 28 us at 2,048).
constexpr size_t kDenseFrom = 3072;
// Below this many elements add() marks the patterns it meets (a scan of the 65,536 counts would
// cost more than the marks); from it on, finish() scans the counts once instead (a 1M-weight
// tensor: the mark per element was a third of the counting in wasm).
constexpr size_t kScanFrom = 65536;

constexpr uint16_t kMinusZeroKey = 0x7FFFu;
constexpr uint16_t kPlusZeroKey = 0x8000u;

bool non_finite(uint16_t pattern) { return (pattern & 0x7C00u) == 0x7C00u; }

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

inline void push(Fp16Patterns& out, uint16_t pattern, uint32_t count) {
  out.patterns.push_back(pattern);
  out.counts.push_back(count);
  out.total += count;
}

// Patterns are listed by value, so inf and NaN (of either sign) can only be first or last.
void set_non_finite(Fp16Patterns& out) {
  out.any_non_finite = !out.patterns.empty() &&
                       (non_finite(out.patterns.front()) || non_finite(out.patterns.back()));
}

}  // namespace

void Fp16PatternCounter::begin(size_t expected) {
  dense_ = expected >= kDenseFrom;
  track_present_ = expected < kScanFrom;
  if (dense_ && histogram_.empty()) {
    histogram_.assign(65536, 0);
    present_.assign(65536 / 64, 0);
  }
  keys_.clear();
}

void Fp16PatternCounter::add(const uint16_t* bits, size_t n) {
  if (dense_) {
    uint32_t* h = histogram_.data();
    if (!track_present_) {
      for (size_t i = 0; i < n; ++i) ++h[bits[i]];
      return;
    }
    uint64_t* present = present_.data();
    for (size_t i = 0; i < n; ++i) {
      ++h[bits[i]];
      present[bits[i] / 64] |= uint64_t(1) << (bits[i] % 64);
    }
  } else {
    const size_t at = keys_.size();
    keys_.resize(at + n);
    uint16_t* keys = keys_.data() + at;
    for (size_t i = 0; i < n; ++i) keys[i] = fp16_order_key(bits[i]);
  }
}

void Fp16PatternCounter::add_masked(const uint16_t* bits, const uint8_t* mask, size_t n) {
  if (dense_) {
    uint32_t* h = histogram_.data();
    if (!track_present_) {
      for (size_t i = 0; i < n; ++i) h[bits[i]] += mask[i] ? 1 : 0;
      return;
    }
    uint64_t* present = present_.data();
    for (size_t i = 0; i < n; ++i) {
      h[bits[i]] += mask[i] ? 1 : 0;
      present[bits[i] / 64] |= uint64_t(mask[i] ? 1 : 0) << (bits[i] % 64);
    }
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
    // By pattern: negatives from the largest magnitude down, then +0 (with -0) and up. Only
    // the patterns add() met are visited, by the set bits of `present` (most of the 65,536 are
    // absent: whole exponents unused, and about two in three even in the busy ones).
    uint32_t* h = histogram_.data();
    uint64_t* present = present_.data();
    if (!track_present_) {
      for (uint32_t word = 0; word < 65536 / 64; ++word) {
        uint64_t met = 0;
        for (uint32_t b = 0; b < 64; ++b) met |= uint64_t(h[word * 64 + b] != 0) << b;
        present[word] = met;
      }
    }
    h[0] += h[0x8000u];
    h[0x8000u] = 0;  // -0 counted as +0
    present[0x8000u / 64] &= ~uint64_t(1);
    present[0] |= h[0] != 0 ? 1 : 0;
    // At most 65,535 patterns (the two zeros are one).
    listed_patterns_.resize(65536);
    listed_counts_.resize(65536);
    uint16_t* patterns = listed_patterns_.data();
    uint32_t* counts = listed_counts_.data();
    size_t m = 0;
    const auto take = [&](uint32_t pattern) {
      patterns[m] = uint16_t(pattern);
      counts[m] = h[pattern];
      h[pattern] = 0;
      ++m;
    };
    for (uint32_t word = 1024; word-- > 512;) {
      for (uint64_t bits = present[word]; bits != 0;) {
        const int bit = 63 - std::countl_zero(bits);
        bits &= ~(uint64_t(1) << bit);
        take(word * 64 + uint32_t(bit));
      }
      present[word] = 0;
    }
    for (uint32_t word = 0; word < 512; ++word) {
      for (uint64_t bits = present[word]; bits != 0; bits &= bits - 1) {
        take(word * 64 + uint32_t(std::countr_zero(bits)));
      }
      present[word] = 0;
    }
    out.patterns.assign(patterns, patterns + m);
    out.counts.assign(counts, counts + m);
    for (size_t i = 0; i < m; ++i) out.total += counts[i];
    set_non_finite(out);
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
    push(out, fp16_from_order_key(key), count);
    i = j;
  }
  set_non_finite(out);
  keys_.clear();
}

}  // namespace mlpress::compress
