// distinct_weighted_values (radix sort and fp16-histogram paths) against std::sort plus a merge.
#include "core/compress/distinct_values.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {
namespace {

DistinctValues by_sorting(const std::vector<float>& x, const std::vector<double>& w) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  DistinctValues out;
  for (size_t i : order) {
    const double v = x[i] == 0.0f ? 0.0 : double(x[i]);
    const double m = w.empty() ? 1.0 : w[i];
    if (!out.values.empty() && out.values.back() == v) {
      out.weights.back() += m;
    } else {
      out.values.push_back(v);
      out.weights.push_back(m);
    }
  }
  return out;
}

void expect_same(const DistinctValues& got, const DistinctValues& want) {
  ASSERT_EQ(got.values, want.values);
  ASSERT_EQ(got.weights.size(), want.weights.size());
  for (size_t i = 0; i < got.weights.size(); ++i) {
    EXPECT_NEAR(got.weights[i], want.weights[i], 1e-9 * want.weights[i]) << i;
  }
}

TEST(DistinctValuesTest, MatchesSortingForFp32Fp16AndWeights) {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<double> mass(0.1, 4.0);
  for (size_t n : {1u, 7u, 1000u, 70000u, 200000u}) {
    std::vector<float> fp32(n), fp16(n);
    for (size_t i = 0; i < n; ++i) {
      fp32[i] = normal(rng) * (i % 5 == 0 ? 1e-30f : 1.0f);  // tiny and ordinary magnitudes
      fp16[i] = fp16_to_float(float_to_fp16(normal(rng) * 3.0f));
    }
    // Zeros of both signs, and negative and positive fp16 subnormals.
    fp32[0] = -0.0f;
    fp16[0] = -0.0f;
    if (n > 3) {
      fp32[1] = 0.0f;
      fp16[1] = 0.0f;
      fp16[2] = -0x1p-24f;
      fp16[3] = 0x1p-20f;
    }
    std::vector<double> w(n);
    for (double& m : w) m = mass(rng);
    for (const auto* x : {&fp32, &fp16}) {
      expect_same(distinct_weighted_values(*x, {}), by_sorting(*x, {}));
      expect_same(distinct_weighted_values(*x, w), by_sorting(*x, w));
    }
  }
}

}  // namespace
}  // namespace mlpress::compress
