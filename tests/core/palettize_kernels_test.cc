// Palettization kernels: every SIMD twin against its scalar reference on every tail, LUT size
// and vector dimension, and whole palettize() calls through both paths.
#include "core/compress/palettize_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/compress/fp16_convert.h"
#include "core/compress/kmeans_vector.h"
#include "core/compress/palettize.h"

namespace mlpress::compress {
namespace {

TEST(PalettizeKernelsTest, CountBelowSimdMatchesScalar) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t m : {0u, 1u, 2u, 3u, 7u, 15u, 31u, 32u, 33u, 63u, 255u}) {
    std::vector<float> thresholds(m);
    for (float& t : thresholds) t = round_to_fp16(normal(rng));
    std::sort(thresholds.begin(), thresholds.end());
    for (size_t n = 0; n <= 37; ++n) {
      std::vector<float> x(n);
      for (size_t i = 0; i < n; ++i) {
        // Exact threshold hits (ties) and values beyond both ends.
        x[i] = m && i % 3 == 0 ? thresholds[i % m] : normal(rng) * 1.5f;
      }
      std::vector<uint8_t> a(n, 0xEE), b(n, 0xEE);
      kernels::count_below_scalar(x.data(), n, thresholds.data(), m, a.data());
      kernels::count_below_simd(x.data(), n, thresholds.data(), m, b.data());
      ASSERT_EQ(a, b) << "m=" << m << " n=" << n;
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(a[i], std::lower_bound(thresholds.begin(), thresholds.end(), x[i]) -
                            thresholds.begin());
      }
    }
  }
}

// The points-in-lanes kernel against its scalar twin and against a brute-force double check
// (the label's float distance is the minimum), on every tail of the 4- and 8-lane blocks, every
// dimension with its own held-in-registers body (1-4) and the general one, and exact ties.
TEST(PalettizeKernelsTest, NearestCentroidLanesSimdMatchesScalar) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t dim : {1u, 2u, 3u, 4u, 5u, 8u, 32u}) {
    for (size_t k : {1u, 2u, 3u, 4u, 5u, 16u, 17u, 255u, 256u}) {
      std::vector<float> centroids(k * dim);
      for (float& c : centroids) c = round_to_fp16(normal(rng));
      if (k > 4) std::copy_n(centroids.begin(), dim, centroids.begin() + 3 * dim);  // a tie
      for (size_t n : {0u, 1u, 5u, 7u, 8u, 9u, 15u, 16u, 17u, 40u, 71u, 100u}) {
        std::vector<float> lanes(n * dim);
        for (size_t p = 0; p < n; ++p) {
          for (size_t t = 0; t < dim; ++t) {
            lanes[t * n + p] = p % 4 == 0 ? centroids[(p % k) * dim + t] : normal(rng) * 1.2f;
          }
        }
        std::vector<uint8_t> a(n, 0xEE), b(n, 0xEE);
        kernels::nearest_centroid_lanes_scalar(lanes.data(), n, dim, centroids.data(), k, a.data());
        kernels::nearest_centroid_lanes_simd(lanes.data(), n, dim, centroids.data(), k, b.data());
        ASSERT_EQ(a, b) << "dim=" << dim << " k=" << k << " n=" << n;
        for (size_t p = 0; p < n; ++p) {
          ASSERT_LT(a[p], k);
          if (k > 4) {
            ASSERT_NE(a[p], 3) << "a tie must go to the lower index";
          }
          auto distance = [&](size_t j) {
            double s = 0;
            for (size_t t = 0; t < dim; ++t) {
              const double d = double(centroids[j * dim + t]) - double(lanes[t * n + p]);
              s += d * d;
            }
            return s;
          };
          for (size_t j = 0; j < k; ++j) {
            ASSERT_LE(distance(a[p]), distance(j) * (1 + 1e-5) + 1e-30) << "p=" << p;
          }
        }
      }
    }
  }
}

std::vector<uint16_t> random_fp16(size_t n, uint32_t seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<uint16_t> out(n);
  for (auto& h : out) h = float_to_fp16(normal(rng));
  return out;
}

TEST(PalettizeKernelsTest, PalettizeScalarAndSimdPathsAgree) {
  const std::vector<uint16_t> half = random_fp16(32 * 24, 17, 0.1f);
  std::vector<float> single(half.size());
  for (size_t i = 0; i < half.size(); ++i) single[i] = fp16_to_float(half[i]) * 1.37f;
  const TensorView views[] = {TensorView::fp16(half, {32, 24}), TensorView::fp32(single, {32, 24})};
  for (const TensorView& view : views) {
    for (int nbits : {1, 3, 4, 6, 8}) {
      for (uint64_t dim : {1u, 2u, 4u}) {
        for (bool pcs : {false, true}) {
          PalettizeSpec spec;
          spec.nbits = nbits;
          spec.cluster_dim = dim;
          spec.per_channel_scale = pcs;
          spec.granularity = PaletteGranularity::kPerGroupedChannel;
          spec.group_size = 8;
          spec.channel_axis = dim == 2 ? 1 : 0;
          if (nbits == 8 && dim > 1) spec.vector_kmeans.restarts = 1;
          const auto a = palettize(view, spec, KernelPath::kScalar);
          const auto b = palettize(view, spec, KernelPath::kSimd);
          ASSERT_TRUE(std::holds_alternative<PalettizeResult>(a));
          const auto& ra = std::get<PalettizeResult>(a);
          const auto& rb = std::get<PalettizeResult>(b);
          EXPECT_EQ(ra.indices, rb.indices) << nbits << " " << dim << " " << pcs;
          EXPECT_EQ(ra.lut_fp16, rb.lut_fp16);
          EXPECT_EQ(ra.lut_fp32, rb.lut_fp32);
        }
      }
    }
  }
}

TEST(PalettizeKernelsTest, VectorKMeansIsDeterministicAndStopsAtDistinctVectors) {
  // 6 distinct 2-vectors, k = 16: six exact centroids, zero cost.
  std::vector<float> points;
  for (int i = 0; i < 60; ++i) {
    points.push_back(float(i % 6) * 0.5f);
    points.push_back(float((i % 6) * (i % 6)) - 1.0f);
  }
  const VectorKMeansResult r = kmeans_vectors(points, {}, 2, 16);
  EXPECT_EQ(r.count(), 6u);
  EXPECT_EQ(r.cost, 0.0);
  const VectorKMeansResult again = kmeans_vectors(points, {}, 2, 16);
  EXPECT_EQ(r.centroids, again.centroids);
  EXPECT_EQ(r.labels, again.labels);
}

}  // namespace
}  // namespace mlpress::compress
