#include "core/compress/count_below_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/compress/palettize_kernels.h"

namespace mlpress::compress {
namespace {

// Values and thresholds that stress the buckets: equal to a threshold, one ulp either side, both
// zeros, subnormals, the extremes, and many thresholds in one bucket.
std::vector<float> edge_values(const std::vector<float>& thresholds) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          std::numeric_limits<float>::denorm_min(),
                          -std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::min(),
                          -std::numeric_limits<float>::min()};
  for (float t : thresholds) {
    v.push_back(t);
    v.push_back(std::nextafter(t, std::numeric_limits<float>::infinity()));
    v.push_back(std::nextafter(t, -std::numeric_limits<float>::infinity()));
  }
  return v;
}

void expect_matches_scalar(const std::vector<float>& thresholds, std::vector<float> values) {
  const std::vector<float> edges = edge_values(thresholds);
  values.insert(values.end(), edges.begin(), edges.end());
  std::vector<uint8_t> want(values.size()), got(values.size(), 0xEE);
  kernels::count_below_scalar(values.data(), values.size(), thresholds.data(), thresholds.size(),
                              want.data());
  CountBelowTable(thresholds).count(values.data(), values.size(), got.data());
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "value " << values[i] << " (" << i << ")";
  }
}

TEST(CountBelowTableTest, MatchesTheScalarCountOnRandomLuts) {
  std::mt19937 rng(7);
  for (size_t m : {0, 1, 2, 33, 127, 255}) {
    for (float spread : {1e-3f, 1.0f, 1e30f}) {
      std::normal_distribution<float> normal(0.0f, spread);
      std::vector<float> thresholds(m);
      for (float& t : thresholds) t = normal(rng);
      std::sort(thresholds.begin(), thresholds.end());
      std::vector<float> values(20000);
      for (float& v : values) v = normal(rng);
      expect_matches_scalar(thresholds, values);
    }
  }
}

TEST(CountBelowTableTest, ManyThresholdsInOneBucketAndRepeatedThresholds) {
  // 255 thresholds one ulp apart share a bucket of the top 16 bits; repeats (a LUT whose rounded
  // entries collide) count each copy.
  std::vector<float> thresholds;
  float t = 1.5f;
  for (int i = 0; i < 200; ++i, t = std::nextafter(t, 2.0f)) thresholds.push_back(t);
  for (int i = 0; i < 55; ++i) thresholds.push_back(t);
  std::vector<float> values;
  for (float v = 1.4999f; v < 1.5001f; v = std::nextafter(v, 2.0f)) values.push_back(v);
  expect_matches_scalar(thresholds, values);
  thresholds.assign(255, -0.0f);
  expect_matches_scalar(thresholds, {0.0f, -0.0f, 1.0f, -1.0f});
}

TEST(CountBelowTableTest, RefusesMoreThresholdsThanAnIndexHolds) {
  EXPECT_THROW(CountBelowTable(std::vector<float>(256, 0.0f)), std::invalid_argument);
}

}  // namespace
}  // namespace mlpress::compress
