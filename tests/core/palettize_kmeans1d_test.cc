// Exact 1-D k-means (kmeans1d.h) against brute force on tiny inputs: every contiguous
// segmentation, and every assignment of points to clusters (contiguous or not).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/compress/kmeans1d.h"
#include "core/compress/kmeans1d_cost.h"
#include "core/compress/kmeans1d_layered.h"

namespace mlpress::compress {
namespace {

double cost_of_labels(const std::vector<double>& x, const std::vector<double>& w,
                      const std::vector<int>& label, int k) {
  std::vector<double> sw(k, 0), sx(k, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    sw[label[i]] += w[i];
    sx[label[i]] += w[i] * x[i];
  }
  double cost = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - sx[label[i]] / sw[label[i]];
    cost += w[i] * d * d;
  }
  return cost;
}

// Minimum over all k^n labelings that use every cluster.
double brute_force(const std::vector<double>& x, const std::vector<double>& w, int k) {
  const size_t n = x.size();
  std::vector<int> label(n, 0);
  double best = std::numeric_limits<double>::infinity();
  for (;;) {
    std::vector<bool> used(k, false);
    for (int l : label) used[l] = true;
    if (std::all_of(used.begin(), used.end(), [](bool b) { return b; })) {
      best = std::min(best, cost_of_labels(x, w, label, k));
    }
    size_t i = 0;
    while (i < n && ++label[i] == k) label[i++] = 0;
    if (i == n) break;
  }
  return best;
}

struct Case {
  std::vector<double> x, w;
};

Case random_case(std::mt19937_64& rng, size_t n, bool integer_weights) {
  std::uniform_real_distribution<double> value(-2.0, 2.0);
  std::uniform_int_distribution<int> count(1, 9);
  std::uniform_real_distribution<double> mass(0.05, 3.0);
  Case c;
  while (c.x.size() < n) {
    // Some values on a coarse grid so clusters tie and coincide.
    const double v = c.x.size() % 3 == 0 ? std::round(value(rng) * 4) / 4 : value(rng);
    if (std::find(c.x.begin(), c.x.end(), v) == c.x.end()) c.x.push_back(v);
  }
  std::sort(c.x.begin(), c.x.end());
  for (size_t i = 0; i < n; ++i) c.w.push_back(integer_weights ? count(rng) : mass(rng));
  return c;
}

TEST(KMeans1dTest, MatchesBruteForceOnTinyInputs) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 150; ++trial) {
    const size_t n = 1 + trial % 8;
    const Case c = random_case(rng, n, trial % 2 == 0);
    for (size_t k = 1; k <= n && k <= 4; ++k) {
      if (std::pow(double(k), double(n)) > 70000) continue;
      const KMeans1dResult r = kmeans_1d_optimal(c.x, c.w, k);
      ASSERT_EQ(r.centroids.size(), k);
      ASSERT_EQ(r.starts.size(), k);
      const double expected = brute_force(c.x, c.w, int(k));
      EXPECT_NEAR(r.cost, expected, 1e-12 * (1 + expected)) << "n=" << n << " k=" << k;
      // The reported segmentation and centroids reproduce the reported cost.
      std::vector<int> label(n);
      for (size_t cl = 0; cl < k; ++cl) {
        const size_t end = cl + 1 < k ? r.starts[cl + 1] : n;
        ASSERT_LT(r.starts[cl], end);
        for (size_t i = r.starts[cl]; i < end; ++i) label[i] = int(cl);
        if (cl) {
          EXPECT_LT(r.centroids[cl - 1], r.centroids[cl]);
        }
      }
      EXPECT_NEAR(cost_of_labels(c.x, c.w, label, int(k)), r.cost, 1e-12 * (1 + r.cost));
    }
  }
}

// Every contiguous segmentation (the optimum is one) for larger n than the labelings allow.
double best_segmentation(const std::vector<double>& x, const std::vector<double>& w, size_t k,
                         size_t from) {
  const size_t n = x.size();
  if (k == 1) {
    double sw = 0, sx = 0, cost = 0;
    for (size_t i = from; i < n; ++i) sw += w[i], sx += w[i] * x[i];
    for (size_t i = from; i < n; ++i) cost += w[i] * (x[i] - sx / sw) * (x[i] - sx / sw);
    return cost;
  }
  double best = std::numeric_limits<double>::infinity();
  for (size_t end = from + 1; end + (k - 1) <= n; ++end) {
    double sw = 0, sx = 0, cost = 0;
    for (size_t i = from; i < end; ++i) sw += w[i], sx += w[i] * x[i];
    for (size_t i = from; i < end; ++i) cost += w[i] * (x[i] - sx / sw) * (x[i] - sx / sw);
    best = std::min(best, cost + best_segmentation(x, w, k - 1, end));
  }
  return best;
}

TEST(KMeans1dTest, MatchesEverySegmentationUpToSixteenValues) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    const size_t n = 9 + trial % 8;
    const Case c = random_case(rng, n, trial % 3 == 0);
    for (size_t k : {2u, 3u, 5u, 7u}) {
      const KMeans1dResult r = kmeans_1d_optimal(c.x, c.w, k);
      const double expected = best_segmentation(c.x, c.w, k, 0);
      EXPECT_NEAR(r.cost, expected, 1e-12 * (1 + expected)) << "n=" << n << " k=" << k;
    }
  }
}

TEST(KMeans1dTest, FewerValuesThanClustersGivesEachValueExactly) {
  const std::vector<double> x = {-0.1, 0.3333333333333333, 7.25};
  const std::vector<double> w = {2, 1, 5};
  const KMeans1dResult r = kmeans_1d_optimal(x, w, 16);
  EXPECT_EQ(r.centroids, x);
  EXPECT_EQ(r.starts, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(r.cost, 0.0);
  EXPECT_TRUE(kmeans_1d_optimal({}, {}, 4).centroids.empty());
}

TEST(KMeans1dTest, TiesGoToTheEarliestCut) {
  // {0, 1, 2} into two clusters: {0}{1,2} and {0,1}{2} cost the same; the layered DP (the
  // reference twin) keeps the first cut.
  const KMeans1dResult r =
      kmeans_1d_layered_dp(std::vector<double>{0, 1, 2}, std::vector<double>{1, 1, 1}, 2);
  EXPECT_EQ(r.starts, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.cost, 0.5);
}

TEST(KMeans1dTest, LargeInputAgreesWithItsOwnLabelsAndBeatsLloyd) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x;
  for (int i = 0; i < 3000; ++i) x.push_back(normal(rng));
  std::sort(x.begin(), x.end());
  x.erase(std::unique(x.begin(), x.end()), x.end());
  const std::vector<double> w(x.size(), 1.0);
  const KMeans1dResult r = kmeans_1d_optimal(x, w, 16);
  // Lloyd from quantile seeds is a local optimum: never better than the global one.
  std::vector<double> centre(16);
  for (size_t c = 0; c < 16; ++c) centre[c] = x[(2 * c + 1) * x.size() / 32];
  double lloyd = 0;
  for (int it = 0; it < 200; ++it) {
    std::vector<double> s(16, 0), m(16, 0);
    lloyd = 0;
    for (double v : x) {
      size_t best = 0;
      for (size_t c = 1; c < 16; ++c) {
        if (std::fabs(v - centre[c]) < std::fabs(v - centre[best])) best = c;
      }
      s[best] += v;
      m[best] += 1;
      lloyd += (v - centre[best]) * (v - centre[best]);
    }
    for (size_t c = 0; c < 16; ++c) {
      if (m[c] > 0) centre[c] = s[c] / m[c];
    }
  }
  EXPECT_LE(r.cost, lloyd * (1 + 1e-12));
}

// clustering_from_starts interleaves one cluster's cost pass with the next one's sums; each sum
// must still be exactly what two plain passes per cluster, in value order, give.
TEST(KMeans1dTest, ClusteringFromStartsEqualsPlainPassesBitForBit) {
  std::mt19937 rng(31);
  std::normal_distribution<double> normal(0.0, 0.02);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + rng() % 400;
    std::vector<double> x(n), w(n);
    for (double& v : x) v = normal(rng);
    std::sort(x.begin(), x.end());
    for (double& v : w) v = trial % 2 ? double(1 + rng() % 50) : 0.25 + normal(rng) * normal(rng);
    for (double& v : w) v = std::fabs(v) + 1e-3;
    // Starts: single values, long and short clusters side by side.
    std::vector<size_t> starts = {0};
    for (size_t i = 1; i < n; ++i) {
      if (rng() % (trial % 3 == 0 ? 2 : 40) == 0) starts.push_back(i);
    }
    std::vector<double> want_centroids;
    double want_cost = 0;
    for (size_t c = 0; c < starts.size(); ++c) {
      const size_t end = c + 1 < starts.size() ? starts[c + 1] : n;
      const double first = x[starts[c]];
      double sw = 0, s = 0;
      for (size_t i = starts[c]; i < end; ++i) sw += w[i], s += w[i] * (x[i] - first);
      const double centroid = first + s / sw;
      want_centroids.push_back(centroid);
      for (size_t i = starts[c]; i < end; ++i) {
        const double d = x[i] - centroid;
        want_cost += w[i] * d * d;
      }
    }
    const KMeans1dResult got = clustering_from_starts(x, w, starts);
    ASSERT_EQ(got.starts, starts);
    ASSERT_EQ(got.centroids.size(), want_centroids.size());
    for (size_t c = 0; c < want_centroids.size(); ++c) {
      ASSERT_EQ(got.centroids[c], want_centroids[c]) << "trial " << trial << " cluster " << c;
    }
    ASSERT_EQ(got.cost, want_cost) << "trial " << trial;
  }
}

}  // namespace
}  // namespace mlpress::compress
