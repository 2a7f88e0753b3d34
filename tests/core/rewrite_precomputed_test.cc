// Weights compressed ahead of time, in shares, by separate precompute_weights calls, then
// spliced into one rewrite (precomputed.h): the output is the single run's, byte for byte, and
// the report is the same; the splice really uses the stored results; errors come back at their
// weight's place.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/io/error.h"
#include "core/rewrite/precomputed.h"
#include "core/rewrite/report_json.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/step_from_text.h"
#include "tests/core/package_builder.h"

namespace mlpress {
namespace {

namespace fs = std::filesystem;

const std::string kSample = MLPRESS_SOURCE_DIR "/sample/sample.mlpackage.zip";

// Outputs of the runs compared are named alike (the name is also the zip's top folder), each in
// its own folder.
std::string out_in(const testing::TempDir& dir, const std::string& run) {
  fs::create_directories(dir.path() / run);
  return (dir.path() / run / "out.mlpackage.zip").string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

RewriteOptions options_for(const std::string& config) {
  RewriteOptions options;
  options.steps.push_back(step_from_config_text(config, "test config"));
  return options;
}

// Precomputes the candidates of `options` in `parts` shares (one results file each) and
// rewrites with them; returns the report.
RewriteReport split_run(const std::string& in, const std::string& out,
                        const RewriteOptions& options, size_t parts, const fs::path& dir,
                        size_t* stored = nullptr) {
  const PrecomputePlan plan = precompute_candidates(in, options);
  EXPECT_TRUE(plan.splittable) << plan.reason;
  std::vector<std::pair<uint64_t, uint64_t>> sizes;
  for (const auto& w : plan.weights) sizes.emplace_back(w.index, w.dense_bytes);
  const auto shares = rewrite::split_by_size(sizes, parts);
  std::vector<std::string> files;
  for (size_t i = 0; i < shares.size(); ++i) {
    files.push_back((dir / ("share" + std::to_string(i) + ".bin")).string());
    EXPECT_EQ(precompute_weights(in, files.back(), options, shares[i]), shares[i].size());
  }
  rewrite::PrecomputedResults results(files);
  if (stored) *stored = results.size();
  RewriteOptions with = options;
  with.precomputed = &results;
  return rewrite_package(in, out, with);
}

struct Case {
  const char* label;
  const char* config;
};

const Case kCases[] = {
    {"int8 per channel",
     R"({"config_type": "OpLinearQuantizerConfig",
         "global_config": {"mode": "linear_symmetric", "weight_threshold": 0}})"},
    {"palettize 2-bit k-means",
     R"({"config_type": "OpPalettizerConfig",
         "global_config": {"nbits": 2, "mode": "kmeans", "weight_threshold": 0}})"},
    {"prune 50%",
     R"({"config_type": "OpMagnitudePrunerConfig",
         "global_config": {"target_sparsity": 0.5, "weight_threshold": 0}})"},
    // Block pruning, one weight kept dense by name, the biases skipped by the pruner (rank 1).
    {"block prune, one kept dense",
     R"({"config_type": "OpMagnitudePrunerConfig",
         "global_config": {"target_sparsity": 0.5, "block_size": 4, "weight_threshold": 0},
         "op_name_configs": {"conv2_weight_0_to_fp16": null}})"},
};

TEST(RewritePrecomputed, SplitRunsEqualTheSingleRun) {
  for (const Case& c : kCases) {
    for (size_t parts : {1, 2, 3}) {
      testing::TempDir dir;
      const RewriteOptions options = options_for(c.config);
      const RewriteReport single = rewrite_package(kSample, out_in(dir, "single"), options);
      size_t stored = 0;
      const RewriteReport split =
          split_run(kSample, out_in(dir, "split"), options, parts, dir.path(), &stored);
      size_t compressed = 0;
      for (const auto& w : single.weights) compressed += w.compressed;
      EXPECT_GT(compressed, 0u) << c.label;
      EXPECT_EQ(stored, precompute_candidates(kSample, options).weights.size()) << c.label;
      EXPECT_EQ(report_json(split).dump(), report_json(single).dump()) << c.label << ", " << parts;
      EXPECT_TRUE(read_bytes(out_in(dir, "split")) == read_bytes(out_in(dir, "single")))
          << c.label << ", " << parts << " parts";
    }
  }
}

TEST(RewritePrecomputed, TheSpliceUsesTheStoredResults) {
  // Results of 2-bit palettization spliced into a 4-bit run: the output is the 2-bit one's, so
  // the rewrite took them rather than compressing again.
  testing::TempDir dir;
  const auto two = options_for(kCases[1].config);
  const auto four = options_for(R"({"config_type": "OpPalettizerConfig",
      "global_config": {"nbits": 4, "mode": "kmeans", "weight_threshold": 0}})");
  rewrite_package(kSample, out_in(dir, "two"), two);
  rewrite_package(kSample, out_in(dir, "four"), four);
  const PrecomputePlan plan = precompute_candidates(kSample, two);
  std::vector<uint64_t> all;
  for (const auto& w : plan.weights) all.push_back(w.index);
  precompute_weights(kSample, dir / "two.bin", two, all);
  rewrite::PrecomputedResults results({dir / "two.bin"});
  RewriteOptions spliced = four;
  spliced.precomputed = &results;
  rewrite_package(kSample, out_in(dir, "spliced"), spliced);
  EXPECT_TRUE(read_bytes(out_in(dir, "spliced")) == read_bytes(out_in(dir, "two")));
  EXPECT_TRUE(read_bytes(out_in(dir, "spliced")) != read_bytes(out_in(dir, "four")));
}

TEST(RewritePrecomputed, MissingResultsAreCompressedInPlace) {
  testing::TempDir dir;
  const auto options = options_for(kCases[0].config);
  rewrite_package(kSample, out_in(dir, "single"), options);
  const PrecomputePlan plan = precompute_candidates(kSample, options);
  ASSERT_GE(plan.weights.size(), 2u);
  precompute_weights(kSample, dir / "first.bin", options, {plan.weights[0].index});
  rewrite::PrecomputedResults results({dir / "first.bin"});
  EXPECT_EQ(results.size(), 1u);
  RewriteOptions with = options;
  with.precomputed = &results;
  rewrite_package(kSample, out_in(dir, "split"), with);
  EXPECT_TRUE(read_bytes(out_in(dir, "split")) == read_bytes(out_in(dir, "single")));
}

TEST(RewritePrecomputed, AStoredErrorIsThrownAtItsWeight) {
  testing::TempDir dir;
  const auto options = options_for(kCases[0].config);
  const PrecomputePlan plan = precompute_candidates(kSample, options);
  ASSERT_GE(plan.weights.size(), 3u);
  {
    rewrite::PrecomputedWriter writer(dir / "error.bin");
    rewrite::PrecomputedResult result;
    result.index = plan.weights[1].index;
    result.name = plan.weights[1].name;
    result.error = "the compressor's message";
    writer.add(result);
    writer.close();
  }
  rewrite::PrecomputedResults results({dir / "error.bin"});
  RewriteOptions with = options;
  with.precomputed = &results;
  std::vector<std::string> seen;
  with.on_progress = [&](const RewriteProgress& p) {
    seen.push_back(p.weight);
    return true;
  };
  try {
    rewrite_package(kSample, out_in(dir, "out"), with);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "the compressor's message");
  }
  // Reached in the walk's order: the first weight compressed, then the stored error.
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], plan.weights[1].name);
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "out.mlpackage.zip"));
}

TEST(RewritePrecomputed, AResultForAnotherWeightIsRefused) {
  testing::TempDir dir;
  const auto options = options_for(kCases[0].config);
  const PrecomputePlan plan = precompute_candidates(kSample, options);
  {
    rewrite::PrecomputedWriter writer(dir / "wrong.bin");
    rewrite::PrecomputedResult result;
    result.index = plan.weights[0].index;
    result.name = "not_this_weight";
    writer.add(result);
    writer.close();
  }
  rewrite::PrecomputedResults results({dir / "wrong.bin"});
  RewriteOptions with = options;
  with.precomputed = &results;
  EXPECT_THROW(rewrite_package(kSample, out_in(dir, "out"), with), Error);
}

TEST(RewritePrecomputed, CancelDuringAShare) {
  testing::TempDir dir;
  RewriteOptions options = options_for(kCases[0].config);
  const PrecomputePlan plan = precompute_candidates(kSample, options);
  std::vector<uint64_t> all;
  for (const auto& w : plan.weights) all.push_back(w.index);
  int calls = 0;
  options.on_progress = [&](const RewriteProgress& p) {
    EXPECT_EQ(p.total, all.size());
    return calls++ < 1;
  };
  EXPECT_THROW(precompute_weights(kSample, dir / "share.bin", options, all), Cancelled);
  EXPECT_EQ(calls, 2);
}

TEST(RewritePrecomputed, NotSplittable) {
  EXPECT_FALSE(precompute_candidates(kSample, RewriteOptions{}).splittable);
  RewriteOptions job;
  job.steps = steps_from_job_text(
      R"({"steps": [{"config": {"config_type": "OpLinearQuantizerConfig"}},
                    {"config": {"config_type": "OpMagnitudePrunerConfig",
                                "global_config": {"target_sparsity": 0.5}}}]})",
      "job");
  const PrecomputePlan plan = precompute_candidates(kSample, job);
  EXPECT_FALSE(plan.splittable);
  EXPECT_FALSE(plan.reason.empty());
  EXPECT_THROW(precompute_weights(kSample, "/nonexistent/x.bin", job, {}), Error);
}

TEST(SplitBySize, EveryWeightOnceAndLoadsWithinTheLargestWeight) {
  // Greedy largest-first: the loads differ by at most the largest weight; every index once.
  std::vector<std::pair<uint64_t, uint64_t>> weights;
  uint64_t seed = 7;
  for (uint64_t i = 0; i < 37; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    weights.emplace_back(i * 3, 1 + (seed >> 40) % 1000);
  }
  for (size_t parts : {1, 2, 3, 4, 8, 64}) {
    const auto shares = rewrite::split_by_size(weights, parts);
    ASSERT_EQ(shares.size(), parts);
    std::map<uint64_t, uint64_t> size_of(weights.begin(), weights.end());
    std::vector<uint64_t> seen;
    uint64_t lo = UINT64_MAX, hi = 0, largest = 0;
    for (const auto& share : shares) {
      EXPECT_TRUE(std::is_sorted(share.begin(), share.end()));
      uint64_t load = 0;
      for (uint64_t i : share) {
        load += size_of.at(i);
        largest = std::max(largest, size_of.at(i));
        seen.push_back(i);
      }
      lo = std::min(lo, load);
      hi = std::max(hi, load);
    }
    std::sort(seen.begin(), seen.end());
    std::vector<uint64_t> all;
    for (const auto& [i, s] : weights) all.push_back(i);
    EXPECT_EQ(seen, all);
    EXPECT_LE(hi - lo, largest) << parts;
  }
}

}  // namespace
}  // namespace mlpress
