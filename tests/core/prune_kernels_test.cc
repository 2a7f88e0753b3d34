// Pruning building blocks: the scalar references against their SIMD twins on every tail, mask
// packing golden bytes (FORMAT.md §4.6, §6.4), the numpy percentile arithmetic, selection, and
// the skip / special-value rules of COMPRESSION.md §5.
#include "core/compress/prune_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/compress/fp16_convert.h"
#include "core/compress/prune.h"
#include "core/compress/prune_select.h"

namespace mlpress::compress {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Random values with the special ones mixed in: +-0, +-inf, NaN, exact threshold ties.
std::vector<float> special_mix(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float specials[] = {0.0f, -0.0f, kInf, -kInf, std::nanf(""), 0.5f, -0.5f};
  std::vector<float> v(n);
  for (auto& x : v) x = rng() % 4 == 0 ? specials[rng() % 7] : normal(rng);
  return v;
}

TEST(PruneKernels, ThresholdSimdMatchesScalarOnEveryTail) {
  const uint16_t thresholds16[] = {0, 0x3800 /*0.5*/, 0x7BFF, 0x7C00};
  const uint32_t thresholds32[] = {0, float_bits(0.5f), float_bits(1e-3f), 0x7F800000u};
  for (size_t n = 0; n <= 67; ++n) {
    const std::vector<float> f = special_mix(n, uint32_t(n));
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_fp16(f[i]);
    for (uint16_t t : thresholds16) {
      std::vector<uint16_t> a(n + 1, 0xAAAA), b(n + 1, 0xAAAA);
      kernels::prune_abs_le_fp16_scalar(h.data(), n, t, a.data());
      kernels::prune_abs_le_fp16_simd(h.data(), n, t, b.data());
      EXPECT_EQ(a, b) << "n=" << n << " t=" << t;
      EXPECT_EQ(b[n], 0xAAAA) << "wrote past the end";
      for (size_t i = 0; i < n; ++i) {
        const bool pruned = (h[i] & 0x7FFF) <= t;
        EXPECT_EQ(a[i], pruned ? 0 : h[i]);
      }
    }
    for (uint32_t t : thresholds32) {
      std::vector<float> a(n + 1, 7.0f), b(n + 1, 7.0f);
      kernels::prune_abs_le_fp32_scalar(f.data(), n, t, a.data());
      kernels::prune_abs_le_fp32_simd(f.data(), n, t, b.data());
      for (size_t i = 0; i <= n; ++i) ASSERT_EQ(float_bits(a[i]), float_bits(b[i])) << n;
      for (size_t i = 0; i < n; ++i) {
        const bool pruned = std::fabs(f[i]) <= float_from_bits(t);  // NaN: false
        EXPECT_EQ(float_bits(a[i]), pruned ? 0u : float_bits(f[i]));
      }
    }
  }
}

TEST(PruneKernels, MaskPackSimdMatchesScalarOnEveryTail) {
  for (size_t n = 0; n <= 67; ++n) {
    const std::vector<float> f = special_mix(n, 1000 + uint32_t(n));
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_fp16(f[i]);
    const size_t bytes = (n + 7) / 8;
    std::vector<uint8_t> a(bytes + 1, 0xEE), b(bytes + 1, 0xEE), c(bytes + 1, 0xEE),
        d(bytes + 1, 0xEE);
    const uint64_t ca = kernels::pack_nonzero_mask_fp16_scalar(h.data(), n, a.data());
    const uint64_t cb = kernels::pack_nonzero_mask_fp16_simd(h.data(), n, b.data());
    const uint64_t cc = kernels::pack_nonzero_mask_fp32_scalar(f.data(), n, c.data());
    const uint64_t cd = kernels::pack_nonzero_mask_fp32_simd(f.data(), n, d.data());
    EXPECT_EQ(a, b) << n;
    EXPECT_EQ(c, d) << n;
    EXPECT_EQ(ca, cb);
    EXPECT_EQ(cc, cd);
    EXPECT_EQ(a[bytes], 0xEE) << "wrote past the end";
    uint64_t expect_count = 0;
    for (size_t i = 0; i < n; ++i) {
      const bool nonzero = f[i] != 0;  // NaN != 0 is true
      expect_count += nonzero;
      EXPECT_EQ((c[i / 8] >> (i % 8)) & 1, nonzero ? 1 : 0) << "n=" << n << " i=" << i;
    }
    EXPECT_EQ(cc, expect_count);
    if (n % 8 != 0) {
      EXPECT_EQ(c[bytes - 1] >> (n % 8), 0) << "padding bits must be 0";
    }
  }
}

TEST(PruneKernels, MaskGoldenBytes) {
  // FORMAT.md §4.6: uint1 [1, 0, 1, 1, 0] -> 0D.
  const float five[] = {1.0f, 0.0f, -2.0f, 3.0f, -0.0f};
  uint8_t out[1];
  EXPECT_EQ(kernels::pack_nonzero_mask_fp32_simd(five, 5, out), 3u);
  EXPECT_EQ(out[0], 0x0D);
  // 17 elements: bytes 0xA5 (1,0,1,0,0,1,0,1), 0xFF, then element 16 alone in byte 2.
  const uint16_t h[17] = {0x3C00, 0, 0xBC00, 0, 0x8000, 1, 0, 0x7E00,  // 0xA5
                          1,      2, 3,      4, 5,      6, 7, 0xFC00,  // 0xFF
                          0x8001};
  uint8_t packed[3];
  EXPECT_EQ(kernels::pack_nonzero_mask_fp16_simd(h, 17, packed), 13u);
  EXPECT_EQ(packed[0], 0xA5);
  EXPECT_EQ(packed[1], 0xFF);
  EXPECT_EQ(packed[2], 0x01);
}

// ---------------------------------------------------------------------------------------------
// Percentile and selection.

TEST(PruneSelect, SelectedPairMatchesSort) {
  std::mt19937 rng(7);
  for (size_t n : {1u, 2u, 5u, 64u, 1000u}) {
    std::vector<uint32_t> keys(n);
    for (auto& k : keys) k = rng() % 50;  // many ties
    std::vector<uint32_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    for (size_t lo = 0; lo < n; lo += 1 + n / 7) {
      for (size_t hi = lo; hi < std::min(n, lo + 3); ++hi) {
        std::vector<uint32_t> work = keys;
        const SelectedPair p = select_sorted_pair(work, lo, hi);
        EXPECT_EQ(p.lo, sorted[lo]);
        EXPECT_EQ(p.hi, sorted[hi]);
      }
    }
  }
}

TEST(PruneSelect, DoubleToFp16RoundsOnce) {
  // 1 + 2^-11 + 2^-40 rounds to the float 1 + 2^-11, a false half tie; the double is above it.
  EXPECT_EQ(double_to_fp16(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)), 0x3C01);
  EXPECT_EQ(double_to_fp16(1.0 + std::ldexp(1.0, -11)), 0x3C00);  // a real tie: to even
  EXPECT_EQ(double_to_fp16(0.3), 0x34CD);
  EXPECT_EQ(double_to_fp16(1e-12), 0x0000);
  EXPECT_EQ(double_to_fp16(1e5), 0x7C00);
}

std::vector<uint32_t> fp32_keys(size_t n) {
  std::vector<uint32_t> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = float_bits(float(i + 1));
  return keys;
}

TEST(PruneSelect, Fp32PercentileIsNumpyLinear) {
  // np.percentile(np.arange(1, 65, dtype=np.float32), 5.0) == 4.15 (in float32).
  std::vector<uint32_t> keys = fp32_keys(64);
  std::shuffle(keys.begin(), keys.end(), std::mt19937(1));
  const auto t = numpy_percentile_linear(keys, 5.0, PercentileArithmetic::kFloat32);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 4.15f);
}

TEST(PruneSelect, Fp16PercentileIndexArithmeticIsFp16) {
  // n = 8192: fp16(8191) = 8192 and fp16(0.5) * 8192 = 4096, so the 50th percentile of the
  // magnitudes 1..8192 (as fp16 keys, here rounded) is the value at sorted index 4096.
  std::vector<uint32_t> keys(8192);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = float_to_fp16(float(i) / 1024.0f);
  const auto t = numpy_percentile_linear(keys, 50.0, PercentileArithmetic::kFloat16);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 4096.0f / 1024.0f);
  // With more than 65520 values n - 1 overflows: NaN.
  std::vector<uint32_t> big(65522, 0x3C00);
  EXPECT_TRUE(std::isnan(*numpy_percentile_linear(big, 50.0, PercentileArithmetic::kFloat16)));
  // A NaN magnitude makes the percentile NaN.
  std::vector<uint32_t> with_nan = {0x3C00, 0x4000, 0x7E00};
  EXPECT_TRUE(std::isnan(*numpy_percentile_linear(with_nan, 10.0, PercentileArithmetic::kFloat16)));
}

// ---------------------------------------------------------------------------------------------
// prune_* rules.

TEST(PruneRules, UnstructuredZeroesFloorNMinus1SPlus1ForFp32) {
  std::vector<float> w(64);
  for (size_t i = 0; i < w.size(); ++i) w[i] = (i % 2 ? -1.0f : 1.0f) * float(i + 1);
  const auto r = std::get<PruneResult>(
      prune_magnitude(TensorView::fp32(w, {8, 8}),
                      {.target_sparsity = 0.05, .block_size = {}, .n_m_ratio = {}, .dim = {}}));
  EXPECT_EQ(64 - r.nonzero_count, 4u);  // COMPRESSION.md §5.2 example
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(r.mask[i], i >= 4 ? 1 : 0);
}

TEST(PruneRules, ZeroSparsityKeepsEverythingButExistingZeros) {
  const std::vector<float> w = {1.0f, 0.0f, -0.0f, 2.0f};
  MagnitudePruneSpec spec;
  spec.target_sparsity = 0.0;
  const auto r = std::get<PruneResult>(prune_magnitude(TensorView::fp32(w, {2, 2}), spec));
  EXPECT_EQ(r.mask, (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(r.nonzero_fp32, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(float_bits(r.dense_fp32[2]), 0u) << "-0 reconstructs as +0";
  EXPECT_TRUE(std::isinf(r.error.snr_db));
}

TEST(PruneRules, MultiplyByZeroTurnsInfIntoNan) {
  const std::vector<float> w = {kInf, 1.0f, 2.0f, 3.0f};
  MagnitudePruneSpec spec;
  spec.target_sparsity = 1.0;
  const auto r = std::get<PruneResult>(prune_magnitude(TensorView::fp32(w, {2, 2}), spec));
  EXPECT_EQ(r.nonzero_count, 1u);
  EXPECT_TRUE(std::isnan(r.nonzero_fp32[0]));
}

TEST(PruneRules, NmPadsCountAsSmallest) {
  // [1, 6] along dim 1 with 1:2 -> groups (a,b) (c,d) (e,f); [1, 5] -> last group (e, pad).
  const std::vector<float> w = {5, 4, 3, 2, 1, 9, 8, 7, 6, 5};
  MagnitudePruneSpec spec;
  spec.n_m_ratio = std::pair<int64_t, int64_t>{1, 2};
  const auto r = std::get<PruneResult>(prune_magnitude(TensorView::fp32(w, {2, 5}), spec));
  EXPECT_EQ(r.mask, (std::vector<uint8_t>{1, 0, 1, 0, 1, 1, 0, 1, 0, 1}));
}

TEST(PruneRules, SkipsAndErrors) {
  const std::vector<float> w(6 * 4, 1.0f);
  const TensorView view = TensorView::fp32(w, {6, 4});
  MagnitudePruneSpec block;
  block.target_sparsity = 0.5;
  block.block_size = 4;  // > 6 / 2 on dim 0
  auto s = std::get<PruneSkip>(prune_magnitude(view, block));
  EXPECT_EQ(s.reason, PruneSkipReason::kBlockTooLarge);
  EXPECT_FALSE(is_hard_error(s.reason));
  block.block_size = 3;
  EXPECT_TRUE(std::holds_alternative<PruneResult>(prune_magnitude(view, block)));

  MagnitudePruneSpec nm;
  nm.n_m_ratio = std::pair<int64_t, int64_t>{2, 4};  // dim 1: 4 > 4 / 2
  s = std::get<PruneSkip>(prune_magnitude(view, nm));
  EXPECT_EQ(s.reason, PruneSkipReason::kGroupTooLarge);
  EXPECT_EQ(s.message,
            "m > channel / 2 is not applicable for n:m pruning. Got m = 4, channel = 4.");

  const std::vector<float> flat(16, 1.0f);
  s = std::get<PruneSkip>(prune_magnitude(TensorView::fp32(flat, {16}), nm));
  EXPECT_EQ(s.reason, PruneSkipReason::kUnsupportedRank);
  EXPECT_TRUE(is_hard_error(s.reason));

  MagnitudePruneSpec both;
  both.target_sparsity = 0.5;
  both.n_m_ratio = std::pair<int64_t, int64_t>{1, 2};
  EXPECT_EQ(std::get<PruneSkip>(prune_magnitude(view, both)).reason,
            PruneSkipReason::kInvalidConfig);

  s = std::get<PruneSkip>(prune_threshold(view, {0.5, 0.5}));
  EXPECT_EQ(s.reason, PruneSkipReason::kBelowMinimumSparsity);
  EXPECT_EQ(s.message,
            "weight value has sparsity of 0 < minimum_sparsity_percentile 0.5. Skipped.");
}

TEST(PruneRules, ThresholdIsInclusiveAndRoundedToTheDtype) {
  // 0.3 is fp16 0x34CD (0.30005); |w| = 0.30005 is pruned although it is above the double 0.3.
  const std::vector<uint16_t> h = {0x34CD, 0xB4CD, 0x34CE, 0x3C00};
  const auto r = std::get<PruneResult>(prune_threshold(TensorView::fp16(h, {2, 2}), {0.3, 0.5}));
  EXPECT_EQ(r.mask, (std::vector<uint8_t>{0, 0, 1, 1}));
  EXPECT_EQ(r.nonzero_fp16, (std::vector<uint16_t>{0x34CE, 0x3C00}));
  EXPECT_DOUBLE_EQ(r.sparsity, 0.5);
}

}  // namespace
}  // namespace mlpress::compress
