// The fast exact 1-D k-means (Lagrangian search, kmeans1d_lagrangian.h) against its reference
// twin, the layered DP (kmeans1d_layered.h), on random and adversarial inputs: equal costs, and
// exactly k clusters. The layered DP itself is checked against brute force in
// palettize_kmeans1d_test.cc.
//
// Tolerance: both solvers decide from segment costs computed from prefix sums in double, each
// wrong by at most a few u·eps·Q for u values (Q = the cost of one cluster about the overall
// mean, the largest magnitude the prefix sums reach), so either may take a clustering that is
// worse than the true optimum by at most about 2k such errors. The costs compared here are summed
// directly (clustering_from_starts), so the bound is k·u·eps·Q, with a factor 8 of slack.
#include "core/compress/kmeans1d_lagrangian.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "core/compress/kmeans1d.h"
#include "core/compress/kmeans1d_cost.h"
#include "core/compress/kmeans1d_layered.h"

namespace mlpress::compress {
namespace {

struct Input {
  std::vector<double> x, w;
};

// Sorted samples merged into distinct values with their counts (as palettize does).
Input from_samples(std::vector<double> s) {
  std::sort(s.begin(), s.end());
  Input in;
  for (double v : s) {
    if (!in.x.empty() && in.x.back() == v) {
      in.w.back() += 1;
    } else {
      in.x.push_back(v);
      in.w.push_back(1);
    }
  }
  return in;
}

Input make_input(int kind, size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<double> s;
  switch (kind) {
    case 0:  // fp32-like normal weights, nearly all distinct
      for (size_t i = 0; i < n; ++i) s.push_back(double(float(normal(rng) * 0.02)));
      return from_samples(s);
    case 1:  // fp16-like: coarse grid, many duplicates
      for (size_t i = 0; i < 8 * n; ++i) s.push_back(std::round(normal(rng) * 300) / 1024);
      return from_samples(s);
    case 2: {  // equally spaced, equal weights: many equal-cost clusterings
      Input in;
      for (size_t i = 0; i < n; ++i) in.x.push_back(double(i)), in.w.push_back(1);
      return in;
    }
    case 3: {  // a few heavy point masses among light uniform values
      Input in;
      for (size_t i = 0; i < n; ++i) {
        in.x.push_back(double(i) / double(n));
        in.w.push_back(i % 97 == 0 ? 1000.0 : 1.0);
      }
      return in;
    }
    case 4: {  // geometric spacing (heavy tail), random real weights
      Input in;
      std::uniform_real_distribution<double> mass(0.1, 5.0);
      for (size_t i = 0; i < n; ++i) {
        in.x.push_back(std::pow(1.01, double(i)));
        in.w.push_back(mass(rng));
      }
      return in;
    }
    case 5:  // well separated blobs: the optimum is obvious and f drops sharply
      for (size_t i = 0; i < n; ++i) {
        s.push_back(double(rng() % 7) * 10 + uniform(rng));
      }
      return from_samples(s);
    default: {  // symmetric pairs with equal weights: mirror-image ties
      Input in;
      for (size_t i = 0; i < n / 2; ++i) in.x.push_back(-double(n / 2 - i));
      for (size_t i = 0; i < n / 2; ++i) in.x.push_back(double(i + 1));
      in.w.assign(in.x.size(), 2.0);
      return in;
    }
  }
}

double tolerance(const Input& in, size_t k) {
  const SegmentCost cost(in.x, in.w);
  return 8.0 * double(k) * double(in.x.size()) * DBL_EPSILON * cost(0, in.x.size());
}

TEST(KMeans1dLagrangianTest, EqualsTheLayeredDpOnRandomAndAdversarialInputs) {
  std::mt19937_64 rng(2024);
  size_t cases = 0;
  size_t found = 0;
  for (int kind = 0; kind <= 6; ++kind) {
    for (size_t n : {40u, 300u, 2000u}) {
      const Input in = make_input(kind, n, rng);
      const size_t u = in.x.size();
      for (size_t k : {2u, 3u, 7u, 16u, 64u, 256u}) {
        if (k >= u) continue;
        ++cases;
        const KMeans1dResult ref = kmeans_1d_layered_dp(in.x, in.w, k);
        const auto starts = lagrangian_k_segmentation(in.x, in.w, k);
        if (starts) {
          ++found;
          ASSERT_EQ(starts->size(), k);
          const KMeans1dResult got = clustering_from_starts(in.x, in.w, *starts);
          EXPECT_NEAR(got.cost, ref.cost, tolerance(in, k))
              << "kind " << kind << " u " << u << " k " << k;
        }
        // The dispatcher: the search or its fallback, always exactly k clusters at the optimum.
        const KMeans1dResult any = kmeans_1d_optimal(in.x, in.w, k);
        ASSERT_EQ(any.centroids.size(), k);
        ASSERT_EQ(any.starts.size(), k);
        EXPECT_NEAR(any.cost, ref.cost, tolerance(in, k))
            << "kind " << kind << " u " << u << " k " << k;
      }
    }
  }
  // Ties defeat the search only on the adversarial inputs; it must settle on most cases.
  EXPECT_GT(found, cases * 2 / 3) << found << " of " << cases;
}

TEST(KMeans1dLagrangianTest, ManyDistinctValuesUseTheCoarseFirstPrice) {
  // Above 2 x 65,536 values the first price comes from a coarsened copy; the optimum must still
  // equal the DP's (kept to k 32 so the DP runs in about a second).
  std::mt19937_64 rng(5);
  const Input in = make_input(0, 150000, rng);
  ASSERT_GT(in.x.size(), size_t(140000));
  for (size_t k : {8u, 32u}) {
    LagrangianStats stats;
    const auto starts = lagrangian_k_segmentation(in.x, in.w, k, &stats);
    ASSERT_TRUE(starts.has_value());
    EXPECT_GT(stats.coarse_solves, 0u);
    const KMeans1dResult ref = kmeans_1d_layered_dp(in.x, in.w, k);
    const KMeans1dResult got = clustering_from_starts(in.x, in.w, *starts);
    EXPECT_NEAR(got.cost, ref.cost, tolerance(in, k)) << "k " << k;
  }
}

TEST(KMeans1dLagrangianTest, CoarsePriceLandsKInOneFullSolve) {
  // From 16 values per cluster up, the first price comes from a coarsened copy (runs bounded in
  // count and in width, so the sparse tails stay fine). With a price hint it is the middle of the
  // copy's interval of prices that give k: on smooth weights (a normal fp16-like group as
  // palettize's grouped case has, heavy-tailed Student-t fp32 values) it lands k on the first
  // solve of the full values. Without a hint it is any price of that interval: at most one more
  // full solve. On every input, including ties and blobs, the optimum equals the layered DP's.
  std::mt19937_64 rng(77);
  std::student_t_distribution<double> heavy(3.0);
  for (int kind = 0; kind < 3; ++kind) {
    Input in;
    if (kind == 0) {
      std::normal_distribution<double> normal(0.0, 0.02);
      std::vector<double> s;
      for (size_t i = 0; i < 32768; ++i) s.push_back(double(static_cast<_Float16>(normal(rng))));
      in = from_samples(s);
    } else if (kind == 1) {
      std::vector<double> s;
      for (size_t i = 0; i < 20000; ++i) s.push_back(double(float(heavy(rng) * 0.01)));
      in = from_samples(s);
    } else {
      in = make_input(5, 20000, rng);  // blobs: f drops sharply, wide price intervals
    }
    for (size_t k : {4u, 16u, 64u}) {
      const KMeans1dResult ref = kmeans_1d_layered_dp(in.x, in.w, k);
      for (const bool with_hint : {true, false}) {
        KMeans1dPriceHint hint;  // no price yet: only asks for the middle
        LagrangianStats stats;
        const auto starts =
            lagrangian_k_segmentation(in.x, in.w, k, &stats, with_hint ? &hint : nullptr);
        ASSERT_TRUE(starts.has_value()) << "kind " << kind << " k " << k;
        EXPECT_GT(stats.coarse_solves, 0u);
        if (kind < 2) {
          EXPECT_LE(stats.solves, with_hint ? 1u : 2u)
              << "kind " << kind << " k " << k << " hint " << with_hint;
        }
        const KMeans1dResult got = clustering_from_starts(in.x, in.w, *starts);
        EXPECT_NEAR(got.cost, ref.cost, tolerance(in, k)) << "kind " << kind << " k " << k;
      }
    }
  }
  // Tie-heavy inputs large enough to be coarsened: the search or the DP fallback, always optimal.
  for (int kind : {2, 3, 6}) {
    const Input in = make_input(kind, 6000, rng);
    for (size_t k : {3u, 16u, 64u}) {
      const KMeans1dResult ref = kmeans_1d_layered_dp(in.x, in.w, k);
      const KMeans1dResult any = kmeans_1d_optimal(in.x, in.w, k);
      ASSERT_EQ(any.starts.size(), k);
      EXPECT_NEAR(any.cost, ref.cost, tolerance(in, k)) << "kind " << kind << " k " << k;
    }
  }
}

TEST(KMeans1dLagrangianTest, PriceHintCarriesAcrossGroupsOfOneDistribution) {
  // The channel groups of one weight (fp16-like normal values, 16,384 a group): from the second
  // group on, the hint's price lands k in one full solve with no coarse solve, and the optimum
  // equals the layered DP's and the unhinted search's.
  std::mt19937_64 rng(31);
  std::normal_distribution<double> normal(0.0, 0.02);
  KMeans1dPriceHint hint;
  size_t hits = 0;
  for (int g = 0; g < 6; ++g) {
    std::vector<double> s;
    for (size_t i = 0; i < 16384; ++i) s.push_back(double(static_cast<_Float16>(normal(rng))));
    const Input in = from_samples(s);
    LagrangianStats stats;
    const auto starts = lagrangian_k_segmentation(in.x, in.w, 16, &stats, &hint);
    ASSERT_TRUE(starts.has_value());
    if (g == 0) {
      EXPECT_FALSE(stats.hint_hit);
    }
    if (stats.hint_hit) {
      ++hits;
      EXPECT_EQ(stats.coarse_solves, 0u);
      EXPECT_EQ(stats.solves, 1u);
    }
    const KMeans1dResult ref = kmeans_1d_layered_dp(in.x, in.w, 16);
    const KMeans1dResult got = clustering_from_starts(in.x, in.w, *starts);
    EXPECT_NEAR(got.cost, ref.cost, tolerance(in, 16)) << "group " << g;
    const auto cold = lagrangian_k_segmentation(in.x, in.w, 16);
    ASSERT_TRUE(cold.has_value());
    EXPECT_EQ(*starts, *cold) << "group " << g;
  }
  EXPECT_GE(hits, 4u);
  EXPECT_EQ(hint.tries, 5u);
}

TEST(KMeans1dLagrangianTest, PriceHintThatMissesStillGivesTheOptimumAndStopsTrying) {
  // A hint far off (a price that gives one cluster): the try misses, the search goes on from the
  // coarse price to the optimum; after the miss the hint is not tried again until hits make up
  // for it (more than one miss in 8 tries stops the tries).
  std::mt19937_64 rng(32);
  const Input in = make_input(0, 20000, rng);
  const KMeans1dResult ref = kmeans_1d_layered_dp(in.x, in.w, 16);
  KMeans1dPriceHint hint;
  hint.price_per_cost = 10.0;
  LagrangianStats stats;
  const auto starts = lagrangian_k_segmentation(in.x, in.w, 16, &stats, &hint);
  ASSERT_TRUE(starts.has_value());
  EXPECT_FALSE(stats.hint_hit);
  EXPECT_GT(stats.coarse_solves, 0u);
  EXPECT_EQ(hint.tries, 1u);
  EXPECT_EQ(hint.misses, 1u);
  EXPECT_NEAR(clustering_from_starts(in.x, in.w, *starts).cost, ref.cost, tolerance(in, 16));
  // The price now kept is the coarse one; tries are off (1 miss in 1 try).
  EXPECT_GT(hint.price_per_cost, 0.0);
  EXPECT_LT(hint.price_per_cost, 1.0);
  LagrangianStats again;
  ASSERT_TRUE(lagrangian_k_segmentation(in.x, in.w, 16, &again, &hint).has_value());
  EXPECT_EQ(hint.tries, 1u);
  EXPECT_GT(again.coarse_solves, 0u);
  // Through kmeans_1d_optimal too.
  KMeans1dPriceHint far;
  far.price_per_cost = 1e-12;
  const KMeans1dResult any = kmeans_1d_optimal(in.x, in.w, 16, &far);
  ASSERT_EQ(any.starts.size(), 16u);
  EXPECT_NEAR(any.cost, ref.cost, tolerance(in, 16));
  EXPECT_EQ(far.misses, 1u);
}

TEST(KMeans1dLagrangianTest, DegenerateCounts) {
  // k >= u: every value its own centroid, exactly; all-equal values collapse to one.
  const Input in = from_samples({3.5, 3.5, 3.5, 3.5});
  const KMeans1dResult one = kmeans_1d_optimal(in.x, in.w, 16);
  EXPECT_EQ(one.centroids, std::vector<double>{3.5});
  EXPECT_EQ(one.cost, 0.0);
  std::mt19937_64 rng(9);
  const Input many = make_input(0, 5000, rng);
  const KMeans1dResult all = kmeans_1d_optimal(many.x, many.w, many.x.size());
  EXPECT_EQ(all.centroids, many.x);
  EXPECT_EQ(all.cost, 0.0);
  EXPECT_FALSE(lagrangian_k_segmentation(many.x, many.w, 1).has_value());
  EXPECT_FALSE(lagrangian_k_segmentation(many.x, many.w, many.x.size()).has_value());
}

}  // namespace
}  // namespace mlpress::compress
