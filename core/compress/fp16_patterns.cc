#include "core/compress/fp16_patterns.h"

#include <array>
#include <bit>
#include <cstring>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {
namespace {

// From this many elements the histogram (only the patterns met are listed, found by a bit per
// pattern) costs less than sorting: measured 18 against 58 us at 4,096 normal fp16 weights
// (the sort: 28 us at 2,048).
constexpr size_t kDenseFrom = 3072;
// From this many elements on, finish() scans the counts up to the largest magnitude met instead
// of add() marking a bit per element (the mark was a third of the counting of a 1M-weight tensor
// in wasm, and costs more than the scan from a few times the scanned range's size).
constexpr size_t kScanFrom = 65536;
// The scan skips blocks of this many counts that are all zero.
constexpr uint32_t kScanBlock = 16;

constexpr uint16_t kMinusZeroKey = 0x7FFFu;
constexpr uint16_t kPlusZeroKey = 0x8000u;

bool non_finite(uint16_t pattern) { return (pattern & 0x7C00u) == 0x7C00u; }

double value_of(uint16_t pattern) { return double(fp16_to_float(pattern)); }

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

// Room for `bound` entries (new ones unwritten); finish_list() trims to what was listed.
void start_list(Fp16Patterns& out, size_t bound) {
  out.patterns.resize(bound);
  out.values.resize(bound);
  out.counts.resize(bound);
  out.any_non_finite = false;
  out.total = 0;
}

// Patterns are listed by value, so inf and NaN (of either sign) can only be first or last.
void finish_list(Fp16Patterns& out, size_t m) {
  out.patterns.resize(m);
  out.values.resize(m);
  out.counts.resize(m);
  out.any_non_finite =
      m > 0 && (non_finite(out.patterns.front()) || non_finite(out.patterns.back()));
}

bool block_is_zero(const uint32_t* counts) {
  uint64_t any = 0;
  for (uint32_t i = 0; i < kScanBlock; i += 2) {
    uint64_t pair;
    std::memcpy(&pair, counts + i, sizeof pair);
    any |= pair;
  }
  return any == 0;
}

}  // namespace

void Fp16PatternCounter::begin(size_t expected) {
  mode_ = expected < kDenseFrom ? Mode::kSort : expected < kScanFrom ? Mode::kMark : Mode::kScan;
  if (mode_ != Mode::kSort && histogram_.empty()) {
    histogram_.assign(65536, 0);
    present_.assign(65536 / 64, 0);
  }
  top_magnitude_ = 0;
  keys_.clear();
}

template <bool kMasked>
void Fp16PatternCounter::add_elements(const uint16_t* bits, const uint8_t* mask, size_t n) {
  // 1 for an element that counts, else 0. Unmasked it is the constant 1, which folds away: the
  // loops are the plain ones (they vectorise where they did).
  const auto counts = [mask](size_t i) -> uint32_t {
    if constexpr (kMasked) {
      return mask[i] ? 1 : 0;
    } else {
      (void)mask;
      (void)i;
      return 1;
    }
  };
  uint32_t* h = histogram_.data();
  switch (mode_) {
    case Mode::kScan: {
      for (size_t i = 0; i < n; ++i) h[bits[i]] += counts(i);
      // A separate pass, which vectorises: the largest magnitude bounds the scan in finish().
      uint16_t top = top_magnitude_;
      for (size_t i = 0; i < n; ++i) {
        const uint16_t magnitude = counts(i) ? uint16_t(bits[i] & 0x7FFFu) : uint16_t(0);
        top = magnitude > top ? magnitude : top;
      }
      top_magnitude_ = top;
      return;
    }
    case Mode::kMark: {
      uint64_t* present = present_.data();
      for (size_t i = 0; i < n; ++i) {
        h[bits[i]] += counts(i);
        present[bits[i] / 64] |= uint64_t(counts(i)) << (bits[i] % 64);
      }
      return;
    }
    case Mode::kSort:
      if constexpr (kMasked) {
        for (size_t i = 0; i < n; ++i) {
          if (mask[i]) keys_.push_back(fp16_order_key(bits[i]));
        }
      } else {
        const size_t at = keys_.size();
        keys_.resize(at + n);
        uint16_t* keys = keys_.data() + at;
        for (size_t i = 0; i < n; ++i) keys[i] = fp16_order_key(bits[i]);
      }
      return;
  }
}

void Fp16PatternCounter::add(const uint16_t* bits, size_t n) {
  add_elements<false>(bits, nullptr, n);
}

void Fp16PatternCounter::add_masked(const uint16_t* bits, const uint8_t* mask, size_t n) {
  add_elements<true>(bits, mask, n);
}

void Fp16PatternCounter::finish(Fp16Patterns& out) {
  switch (mode_) {
    case Mode::kScan:
      finish_scanned(out);
      return;
    case Mode::kMark:
      finish_marked(out);
      return;
    case Mode::kSort:
      finish_sorted(out);
      return;
  }
}

// By pattern: negatives from the largest magnitude down, then +0 (with -0) and up. Only the
// patterns add() met are visited, by the set bits of `present` (most of the 65,536 are absent:
// whole exponents unused, and about two in three even in the busy ones).
void Fp16PatternCounter::finish_marked(Fp16Patterns& out) {
  uint32_t* h = histogram_.data();
  uint64_t* present = present_.data();
  h[0] += h[0x8000u];
  h[0x8000u] = 0;  // -0 counted as +0
  present[0x8000u / 64] &= ~uint64_t(1);
  present[0] |= h[0] != 0 ? 1 : 0;
  size_t bound = 0;
  for (uint32_t word = 0; word < 65536 / 64; ++word) bound += size_t(std::popcount(present[word]));
  start_list(out, bound);
  uint16_t* patterns = out.patterns.data();
  double* values = out.values.data();
  double* counts = out.counts.data();
  uint64_t total = 0;
  size_t m = 0;
  const auto take = [&](uint32_t pattern) {
    patterns[m] = uint16_t(pattern);
    values[m] = value_of(uint16_t(pattern));
    counts[m] = double(h[pattern]);
    total += h[pattern];
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
  out.total = total;
  finish_list(out, m);
}

// The same order, found by scanning the counts of magnitudes up to the largest met, in blocks:
// an all-zero block costs one test, and in the others every count is written out and kept (the
// list grows) only when nonzero, without a branch on it.
void Fp16PatternCounter::finish_scanned(Fp16Patterns& out) {
  uint32_t* h = histogram_.data();
  h[0] += h[0x8000u];
  h[0x8000u] = 0;  // -0 counted as +0
  const uint32_t blocks = uint32_t(top_magnitude_) / kScanBlock + 1;
  start_list(out, 2 * size_t(blocks) * kScanBlock);
  uint16_t* patterns = out.patterns.data();
  double* values = out.values.data();
  double* counts = out.counts.data();
  uint64_t total = 0;
  size_t m = 0;
  const auto take = [&](uint32_t pattern) {
    const uint32_t c = h[pattern];
    patterns[m] = uint16_t(pattern);
    values[m] = value_of(uint16_t(pattern));
    counts[m] = double(c);
    total += c;
    m += c != 0 ? 1 : 0;
  };
  for (uint32_t b = blocks; b-- > 0;) {
    uint32_t* block = h + 0x8000u + b * kScanBlock;
    if (block_is_zero(block)) continue;
    for (uint32_t i = kScanBlock; i-- > 0;) take(0x8000u + b * kScanBlock + i);
    std::memset(block, 0, kScanBlock * sizeof *block);
  }
  for (uint32_t b = 0; b < blocks; ++b) {
    uint32_t* block = h + b * kScanBlock;
    if (block_is_zero(block)) continue;
    for (uint32_t i = 0; i < kScanBlock; ++i) take(b * kScanBlock + i);
    std::memset(block, 0, kScanBlock * sizeof *block);
  }
  out.total = total;
  finish_list(out, m);
}

void Fp16PatternCounter::finish_sorted(Fp16Patterns& out) {
  sort_keys(keys_, scratch_);
  start_list(out, keys_.size());
  size_t m = 0;
  uint64_t total = 0;
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
    const uint16_t pattern = fp16_from_order_key(key);
    out.patterns[m] = pattern;
    out.values[m] = value_of(pattern);
    out.counts[m] = double(count);
    total += count;
    ++m;
    i = j;
  }
  out.total = total;
  finish_list(out, m);
  keys_.clear();
}

}  // namespace mlpress::compress
