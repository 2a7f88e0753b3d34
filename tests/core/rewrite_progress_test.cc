// The rewrite reports its progress weight by weight, and a callback that says stop cancels the
// job without leaving any output behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/io/error.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/step_from_text.h"
#include "tests/core/package_builder.h"

namespace mlpress {
namespace {

namespace fs = std::filesystem;

RewriteOptions int8_everything() {
  RewriteOptions options;
  options.steps.push_back(step_from_config_text(
      R"({"config_type": "OpLinearQuantizerConfig",
          "global_config": {"mode": "linear_symmetric", "weight_threshold": 0}})",
      "test config"));
  return options;
}

TEST(RewriteProgress, ReportsEachWeightThenTheWrite) {
  testing::TempDir dir;
  const std::string in = testing::write_package_dir(dir.path(), "in", testing::tiny_parts());
  RewriteOptions options = int8_everything();
  std::vector<RewriteProgress> seen;
  options.on_progress = [&](const RewriteProgress& p) {
    seen.push_back(p);
    return true;
  };
  const auto report = rewrite_package(in, dir / "out.mlpackage.zip", options);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].done, 0u);
  EXPECT_EQ(seen[0].total, 1u);
  EXPECT_EQ(seen[0].weight, "w");
  EXPECT_EQ(seen[1].done, 1u);
  EXPECT_EQ(seen[1].total, 1u);
  EXPECT_EQ(seen[1].weight, "");
  ASSERT_EQ(report.weights.size(), 1u);
  EXPECT_TRUE(report.weights[0].compressed);
}

TEST(RewriteProgress, CancelLeavesNoOutput) {
  for (int stop_at : {0, 1}) {
    testing::TempDir dir;
    const std::string in = testing::write_package_dir(dir.path(), "in", testing::tiny_parts());
    RewriteOptions options = int8_everything();
    int calls = 0;
    options.on_progress = [&](const RewriteProgress&) { return calls++ < stop_at; };
    EXPECT_THROW(rewrite_package(in, dir / "out.mlpackage.zip", options), Cancelled);
    // Only the input folder is left: no output, no staging folder.
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator(dir.path()))
      left.push_back(entry.path().filename().string());
    EXPECT_EQ(left, std::vector<std::string>{"in.mlpackage"}) << "stop_at " << stop_at;
  }
}

}  // namespace
}  // namespace mlpress
