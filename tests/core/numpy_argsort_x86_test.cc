// numpy_avx2_argsort_f32: a permutation that sorts the keys, and for tied keys the order numpy
// 2.2.6's np.argsort gave these float32 rows on an x86-64 CPU with AVX2 and without AVX-512
// (recorded from numpy; tests/conformance/test_prune.py checks the same against coremltools).
#include "core/compress/numpy_argsort_x86.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

namespace mlpress::compress {
namespace {

std::vector<uint32_t> bits_of(const std::vector<float>& values) {
  std::vector<uint32_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(&bits[i], &values[i], sizeof(float));
  return bits;
}

std::vector<uint32_t> order_of(const std::vector<float>& values) {
  const auto keys = bits_of(values);
  std::vector<uint32_t> order(keys.size());
  numpy_avx2_argsort_f32(keys, order);
  return order;
}

TEST(NumpyArgsortX86, TiesInNumpysOrder) {
  EXPECT_EQ(order_of({1, 1, 0, 0}), (std::vector<uint32_t>{3, 2, 1, 0}));
  EXPECT_EQ(order_of({1, 1, 1, 1, 0, 1, 1, 1}), (std::vector<uint32_t>{4, 0, 2, 1, 3, 5, 6, 7}));
  EXPECT_EQ(order_of({1, 1, 1, 1, 1, 0, 1, 0}), (std::vector<uint32_t>{7, 5, 0, 1, 3, 2, 4, 6}));
  EXPECT_EQ(order_of({2, 2, 2, 1, 1, 1, 0, 0, 0, 3, 3, 3}),
            (std::vector<uint32_t>{6, 7, 8, 3, 4, 5, 0, 2, 1, 9, 10, 11}));
  // 37 keys: eight vectors of four, the last three padded.
  EXPECT_EQ(order_of({2, 2, 0, 2, 1, 1, 1, 0, 2, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0,
                      2, 0, 1, 2, 0, 0, 1, 0, 2, 0, 2, 2, 2, 0, 1, 1, 1, 1}),
            (std::vector<uint32_t>{2,  7,  10, 9,  15, 14, 17, 16, 24, 26, 28, 23, 20,
                                   18, 32, 4,  21, 25, 11, 13, 6,  12, 33, 5,  35, 34,
                                   36, 22, 8,  3,  0,  1,  31, 30, 29, 27, 19}));
}

TEST(NumpyArgsortX86, SortedRowKeepsPositions) {
  EXPECT_EQ(order_of({0, 1, 1, 1, 2}), (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(order_of({5, 5, 5, 5, 5, 5}), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5}));
}

TEST(NumpyArgsortX86, SortsEveryLength) {
  std::mt19937 rng(3);
  for (size_t n = 1; n <= kNumpyAvx2NetworkMax; ++n) {
    std::vector<float> values(n);
    for (auto& v : values) v = float(rng() % 5) * 0.25f;  // many ties
    const auto order = order_of(values);
    std::vector<uint32_t> seen(order);
    std::sort(seen.begin(), seen.end());
    std::vector<uint32_t> all(n);
    std::iota(all.begin(), all.end(), 0u);
    ASSERT_EQ(seen, all) << n;  // a permutation
    for (size_t i = 1; i < n; ++i) ASSERT_LE(values[order[i - 1]], values[order[i]]) << n;
  }
}

}  // namespace
}  // namespace mlpress::compress
