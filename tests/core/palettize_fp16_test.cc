// The fp16 pattern pass of palettization (palettize_fp16.h) and its parts against plain
// references: the pattern counter against a map of values, the pattern -> index table against
// the threshold search on every finite fp16 pattern, and whole palettize() calls on fp16 weights
// against a brute-force k-means + nearest-entry assignment and the metrics of a full decode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/compress/fp16_convert.h"
#include "core/compress/fp16_patterns.h"
#include "core/compress/kmeans1d.h"
#include "core/compress/palettize.h"
#include "core/compress/palettize_kernels.h"
#include "core/compress/palettize_lut.h"

namespace mlpress::compress {
namespace {

// Weights with repeats, both zeros, subnormals and a few far values.
std::vector<uint16_t> random_fp16(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<uint16_t> bits(n);
  for (size_t i = 0; i < n; ++i) {
    switch (rng() % 16) {
      case 0:
        bits[i] = 0x8000u;  // -0
        break;
      case 1:
        bits[i] = 0x0000u;
        break;
      case 2:
        bits[i] = uint16_t(rng() % 0x400u) | uint16_t(rng() % 2 ? 0x8000u : 0);  // subnormal
        break;
      case 3:
        bits[i] = float_to_fp16(normal(rng) * 1000.0f);
        break;
      default:
        bits[i] = float_to_fp16(normal(rng));
    }
  }
  return bits;
}

std::map<float, uint32_t> reference_counts(const std::vector<uint16_t>& bits,
                                           const std::vector<uint8_t>* mask) {
  std::map<float, uint32_t> counts;
  for (size_t i = 0; i < bits.size(); ++i) {
    if (!mask || (*mask)[i]) ++counts[fp16_to_float(bits[i]) + 0.0f];  // -0 + 0 is +0
  }
  return counts;
}

TEST(Fp16PatternsTest, CounterMatchesAMapOfValues) {
  std::mt19937 rng(3);
  Fp16PatternCounter counter;  // reused: the histogram must come back zeroed
  Fp16Patterns out;
  // Every way of counting: sorted (below 3,072), marked, scanned (from 65,536), and around
  // the switches.
  for (size_t n : {0u, 1u, 2u, 17u, 1000u, 3071u, 3072u, 16383u, 16384u, 65535u, 65536u, 70000u, 5u,
                   200000u, 3u}) {
    for (bool masked : {false, true}) {
      const std::vector<uint16_t> bits = random_fp16(n, rng);
      std::vector<uint8_t> mask(n);
      for (uint8_t& m : mask) m = uint8_t(rng() % 3 == 0 ? 0 : 1 + rng() % 200);
      counter.begin(n);
      // Added in two pieces, as a group's runs are.
      const size_t half = n / 3;
      if (masked) {
        counter.add_masked(bits.data(), mask.data(), half);
        counter.add_masked(bits.data() + half, mask.data() + half, n - half);
      } else {
        counter.add(bits.data(), half);
        counter.add(bits.data() + half, n - half);
      }
      counter.finish(out);
      const auto want = reference_counts(bits, masked ? &mask : nullptr);
      ASSERT_EQ(out.patterns.size(), want.size()) << n;
      ASSERT_EQ(out.counts.size(), want.size());
      EXPECT_FALSE(out.any_non_finite);
      uint64_t total = 0;
      size_t i = 0;
      for (const auto& [value, count] : want) {
        ASSERT_EQ(fp16_to_float(out.patterns[i]), value) << n << " " << i;
        ASSERT_NE(out.patterns[i], 0x8000u) << "-0 listed apart from +0";
        ASSERT_EQ(out.counts[i], double(count)) << n << " " << value;
        ASSERT_EQ(out.values[i], double(value)) << n << " " << i;
        total += count;
        ++i;
      }
      EXPECT_EQ(out.total, total);
    }
  }
}

TEST(Fp16PatternsTest, FlagsInfAndNaN) {
  Fp16PatternCounter counter;
  Fp16Patterns out;
  for (uint16_t bad : {uint16_t(0x7C00u), uint16_t(0xFC00u), uint16_t(0x7E00u), uint16_t(0xFFFFu),
                       uint16_t(0x7C01u)}) {
    for (size_t n : {4u, 20000u}) {
      std::vector<uint16_t> bits(n, 0x3C00u);
      bits[n / 2] = bad;
      counter.begin(n);
      counter.add(bits.data(), n);
      counter.finish(out);
      EXPECT_TRUE(out.any_non_finite) << bad << " " << n;
    }
  }
  std::vector<uint16_t> finite = {0x7BFFu, 0xFBFFu, 0x0001u, 0x8001u};  // +-65504, +-2^-24
  counter.begin(finite.size());
  counter.add(finite.data(), finite.size());
  counter.finish(out);
  EXPECT_FALSE(out.any_non_finite);
  EXPECT_EQ(std::vector<uint16_t>(out.patterns.begin(), out.patterns.end()),
            (std::vector<uint16_t>{0xFBFFu, 0x8001u, 0x0001u, 0x7BFFu}));
}

// Every finite fp16 pattern, ascending in value, -0 left out (+0 stands for it).
std::vector<uint16_t> every_finite_pattern() {
  std::vector<uint16_t> out;
  for (uint32_t key = 0; key < 65536; ++key) {
    const uint16_t h = fp16_from_order_key(uint16_t(key));
    if ((h & 0x7C00u) == 0x7C00u || h == 0x8000u) continue;
    out.push_back(h);
  }
  return out;
}

TEST(PalettizeKernelsTest, Fp16IndexTableMatchesThresholdSearchOnEveryPattern) {
  const std::vector<uint16_t> patterns = every_finite_pattern();
  std::vector<float> values;
  for (uint16_t h : patterns) values.push_back(fp16_to_float(h));
  EXPECT_TRUE(std::is_sorted(values.begin(), values.end()));
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (size_t entries : {1u, 2u, 3u, 4u, 16u, 64u, 256u}) {
    std::vector<double> lut(entries);
    for (double& e : lut) e = double(round_to_fp16(normal(rng) * (entries % 3 ? 1.0f : 1e4f)));
    std::sort(lut.begin(), lut.end());
    if (entries > 3) lut[2] = lut[1];  // a repeated entry, as rounding can give
    const std::vector<float> thresholds = midpoint_thresholds(lut.data(), entries);
    std::vector<uint8_t> table(65536, 0xEE);
    kernels::fp16_index_table(patterns.data(), patterns.size(), thresholds.data(),
                              thresholds.size(), table.data());
    std::vector<uint8_t> want(values.size());
    kernels::count_below_scalar(values.data(), values.size(), thresholds.data(), thresholds.size(),
                                want.data());
    for (size_t i = 0; i < patterns.size(); ++i) {
      ASSERT_EQ(table[patterns[i]], want[i]) << "entries=" << entries << " h=" << patterns[i];
    }
    EXPECT_EQ(table[0x8000u], table[0x0000u]) << "-0 as +0";
    // And the lookup over a stream of patterns.
    std::vector<uint16_t> stream(patterns.begin(), patterns.end());
    stream.push_back(0x8000u);
    std::shuffle(stream.begin(), stream.end(), rng);
    std::vector<uint8_t> looked(stream.size());
    kernels::lookup_fp16_indices(stream.data(), stream.size(), table.data(), looked.data());
    for (size_t i = 0; i < stream.size(); ++i) ASSERT_EQ(looked[i], table[stream[i]]);
  }
}

TEST(PalettizeKernelsTest, Fp16IndexTableMatchesThresholdSearchOnSparseLists) {
  // The runs are found by binary search over the listed patterns only: lists with gaps, with and
  // without +0, a single pattern, none; LUTs inside, around and beyond the listed values.
  const std::vector<uint16_t> every = every_finite_pattern();
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 60; ++trial) {
    const double keep = trial % 4 == 0 ? 0.001 : trial % 4 == 1 ? 0.05 : trial % 4 == 2 ? 0.5 : 1;
    std::vector<uint16_t> patterns;
    for (uint16_t h : every) {
      if (unit(rng) < keep) patterns.push_back(h);
    }
    if (trial == 5) patterns.clear();
    if (trial == 6) patterns = {0x0000u};
    if (trial == 7) patterns = {0xBC00u};
    const size_t entries = size_t(1) << (trial % 9);
    std::vector<double> lut(entries);
    const float spread = trial % 3 == 0 ? 1e-3f : trial % 3 == 1 ? 1.0f : 3e4f;
    for (double& e : lut) e = double(round_to_fp16(normal(rng) * spread));
    std::sort(lut.begin(), lut.end());
    const std::vector<float> thresholds = midpoint_thresholds(lut.data(), entries);
    std::vector<uint8_t> table(65536, 0xEE);
    kernels::fp16_index_table(patterns.data(), patterns.size(), thresholds.data(),
                              thresholds.size(), table.data());
    std::vector<float> values;
    for (uint16_t h : patterns) values.push_back(fp16_to_float(h));
    std::vector<uint8_t> want(values.size());
    kernels::count_below_scalar(values.data(), values.size(), thresholds.data(), thresholds.size(),
                                want.data());
    std::vector<bool> listed(65536, false);
    for (size_t i = 0; i < patterns.size(); ++i) {
      listed[patterns[i]] = true;
      ASSERT_EQ(table[patterns[i]], want[i]) << "trial " << trial << " h=" << patterns[i];
    }
    const bool zero = listed[0];
    for (uint32_t h = 0; h < 65536; ++h) {
      if (listed[h]) continue;
      if (h == 0x8000u && zero) {
        EXPECT_EQ(table[h], table[0]) << "-0 as +0, trial " << trial;
      } else {
        ASSERT_EQ(table[h], 0xEE) << "unlisted pattern written, trial " << trial << " h=" << h;
      }
    }
  }
}

// Brute force for one group: distinct values by a map, the optimal 1-D k-means, the LUT rounded
// to fp16, each element to its nearest entry (ties to the lower index) by a scan of the LUT.
struct Reference {
  std::vector<uint16_t> lut;                         // entries, unused ones 0
  size_t used = 0;                                   // entries in use (the first ones)
  std::vector<std::pair<size_t, uint8_t>> assigned;  // (element, index)
};

// The index of the entry of the first `used` of `lut` nearest to fp16 `bits`, ties to the lower.
uint8_t nearest_entry(uint16_t bits, const uint16_t* lut, size_t used) {
  const double x = double(fp16_to_float(bits));
  size_t best = 0;
  for (size_t j = 1; j < used; ++j) {
    if (std::fabs(x - double(fp16_to_float(lut[j]))) <
        std::fabs(x - double(fp16_to_float(lut[best])))) {
      best = j;
    }
  }
  return uint8_t(best);
}

Reference reference_group(const std::vector<uint16_t>& bits, const std::vector<size_t>& elements,
                          const std::vector<uint8_t>* mask, size_t entries) {
  std::map<double, double> mass;
  for (size_t e : elements) {
    if (!mask || (*mask)[e]) mass[double(fp16_to_float(bits[e])) + 0.0] += 1.0;
  }
  if (mass.empty()) {
    for (size_t e : elements) mass[double(fp16_to_float(bits[e])) + 0.0] += 1.0;
  }
  std::vector<double> values, weights;
  for (const auto& [v, w] : mass) values.push_back(v), weights.push_back(w);
  const KMeans1dResult km = kmeans_1d_optimal(values, weights, entries);
  Reference ref;
  ref.lut.assign(entries, 0);
  ref.used = km.centroids.size();
  for (size_t c = 0; c < km.centroids.size(); ++c) ref.lut[c] = fp16_from_double(km.centroids[c]);
  for (size_t e : elements)
    ref.assigned.emplace_back(e, nearest_entry(bits[e], ref.lut.data(), ref.used));
  return ref;
}

TEST(PalettizeFp16Test, MatchesBruteForceKMeansAndAFullDecodesMetrics) {
  struct Case {
    std::vector<uint64_t> shape;
    size_t axis;
    uint64_t group_size;  // 0: per tensor
    int nbits;
    bool masked;
  };
  const Case cases[] = {
      {{64, 48}, 0, 0, 4, false},      {{300, 200}, 0, 0, 2, false},  // sorted / histogram
      {{64, 48}, 0, 16, 4, false},     {{64, 48}, 1, 8, 3, false},    // grouped, both axes
      {{8, 32, 3, 3}, 0, 0, 1, false}, {{8, 32, 3, 3}, 1, 16, 6, false},
      {{256, 256}, 1, 64, 8, false},   {{64, 48}, 0, 0, 4, true},
      {{300, 200}, 1, 50, 2, true},    {{5}, 0, 0, 8, false},  // fewer values than entries
  };
  std::mt19937 rng(21);
  for (const Case& c : cases) {
    size_t n = 1;
    for (uint64_t d : c.shape) n *= d;
    const std::vector<uint16_t> bits = random_fp16(n, rng);
    std::vector<uint8_t> mask(n);
    for (size_t i = 0; i < n; ++i) mask[i] = uint8_t(i % 7 == 3 ? 0 : 1);
    PalettizeSpec spec;
    spec.nbits = c.nbits;
    spec.channel_axis = c.axis;
    if (c.group_size) {
      spec.granularity = PaletteGranularity::kPerGroupedChannel;
      spec.group_size = c.group_size;
    }
    if (c.masked) spec.fit_mask = &mask;
    const TensorView view = TensorView::fp16(bits, c.shape);
    const auto got = palettize(view, spec);
    ASSERT_TRUE(std::holds_alternative<PalettizeResult>(got));
    const PalettizeResult& r = std::get<PalettizeResult>(got);
    // The group's elements in row-major order.
    size_t outer = 1, inner = 1;
    for (size_t d = 0; d < c.axis; ++d) outer *= c.shape[d];
    for (size_t d = c.axis + 1; d < c.shape.size(); ++d) inner *= c.shape[d];
    const size_t channels = c.shape[c.axis];
    const size_t group = c.group_size ? c.group_size : channels;
    const size_t entries = size_t(1) << c.nbits;
    ASSERT_EQ(r.lut_fp16.size(), channels / group * entries);
    for (size_t g = 0; g < channels / group; ++g) {
      std::vector<size_t> elements;
      for (size_t e = 0; e < n; ++e) {
        if ((e / inner) % channels / group == g) elements.push_back(e);
      }
      const Reference ref = reference_group(bits, elements, c.masked ? &mask : nullptr, entries);
      const uint16_t* lut = r.lut_fp16.data() + g * entries;
      if (std::equal(ref.lut.begin(), ref.lut.end(), lut)) {
        for (const auto& [e, index] : ref.assigned) {
          ASSERT_EQ(r.indices[e], index) << "element " << e;
        }
      } else {
        // Another clustering of the same cost (which of those comes back is unspecified,
        // kmeans1d.h; the two searches start from different prices, with and without the
        // groups' price hint): as good once stored, each element at its nearest entry.
        double ours = 0, theirs = 0;  // squared errors once decoded through each LUT
        for (const auto& [e, index] : ref.assigned) {
          ASSERT_EQ(r.indices[e], nearest_entry(bits[e], lut, ref.used)) << "element " << e;
          const double x = double(fp16_to_float(bits[e]));
          const double d_ours = x - double(fp16_to_float(lut[r.indices[e]]));
          const double d_theirs = x - double(fp16_to_float(ref.lut[index]));
          ours += d_ours * d_ours;
          theirs += d_theirs * d_theirs;
        }
        EXPECT_LE(ours, theirs * (1 + 1e-12)) << "group " << g;
      }
    }
    // The metrics describe the decoded weight, as a full decode in element order does (to the
    // rounding of the sums' order); the largest error exactly.
    const ErrorMetrics full = compute_error_metrics(view, depalettize(r));
    EXPECT_EQ(r.metrics.max_abs_error, full.max_abs_error);
    EXPECT_NEAR(r.metrics.rmse, full.rmse, 1e-12 * full.rmse);
    EXPECT_NEAR(r.metrics.cosine, full.cosine, 1e-12);
    if (std::isinf(full.snr_db)) {
      EXPECT_EQ(r.metrics.snr_db, full.snr_db);  // exact: fewer values than entries
    } else {
      EXPECT_NEAR(r.metrics.snr_db, full.snr_db, 1e-9);
    }
  }
}

TEST(PalettizeFp16Test, SkipsInfAndNaN) {
  for (uint16_t bad : {uint16_t(0x7C00u), uint16_t(0xFE00u)}) {
    std::vector<uint16_t> bits(64 * 48, 0x2000u);
    bits[100] = bad;
    PalettizeSpec spec;
    spec.granularity = PaletteGranularity::kPerGroupedChannel;
    spec.group_size = 16;
    const auto got = palettize(TensorView::fp16(bits, {64, 48}), spec);
    ASSERT_TRUE(std::holds_alternative<PaletteSkip>(got));
    EXPECT_EQ(std::get<PaletteSkip>(got).reason, PaletteSkipReason::kNonFiniteValue);
  }
}

}  // namespace
}  // namespace mlpress::compress
