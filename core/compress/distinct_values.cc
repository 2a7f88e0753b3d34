#include "core/compress/distinct_values.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {
namespace {

// LSD radix sort by 8-bit digits of key_of(item); `scratch` is resized as needed.
template <typename T, typename KeyOf>
void radix_sort(std::vector<T>& items, std::vector<T>& scratch, KeyOf key_of) {
  const size_t n = items.size();
  std::array<std::array<size_t, 256>, 4> count{};
  for (const T& item : items) {
    const uint32_t key = key_of(item);
    for (int d = 0; d < 4; ++d) ++count[d][(key >> (8 * d)) & 0xFFu];
  }
  scratch.resize(n);
  for (int d = 0; d < 4; ++d) {
    auto& c = count[d];
    if (std::any_of(c.begin(), c.end(), [n](size_t m) { return m == n; })) continue;
    size_t sum = 0;
    for (size_t& m : c) {
      const size_t here = m;
      m = sum;
      sum += here;
    }
    for (const T& item : items) scratch[c[(key_of(item) >> (8 * d)) & 0xFFu]++] = item;
    items.swap(scratch);
  }
}

// Values that are all exactly binary16 (fp16 weights, or fp16-rounded normalised ones): one pass
// into a weight per bit pattern, read back in value order. False, with `out` untouched, as soon
// as one value is not.
bool distinct_fp16_values(std::span<const float> x, std::span<const double> weights,
                          DistinctValues& out) {
  std::vector<double> mass(65536, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    uint16_t h = float_to_fp16(x[i]);
    if (fp16_to_float(h) != x[i]) return false;
    if (h == 0x8000u) h = 0;  // -0 is +0
    mass[h] += weights.empty() ? 1.0 : weights[i];
  }
  // Ascending: negatives from the largest magnitude (largest pattern) down, then positives up.
  for (uint32_t h = 0xFFFFu; h > 0x8000u; --h) {
    if (mass[h] > 0)
      out.values.push_back(double(fp16_to_float(uint16_t(h)))), out.weights.push_back(mass[h]);
  }
  for (uint32_t h = 0; h < 0x8000u; ++h) {
    if (mass[h] > 0)
      out.values.push_back(double(fp16_to_float(uint16_t(h)))), out.weights.push_back(mass[h]);
  }
  return true;
}

}  // namespace

DistinctValues distinct_weighted_values(std::span<const float> x, std::span<const double> weights) {
  if (!weights.empty() && weights.size() != x.size()) {
    throw std::invalid_argument("distinct_weighted_values: one weight per value");
  }
  DistinctValues out;
  // Past 65,536 values the pattern histogram is cheaper than sorting.
  if (x.size() > 65536 && distinct_fp16_values(x, weights, out)) return out;
  const bool unit = std::all_of(weights.begin(), weights.end(), [](double w) { return w == 1.0; });
  if (unit) {
    std::vector<uint32_t> keys(x.size()), scratch;
    for (size_t i = 0; i < x.size(); ++i) keys[i] = float_order_key(x[i]);
    radix_sort(keys, scratch, [](uint32_t k) { return k; });
    for (size_t i = 0; i < keys.size();) {
      size_t j = i + 1;
      while (j < keys.size() && keys[j] == keys[i]) ++j;
      out.values.push_back(double(float_from_order_key(keys[i])));
      out.weights.push_back(double(j - i));
      i = j;
    }
    return out;
  }
  struct Item {
    uint32_t key;
    double weight;
  };
  std::vector<Item> items(x.size()), scratch;
  for (size_t i = 0; i < x.size(); ++i) items[i] = {float_order_key(x[i]), weights[i]};
  radix_sort(items, scratch, [](const Item& it) { return it.key; });
  for (size_t i = 0; i < items.size();) {
    double w = 0;
    size_t j = i;
    for (; j < items.size() && items[j].key == items[i].key; ++j) w += items[j].weight;
    out.values.push_back(double(float_from_order_key(items[i].key)));
    out.weights.push_back(w);
    i = j;
  }
  return out;
}

}  // namespace mlpress::compress
