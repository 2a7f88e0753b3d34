// The pieces of vector Lloyd in lanes (core/compress/kmeans_vector_lloyd.h) against brute force:
// the relabelling after one centre moved must equal a full nearest-centre pass, and its cluster
// sums those of the new labels.
#include "core/compress/kmeans_vector_lloyd.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/compress/palettize_kernels.h"

namespace mlpress::compress {
namespace {

TEST(KMeansVectorLloydTest, LabelsAfterMovingOneEqualAFullPass) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<double> weight(0.5, 2.0);
  for (size_t dim : {1u, 2u, 3u, 4u}) {
    for (size_t k : {2u, 5u, 16u, 64u}) {
      for (bool weighted : {false, true}) {
        const size_t n = 1000 + 7 * k;
        std::vector<float> points(n * dim);
        for (float& x : points) x = normal(rng);
        std::vector<double> weights;
        if (weighted) {
          for (size_t p = 0; p < n; ++p) weights.push_back(weight(rng));
        }
        const LanedPoints pts(points, weights, dim);
        std::vector<float> centres(k * dim);
        for (size_t j = 0; j < k; ++j) {
          for (size_t t = 0; t < dim; ++t) centres[j * dim + t] = points[(j * 13) * dim + t];
        }
        std::vector<uint8_t> labels(n);
        kernels::nearest_centroid_lanes_scalar(pts.lanes.data(), n, dim, centres.data(), k,
                                               labels.data());
        std::vector<double> sums, mass;
        cluster_sums(pts, labels, k, sums, mass);
        std::vector<float> own;
        own_distances(pts, centres, labels, own);
        for (size_t moved : {size_t(0), k / 2, k - 1}) {
          std::vector<float> next = centres;
          for (size_t t = 0; t < dim; ++t)
            next[moved * dim + t] = points[(n - 1 - moved) * dim + t];
          if (moved == 0 && k > 2) {
            // An exact tie: the moved centre on top of centre 1 (ties go to the lower index).
            for (size_t t = 0; t < dim; ++t) next[t] = centres[dim + t];
          }
          std::vector<uint8_t> want(n);
          kernels::nearest_centroid_lanes_scalar(pts.lanes.data(), n, dim, next.data(), k,
                                                 want.data());
          std::vector<double> want_sums, want_mass;
          cluster_sums(pts, want, k, want_sums, want_mass);
          for (KernelPath path : {KernelPath::kScalar, KernelPath::kSimd}) {
            MoveScratch scratch;
            std::vector<uint8_t> got;
            std::vector<double> got_sums, got_mass;
            labels_after_moving_one(pts, next, moved, {labels, sums, mass}, own, scratch, got,
                                    got_sums, got_mass, path);
            ASSERT_EQ(got, want) << "dim=" << dim << " k=" << k << " moved=" << moved;
            for (size_t i = 0; i < want_sums.size(); ++i) {
              ASSERT_NEAR(got_sums[i], want_sums[i], 1e-9 * (1 + std::abs(want_sums[i])));
            }
            for (size_t j = 0; j < k; ++j) {
              ASSERT_NEAR(got_mass[j], want_mass[j], 1e-9 * (1 + want_mass[j]));
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace mlpress::compress
