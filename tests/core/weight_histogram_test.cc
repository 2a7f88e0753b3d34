// weight_histogram / weight_histograms on a built package: a dense const read from weight.bin,
// its 4-bit palettized form (16 distinct values, so the LUT holds them exactly and the bars must
// not move) found in the output through the op consuming it, and the refusals.
#include "core/rewrite/weight_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/compress/fp16_convert.h"
#include "core/io/error.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/step_from_text.h"
#include "package_builder.h"

namespace mlpress {
namespace {

// tiny_parts() with w = -2, -1.75, ..., 1.75 (exact in fp16) in place of its sixteen 1.0s.
std::string write_ramp_package(const testing::TempDir& dir) {
  testing::PackageParts parts = testing::tiny_parts();
  std::vector<std::byte> ones;
  for (int i = 0; i < 16; ++i) ones.insert(ones.end(), {std::byte{0x00}, std::byte{0x3C}});
  const auto at = std::search(parts.weights.begin(), parts.weights.end(), ones.begin(), ones.end());
  EXPECT_NE(at, parts.weights.end());
  for (int i = 0; i < 16; ++i) {
    const uint16_t bits = compress::float_to_fp16(-2.0f + 0.25f * static_cast<float>(i));
    at[2 * i] = static_cast<std::byte>(bits & 0xff);
    at[2 * i + 1] = static_cast<std::byte>(bits >> 8);
  }
  return testing::write_package_dir(dir.path(), "ramp", parts);
}

TEST(WeightHistogram, DenseConstAndItsPalettizedForm) {
  testing::TempDir dir;
  const std::string in = write_ramp_package(dir);
  const WeightHistogram dense = weight_histogram(in, "w", 4);
  EXPECT_EQ(dense.op_type, "const");
  EXPECT_EQ(dense.dtype, "fp16");
  EXPECT_EQ(dense.shape, (std::vector<uint64_t>{4, 4}));
  EXPECT_EQ(dense.histogram.range.lo, -2.0);
  EXPECT_EQ(dense.histogram.range.hi, 1.75);
  // edges -2, -1.0625, -0.125, 0.8125, 1.75: four ramp values in each bin
  EXPECT_EQ(dense.histogram.counts, (std::vector<uint64_t>{4, 4, 4, 4}));

  RewriteOptions options;
  options.steps = steps_from_job_text(
      "config_type: OpPalettizerConfig\nglobal_config:\n  nbits: 4\n  mode: kmeans\n"
      "  weight_threshold: 0\n",
      "config");
  const std::string out = dir / "pal.mlpackage";
  const RewriteReport report = rewrite_package(in, out, options);
  ASSERT_EQ(report.weights.size(), 1u);
  ASSERT_TRUE(report.weights[0].compressed);

  const auto [before, after] = weight_histograms(in, out, "w", 4);
  EXPECT_EQ(before.weight, "w");
  EXPECT_NE(after.weight, "w");  // renamed by the compression, found through relu "y"
  EXPECT_EQ(after.op_type, "constexpr_lut_to_dense");
  EXPECT_EQ(after.histogram.range.lo, before.histogram.range.lo);
  EXPECT_EQ(after.histogram.range.hi, before.histogram.range.hi);
  EXPECT_EQ(after.histogram.counts, before.histogram.counts);
  EXPECT_EQ(after.histogram.total, 16u);
  // the output's own name works from either side
  const auto by_output_name = weight_histograms(in, out, after.weight, 4);
  EXPECT_EQ(by_output_name.first.weight, "w");
  EXPECT_EQ(by_output_name.second.histogram.counts, after.histogram.counts);
}

TEST(WeightHistogram, RefusesWhatIsNotAWeight) {
  testing::TempDir dir;
  const std::string in = write_ramp_package(dir);
  EXPECT_THROW(weight_histogram(in, "nope", 4), Error);
  try {
    weight_histogram(in, "y", 4);
    FAIL() << "relu output accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a weight"), std::string::npos) << e.what();
  }
  EXPECT_THROW(weight_histogram(in, "w", 4, compress::HistogramRange{1.0, 1.0}), Error);
}

}  // namespace
}  // namespace mlpress
