// A job of several steps: progress counts every weight a step compresses once, the report
// says which step produced each outcome, and a cancelled or refused job leaves nothing behind
// (neither OUT nor the packages between the steps).
#include <gtest/gtest.h>

#include <filesystem>

#include "core/io/error.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/step_from_text.h"
#include "tests/core/package_builder.h"

namespace mlpress {
namespace {

namespace fs = std::filesystem;

// int8 everything, then a (non-joint) prune that finds the weight already compressed.
RewriteOptions two_steps() {
  RewriteOptions options;
  options.steps = steps_from_job_text(
      R"({"steps": [
          {"config": {"config_type": "OpLinearQuantizerConfig",
                      "global_config": {"mode": "linear_symmetric", "weight_threshold": 0}}},
          {"config": {"config_type": "OpMagnitudePrunerConfig",
                      "global_config": {"target_sparsity": 0.5, "weight_threshold": 0}}}]})",
      "job");
  return options;
}

std::vector<std::string> left_in(const fs::path& dir) {
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir))
    left.push_back(entry.path().filename().string());
  return left;
}

TEST(RewriteSteps, ProgressAndReportAcrossSteps) {
  testing::TempDir dir;
  const std::string in = testing::write_package_dir(dir.path(), "in", testing::tiny_parts());
  RewriteOptions options = two_steps();
  std::vector<RewriteProgress> seen;
  options.on_progress = [&](const RewriteProgress& p) {
    seen.push_back(p);
    return true;
  };
  const auto report = rewrite_package(in, dir / "out.mlpackage", options);
  // One weight compressed by step 1; step 2 compresses nothing; one final report.
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].done, 0u);
  EXPECT_EQ(seen[0].total, 1u);
  EXPECT_EQ(seen[1].done, 1u);
  EXPECT_EQ(seen[1].weight, "");
  ASSERT_EQ(report.weights.size(), 2u);
  EXPECT_EQ(report.weights[0].step, 1u);
  EXPECT_TRUE(report.weights[0].compressed);
  EXPECT_EQ(report.weights[1].step, 2u);
  EXPECT_FALSE(report.weights[1].compressed);
  EXPECT_EQ(left_in(dir.path()).size(), 2u);  // in and out, no step folder
}

TEST(RewriteSteps, CancelOrRefusalLeavesNothing) {
  for (int stop_at : {0, 1}) {
    testing::TempDir dir;
    const std::string in = testing::write_package_dir(dir.path(), "in", testing::tiny_parts());
    RewriteOptions options = two_steps();
    int calls = 0;
    options.on_progress = [&](const RewriteProgress&) { return calls++ < stop_at; };
    EXPECT_THROW(rewrite_package(in, dir / "out.mlpackage.zip", options), Cancelled);
    EXPECT_EQ(left_in(dir.path()), std::vector<std::string>{"in.mlpackage"}) << stop_at;
  }
  // A joint step on a program below iOS18 is refused before anything is written.
  testing::TempDir dir;
  const std::string in = testing::write_package_dir(dir.path(), "in", testing::tiny_parts());
  RewriteOptions options = two_steps();
  options.steps[1].joint_compression = true;
  try {
    rewrite_package(in, dir / "out.mlpackage", options);
    ADD_FAILURE() << "joint below iOS18 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only supported since iOS18"), std::string::npos);
  }
  EXPECT_EQ(left_in(dir.path()), std::vector<std::string>{"in.mlpackage"});
}

}  // namespace
}  // namespace mlpress
