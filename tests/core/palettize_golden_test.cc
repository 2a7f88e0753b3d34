// Palettization against coremltools 9.0's own results (scripts/make_palettize_goldens.py):
// uniform and unique decompress to exactly its values; kmeans never has a larger squared error
// (scalar: the exact 1-D optimum; vector: k-means++ with restarts against scikit-learn).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/compress/fp16_convert.h"
#include "core/compress/palettize.h"
#include "tests/core/golden_reader.h"

namespace mlpress::compress {
namespace {

using Reader = ::mlpress::testing::GoldenReader;

using GoldenTensor = ::mlpress::testing::GoldenTensor;

enum class Status : uint8_t { kDone = 0, kSkipped = 1, kRaised = 2 };

struct GoldenCase {
  uint32_t tensor;
  PalettizeSpec spec;
  Status status;
  int nbits_used = 0;
  bool kmeans1d = false;
  double sse = 0;             // kmeans
  std::vector<float> values;  // uniform / unique: decompressed
  std::vector<uint64_t> lut_shape, indices_shape;
  std::vector<float> lut;  // coremltools' LUT values
  std::vector<uint8_t> indices;
  std::string name() const {
    static const char* const kModes[] = {"kmeans", "uniform", "unique"};
    return std::string(kModes[int(spec.mode)]) + " tensor " + std::to_string(tensor) + " nbits " +
           std::to_string(spec.nbits) + " axis " + std::to_string(spec.channel_axis) + " group " +
           std::to_string(spec.group_size) + " dim " + std::to_string(spec.cluster_dim) +
           (spec.per_channel_scale ? " pcs" : "");
  }
};

struct Goldens {
  std::vector<GoldenTensor> tensors;
  std::vector<GoldenCase> cases;
};

const Goldens& goldens() {
  static const Goldens g = [] {
    Reader r(std::string(MLPRESS_TEST_DATA_DIR) + "/palettize/goldens.bin");
    char magic[8];
    r.take(magic, 8);
    if (std::memcmp(magic, "MLPPGLD1", 8) != 0) throw std::runtime_error("bad golden magic");
    Goldens out;
    const uint32_t ntensors = r.get<uint32_t>();
    const uint32_t ncases = r.get<uint32_t>();
    for (uint32_t t = 0; t < ntensors; ++t) {
      out.tensors.push_back(::mlpress::testing::read_golden_tensor(r));
    }
    for (uint32_t c = 0; c < ncases; ++c) {
      GoldenCase gc;
      gc.tensor = r.get<uint32_t>();
      gc.spec.mode = PaletteMode(r.get<uint8_t>());
      gc.spec.nbits = r.get<uint8_t>();
      gc.spec.channel_axis = r.get<uint8_t>();
      gc.spec.group_size = r.get<uint64_t>();
      gc.spec.granularity = gc.spec.group_size ? PaletteGranularity::kPerGroupedChannel
                                               : PaletteGranularity::kPerTensor;
      gc.spec.cluster_dim = r.get<uint8_t>();
      gc.spec.per_channel_scale = r.get<uint8_t>() != 0;
      gc.status = Status(r.get<uint8_t>());
      if (gc.status == Status::kDone) {
        gc.nbits_used = r.get<uint8_t>();
        gc.kmeans1d = r.get<uint8_t>() != 0;
        const GoldenTensor& t = out.tensors.at(gc.tensor);
        if (gc.spec.mode == PaletteMode::kKmeans) {
          gc.sse = r.get<double>();
        } else {
          const size_t n = size_t(element_count(t.shape));
          gc.values.resize(n);
          if (t.type == ElementType::kFloat16) {
            std::vector<uint16_t> bits(n);
            r.take(bits.data(), n * 2);
            for (size_t i = 0; i < n; ++i) gc.values[i] = fp16_to_float(bits[i]);
          } else {
            r.take(gc.values.data(), n * 4);
          }
          gc.lut_shape.resize(r.get<uint8_t>());
          for (auto& d : gc.lut_shape) d = r.get<uint64_t>();
          gc.lut.resize(size_t(element_count(gc.lut_shape)));
          for (float& v : gc.lut) {
            v = t.type == ElementType::kFloat16 ? fp16_to_float(r.get<uint16_t>()) : r.get<float>();
          }
          gc.indices_shape.resize(r.get<uint8_t>());
          for (auto& d : gc.indices_shape) d = r.get<uint64_t>();
          gc.indices.resize(size_t(element_count(gc.indices_shape)));
          r.take(gc.indices.data(), gc.indices.size());
        }
      }
      out.cases.push_back(std::move(gc));
    }
    if (!r.at_end()) throw std::runtime_error("trailing bytes in golden file");
    return out;
  }();
  return g;
}

double sse_of(const GoldenTensor& t, const std::vector<float>& dense) {
  double sse = 0;
  for (size_t i = 0; i < dense.size(); ++i) {
    const double d = double(dense[i]) - t.at(i);
    sse += d * d;
  }
  return sse;
}

TEST(PalettizeGoldenTest, FileCoversEveryMode) {
  size_t per_mode[3] = {0, 0, 0};
  for (const GoldenCase& c : goldens().cases) ++per_mode[int(c.spec.mode)];
  EXPECT_GT(per_mode[0], 100u);
  EXPECT_GT(per_mode[1], 100u);
  EXPECT_GT(per_mode[2], 20u);
}

TEST(PalettizeGoldenTest, SkipsWhereCoremltoolsSkips) {
  // Done cases are checked below; where coremltools raises (a group with fewer vectors than
  // LUT entries) mlpress palettizes.
  size_t skipped = 0;
  for (const GoldenCase& c : goldens().cases) {
    if (c.status == Status::kDone) continue;
    const auto out = palettize(goldens().tensors[c.tensor].view(), c.spec);
    if (c.status == Status::kSkipped) {
      EXPECT_TRUE(std::holds_alternative<PaletteSkip>(out)) << c.name();
      ++skipped;
    } else {
      EXPECT_TRUE(std::holds_alternative<PalettizeResult>(out)) << c.name();
    }
  }
  EXPECT_GT(skipped, 4u);
}

TEST(PalettizeGoldenTest, UniformAndUniqueDecompressExactly) {
  size_t checked = 0;
  for (const GoldenCase& c : goldens().cases) {
    if (c.status != Status::kDone || c.spec.mode == PaletteMode::kKmeans) continue;
    const auto out = palettize(goldens().tensors[c.tensor].view(), c.spec);
    ASSERT_TRUE(std::holds_alternative<PalettizeResult>(out)) << c.name();
    const PalettizeResult& r = std::get<PalettizeResult>(out);
    EXPECT_EQ(r.nbits, c.nbits_used) << c.name();
    const std::vector<float> dense = depalettize(r);
    size_t mismatches = 0;
    for (size_t i = 0; i < dense.size(); ++i) {
      if (!(dense[i] == c.values[i])) {
        if (mismatches++ < 3) {
          ADD_FAILURE() << c.name() << ": element " << i << " is " << dense[i]
                        << ", coremltools has " << c.values[i];
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << c.name();
    // The same LUT (values: -0 and +0 are one) and indices, in the iOS18 op's layout.
    EXPECT_EQ(r.lut_shape, c.lut_shape) << c.name();
    EXPECT_EQ(r.indices_shape, c.indices_shape) << c.name();
    std::vector<float> lut(c.lut.size());
    for (size_t i = 0; i < lut.size() && i < (r.lut_fp16.size() + r.lut_fp32.size()); ++i) {
      lut[i] = r.lut_at(i);
    }
    EXPECT_EQ(lut, c.lut) << c.name();
    EXPECT_EQ(r.indices, c.indices) << c.name();
    ++checked;
  }
  EXPECT_GT(checked, 100u);
}

TEST(PalettizeGoldenTest, KmeansErrorNeverAboveCoremltools) {
  // Per coremltools backend: scikit-learn scalar, kmeans1d scalar, scikit-learn vectors.
  struct Tally {
    const char* name;
    size_t cases = 0, better = 0, exact = 0;
    double worst = 0, sum_log = 0;
    size_t logged = 0;
  } tally[3] = {{"scalar, sklearn"}, {"scalar, kmeans1d"}, {"vector, sklearn"}};
  for (const GoldenCase& c : goldens().cases) {
    if (c.status != Status::kDone || c.spec.mode != PaletteMode::kKmeans) continue;
    const GoldenTensor& t = goldens().tensors[c.tensor];
    const auto out = palettize(t.view(), c.spec);
    ASSERT_TRUE(std::holds_alternative<PalettizeResult>(out)) << c.name();
    const PalettizeResult& r = std::get<PalettizeResult>(out);
    EXPECT_EQ(r.nbits, c.spec.nbits);
    const double ours = sse_of(t, depalettize(r));
    // Float summation noise only. Where coremltools ran the same exact DP (kmeans1d) ours can
    // only differ by reassigning indices after rounding the LUT, which never hurts; with a
    // per-channel scale ours weighs values by scale^2, so it is better there.
    EXPECT_LE(ours, c.sse * (1 + 1e-9) + 1e-12) << c.name();
    if (c.kmeans1d && !c.spec.per_channel_scale) {
      EXPECT_NEAR(ours, c.sse, 1e-3 * c.sse + 1e-12) << c.name();
    }
    Tally& k = tally[c.spec.cluster_dim > 1 ? 2 : c.kmeans1d ? 1 : 0];
    ++k.cases;
    k.better += ours < c.sse * (1 - 1e-6) ? 1 : 0;
    if (c.sse == 0 || ours == 0) {
      k.exact += c.sse == 0 ? 1 : 0;
      continue;
    }
    k.worst = std::max(k.worst, ours / c.sse);
    k.sum_log += std::log(std::max(ours / c.sse, 1e-12));
    ++k.logged;
  }
  for (const Tally& k : tally) {
    EXPECT_GE(k.cases, 5u) << k.name;
    std::printf(
        "kmeans vs coremltools (%s): %zu cases, %zu with lower SSE, %zu lossless in coremltools, "
        "SSE ratio ours/theirs: geometric mean %.4f, worst %.6f\n",
        k.name, k.cases, k.better, k.exact, k.logged ? std::exp(k.sum_log / double(k.logged)) : 1.0,
        k.worst);
  }
}

}  // namespace
}  // namespace mlpress::compress
