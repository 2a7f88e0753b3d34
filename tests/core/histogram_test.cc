// compress::histogram against a scalar brute force: every value tested against every bin's
// [edge[i], edge[i+1]) (the last bin closed), the edges recomputed here as np.linspace does.
// Edge values, values one ulp either side of every edge, the range ends, NaN, infinities,
// -0.0, denormals, several chunks, and fp16/int8 tensors.
#include "core/compress/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {
namespace {

DenseTensor fp32(const std::vector<float>& values) {
  DenseTensor t;
  t.type = ElemType::kFp32;
  t.dims = {values.size()};
  t.data.resize(values.size() * 4);
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

// The brute force: edges as numpy computes np.linspace(lo, hi, bins + 1) (start + i * step,
// step = (stop - start) / div, the last = stop), every value compared with every bin.
Histogram brute_force(const std::vector<float>& values, double lo, double hi, size_t bins) {
  std::vector<double> edges;
  const double step = (hi - lo) / static_cast<double>(bins);
  for (size_t i = 0; i < bins; ++i) {
    volatile double scaled = static_cast<double>(i) * step;  // no fused multiply-add
    edges.push_back(scaled + lo);
  }
  edges.push_back(hi);
  Histogram h;
  h.range = {lo, hi};
  h.counts.assign(bins, 0);
  for (float f : values) {
    const double v = f;
    ++h.total;
    if (std::isnan(v)) {
      ++h.nan;
      continue;
    }
    bool binned = false;
    for (size_t i = 0; i < bins && !binned; ++i) {
      const bool last = i + 1 == bins;
      if (edges[i] <= v && (v < edges[i + 1] || (last && v == edges[i + 1]))) {
        ++h.counts[i];
        binned = true;
      }
    }
    if (!binned) ++(v < lo ? h.below : h.above);
  }
  return h;
}

void expect_same(const Histogram& got, const Histogram& want) {
  EXPECT_EQ(got.counts, want.counts);
  EXPECT_EQ(got.below, want.below);
  EXPECT_EQ(got.above, want.above);
  EXPECT_EQ(got.nan, want.nan);
  EXPECT_EQ(got.total, want.total);
}

// Values on and one float either side of every edge (as floats), the range ends, and specials.
std::vector<float> edge_values(double lo, double hi, size_t bins) {
  std::vector<float> values;
  for (double e : histogram_edges({lo, hi}, bins)) {
    const float f = static_cast<float>(e);
    values.push_back(f);
    values.push_back(std::nextafter(f, -INFINITY));
    values.push_back(std::nextafter(f, INFINITY));
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float v :
       {inf, -inf, std::numeric_limits<float>::quiet_NaN(), -0.0f, 0.0f,
        std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
        std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()}) {
    values.push_back(v);
  }
  return values;
}

TEST(Histogram, EdgesAreLinspace) {
  const auto edges = histogram_edges({-1.0, 3.0}, 4);
  ASSERT_EQ(edges.size(), 5u);
  EXPECT_EQ(edges[0], -1.0);
  EXPECT_EQ(edges[1], 0.0);
  EXPECT_EQ(edges[2], 1.0);
  EXPECT_EQ(edges[3], 2.0);
  EXPECT_EQ(edges[4], 3.0);
}

TEST(Histogram, RangeEndsAreInTheFirstAndLastBins) {
  const Histogram h = histogram(fp32({-1.0f, 3.0f, 3.0f, 0.0f}), {-1.0, 3.0}, 4);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{1, 1, 0, 2}));
  EXPECT_EQ(h.below + h.above + h.nan, 0u);
}

TEST(Histogram, NanAndInfinitiesAreCountedApart) {
  const float inf = std::numeric_limits<float>::infinity();
  const Histogram h = histogram(
      fp32({std::numeric_limits<float>::quiet_NaN(), inf, -inf, 0.5f, 7.0f, -2.0f}), {0.0, 1.0}, 2);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(h.nan, 1u);
  EXPECT_EQ(h.above, 2u);  // +inf, 7
  EXPECT_EQ(h.below, 2u);  // -inf, -2
  EXPECT_EQ(h.total, 6u);
}

TEST(Histogram, MatchesBruteForceOnEdgesAndRandomValues) {
  std::mt19937 rng(12345);
  struct Case {
    double lo, hi;
    size_t bins;
  };
  // Ranges whose edges are not exact in binary (0.1 steps), odd bin counts, a tiny range, a
  // huge one, and float32 ends as the default range gives them.
  const std::vector<Case> cases = {{-0.41430664, 0.40917969, 64},
                                   {0.0, 1.0, 10},
                                   {-1.0, 1.0, 7},
                                   {-3e-7, 5e-7, 33},
                                   {-1e30, 2e30, 5},
                                   {0.1, 0.7, 3},
                                   {static_cast<float>(-0.3), static_cast<float>(0.3), 1}};
  for (const Case& c : cases) {
    std::vector<float> values = edge_values(c.lo, c.hi, c.bins);
    std::uniform_real_distribution<double> dist(c.lo - (c.hi - c.lo) * 0.1,
                                                c.hi + (c.hi - c.lo) * 0.1);
    for (int i = 0; i < 10000; ++i) values.push_back(static_cast<float>(dist(rng)));
    SCOPED_TRACE(testing::Message() << "range [" << c.lo << ", " << c.hi << "], " << c.bins);
    expect_same(histogram(fp32(values), {c.lo, c.hi}, c.bins),
                brute_force(values, c.lo, c.hi, c.bins));
  }
}

TEST(Histogram, Fp16AndIntegerTensorsBinTheirValues) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.1f);
  DenseTensor half;
  half.type = ElemType::kFp16;
  std::vector<float> as_floats;
  for (int i = 0; i < 9000; ++i) {  // three chunks of the tensor walk
    const uint16_t bits = float_to_fp16(dist(rng));
    as_floats.push_back(fp16_to_float(bits));
    half.data.push_back(static_cast<std::byte>(bits & 0xff));
    half.data.push_back(static_cast<std::byte>(bits >> 8));
  }
  half.dims = {9000};
  const HistogramRange range = default_histogram_range(half);
  expect_same(histogram(half, range, 50), brute_force(as_floats, range.lo, range.hi, 50));

  DenseTensor i8;
  i8.type = ElemType::kInt8;
  i8.dims = {5};
  for (int8_t v : {-128, -1, 0, 5, 127}) i8.data.push_back(static_cast<std::byte>(v));
  const Histogram h = histogram(i8, default_histogram_range(i8), 255);
  EXPECT_EQ(h.counts.front(), 1u);  // -128
  EXPECT_EQ(h.counts.back(), 1u);   // 127 == hi
  expect_same(h, brute_force({-128.0f, -1.0f, 0.0f, 5.0f, 127.0f}, -128.0, 127.0, 255));
}

TEST(Histogram, DefaultRangeIsTheFiniteMinAndMax) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  HistogramRange r = default_histogram_range(fp32({0.25f, nan, -inf, -0.5f, inf, 0.125f}));
  EXPECT_EQ(r.lo, -0.5);
  EXPECT_EQ(r.hi, 0.25);
  r = default_histogram_range(fp32({2.0f, 2.0f}));  // numpy's degenerate range
  EXPECT_EQ(r.lo, 1.5);
  EXPECT_EQ(r.hi, 2.5);
  r = default_histogram_range(fp32({nan, inf}));
  EXPECT_EQ(r.lo, 0.0);
  EXPECT_EQ(r.hi, 1.0);
  r = default_histogram_range(fp32({}));
  EXPECT_EQ(r.lo, 0.0);
  EXPECT_EQ(r.hi, 1.0);
}

TEST(Histogram, RefusesEmptyOrBackwardRanges) {
  EXPECT_THROW(histogram_edges({0.0, 1.0}, 0), std::invalid_argument);
  EXPECT_THROW(histogram_edges({1.0, 1.0}, 4), std::invalid_argument);
  EXPECT_THROW(histogram_edges({2.0, 1.0}, 4), std::invalid_argument);
  EXPECT_THROW(histogram_edges({0.0, INFINITY}, 4), std::invalid_argument);
  EXPECT_THROW(histogram_edges({NAN, 1.0}, 4), std::invalid_argument);
}

}  // namespace
}  // namespace mlpress::compress
