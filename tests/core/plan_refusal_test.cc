// plan_package, the dry run the page shows, refuses what rewrite_package refuses while writing,
// with the same message, and plans what it writes: checked here by running both on the same
// package and config (the run being the truth the plan must predict).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>

#include "core/blob/blob_writer.h"
#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "core/rewrite/plan_package.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/step_from_text.h"
#include "tests/core/package_builder.h"

namespace mlpress {
namespace {

namespace M = CoreML::Specification::MILSpec;

uint16_t fp16_of(float v) {
  // Exact for the small integers and halves used here, and for NaN and infinities.
  if (std::isnan(v)) return 0x7E00;
  if (std::isinf(v)) return v > 0 ? 0x7C00 : 0xFC00;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if (v == 0) return 0;
  const uint32_t sign = (bits >> 16) & 0x8000;
  const int exp = int((bits >> 23) & 0xFF) - 127 + 15;
  return uint16_t(sign | (uint32_t(exp) << 10) | ((bits >> 13) & 0x3FF));
}

// tiny_model's const "w" (relu its consumer) of `dtype` and shape `dims` holding `storage`, in a
// program of opset CoreML<opset>.
testing::PackageParts package(int opset, M::DataType dtype, blob::BlobDType blob_dtype,
                              const std::vector<std::byte>& storage,
                              const std::vector<int64_t>& dims = {4, 4}) {
  auto model = testing::tiny_model();
  model.set_specificationversion(opset + 1);
  auto& function = model.mutable_mlprogram()->mutable_functions()->at("main");
  const std::string key = "CoreML" + std::to_string(opset);
  auto& blocks = *function.mutable_block_specializations();
  M::Block block = blocks.at("CoreML6");
  blocks.erase("CoreML6");
  function.set_opset(key);
  const auto set_type = [&](M::ValueType* type) {
    auto* tensor = type->mutable_tensortype();
    tensor->set_datatype(dtype);
    tensor->set_rank(int64_t(dims.size()));
    tensor->clear_dimensions();
    for (int64_t d : dims) tensor->add_dimensions()->mutable_constant()->set_size(uint64_t(d));
  };
  for (auto& op : *block.mutable_operations()) {
    if (op.type() == "const") set_type((*op.mutable_attributes())["val"].mutable_type());
    set_type(op.mutable_outputs(0)->mutable_type());
  }
  blocks[key] = block;
  MemorySink sink("weight.bin");
  blob::BlobWriter writer(sink);
  writer.append_bytes(blob_dtype, storage, 0);
  return {testing::tiny_manifest(), model.SerializeAsString(), sink.bytes()};
}

testing::PackageParts fp16_package(int opset, const std::vector<float>& values,
                                   const std::vector<int64_t>& dims = {4, 4}) {
  std::vector<std::byte> storage(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t h = fp16_of(values[i]);
    std::memcpy(&storage[2 * i], &h, 2);
  }
  return package(opset, M::FLOAT16, blob::BlobDType::Float16, storage, dims);
}

testing::PackageParts int8_package(int opset, const std::vector<int>& values) {
  std::vector<std::byte> storage(values.size());
  for (size_t i = 0; i < values.size(); ++i) storage[i] = std::byte(uint8_t(int8_t(values[i])));
  return package(opset, M::INT8, blob::BlobDType::Int8, storage);
}

std::vector<float> ramp() {
  std::vector<float> v(16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) - 7.5f;
  return v;
}

struct Outcome {
  std::optional<std::string> error;
  std::vector<bool> compressed;
  std::vector<std::string> reasons;  // of the weights left dense
};

void add(Outcome& o, const WeightOutcome& w) {
  o.compressed.push_back(w.compressed);
  o.reasons.push_back(w.compressed ? "" : w.reason);
}

Outcome plan_of(const std::string& in, const RewriteOptions& options) {
  Outcome o;
  try {
    for (const auto& w : plan_package(in, options).weights) add(o, w.outcome);
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

Outcome run_of(const std::string& in, const std::string& out, const RewriteOptions& options) {
  Outcome o;
  try {
    for (const auto& w : rewrite_package(in, out, options).weights) add(o, w);
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

// Plans and runs `config` on `parts`; the plan must refuse exactly when the run does, with the
// same message, and leave a weight dense only where the run does, with the same reason. Returns
// the run's outcome.
Outcome plan_matches_run_at(const std::string& in, const std::string& out,
                            const std::string& config_yaml, bool joint, Outcome* planned) {
  RewriteOptions options;
  options.steps = {step_from_config_text(config_yaml, "config")};
  options.steps[0].joint_compression = joint;
  const Outcome plan = plan_of(in, options);
  const Outcome run = run_of(in, out, options);
  if (planned) *planned = plan;
  EXPECT_EQ(plan.error, run.error) << config_yaml;
  if (!run.error) {
    // A weight the kernel skips for its values alone may be planned as compressed; the ones
    // the run compresses are all planned, and the plan's skips are the run's.
    EXPECT_EQ(plan.compressed.size(), run.compressed.size());
    for (size_t i = 0; i < run.compressed.size() && i < plan.compressed.size(); ++i) {
      if (run.compressed[i]) {
        EXPECT_TRUE(plan.compressed[i]) << i;
      }
      if (!plan.compressed[i]) {
        EXPECT_FALSE(run.compressed[i]) << i;
        EXPECT_EQ(plan.reasons[i], run.reasons[i]) << i;
      }
    }
  }
  return run;
}

// plan_matches_run_at on `parts` written to a fresh folder.
Outcome plan_matches_run(const testing::PackageParts& parts, const std::string& config_yaml,
                         bool joint = false, Outcome* planned = nullptr) {
  testing::TempDir dir;
  const std::string in = testing::write_package_dir(dir.path(), "in", parts);
  return plan_matches_run_at(in, dir / "out.mlpackage", config_yaml, joint, planned);
}

const char* kVectorScale =
    "config_type: OpPalettizerConfig\n"
    "global_config:\n  mode: kmeans\n  nbits: 2\n  cluster_dim: 2\n"
    "  enable_per_channel_scale: true\n  weight_threshold: 0\n";

TEST(PlanRefusal, VectorWithPerChannelScaleRefusedOnIos18AsTheRun) {
  const Outcome run = plan_matches_run(fp16_package(8, ramp()), kVectorScale);
  ASSERT_TRUE(run.error);
  EXPECT_NE(run.error->find("vector palettization (cluster_dim 2) with enable_per_channel_scale "
                            "cannot be written in an iOS18 program"),
            std::string::npos)
      << *run.error;
  EXPECT_NE(run.error->find("op \"w\""), std::string::npos) << *run.error;
}

TEST(PlanRefusal, VectorWithPerChannelScalePlannedOnIos26) {
  const Outcome run = plan_matches_run(fp16_package(9, ramp()), kVectorScale);
  EXPECT_FALSE(run.error) << *run.error;
  EXPECT_EQ(run.compressed, std::vector<bool>{true});
}

TEST(PlanRefusal, VectorWithPerChannelScaleFollowsTheKernelSkips) {
  // Channels (4) not divisible by the group size (3): skipped, so nothing fails.
  const std::string grouped =
      std::string(kVectorScale) + "  granularity: per_grouped_channel\n  group_size: 3\n";
  EXPECT_EQ(plan_matches_run(fp16_package(8, ramp()), grouped).compressed,
            std::vector<bool>{false});
  // Groups of 2 channels: divisible by cluster_dim 2 (palettized, then refused), not by 4
  // (skipped).
  const std::string pairs =
      std::string(kVectorScale) + "  granularity: per_grouped_channel\n  group_size: 2\n";
  EXPECT_TRUE(plan_matches_run(fp16_package(8, ramp()), pairs).error);
  std::string by4 = pairs;
  by4.replace(by4.find("cluster_dim: 2"), 14, "cluster_dim: 4");
  EXPECT_EQ(plan_matches_run(fp16_package(8, ramp()), by4).compressed, std::vector<bool>{false});
  // NaN or inf values: skipped by kmeans; unique mode skips NaN only.
  for (float bad : {std::nanf(""), INFINITY}) {
    auto values = ramp();
    values[5] = bad;
    const auto parts = fp16_package(8, values);
    Outcome plan;
    const Outcome k = plan_matches_run(parts, kVectorScale, false, &plan);
    EXPECT_EQ(k.compressed, std::vector<bool>{false}) << k.error.value_or("");
    EXPECT_EQ(plan.compressed, k.compressed);  // planned as skipped, with the run's reason
    const std::string unique =
        "config_type: OpPalettizerConfig\n"
        "global_config:\n  mode: unique\n  cluster_dim: 2\n"
        "  enable_per_channel_scale: true\n  weight_threshold: 0\n";
    const Outcome u = plan_matches_run(parts, unique);
    EXPECT_EQ(bool(u.error), std::isinf(bad)) << bad;
  }
}

TEST(PlanRefusal, KernelHardErrorsRefusedAsTheRun) {
  const auto parts = fp16_package(8, ramp());
  EXPECT_TRUE(plan_matches_run(parts,
                               "config_type: OpPalettizerConfig\n"
                               "global_config:\n  mode: uniform\n  nbits: 2\n"
                               "  cluster_dim: 2\n  weight_threshold: 0\n")
                  .error);
  EXPECT_TRUE(plan_matches_run(parts,
                               "config_type: OpPalettizerConfig\n"
                               "global_config:\n  mode: kmeans\n  nbits: 2\n"
                               "  channel_axis: 5\n  weight_threshold: 0\n")
                  .error);
  EXPECT_TRUE(plan_matches_run(parts,
                               "config_type: OpLinearQuantizerConfig\n"
                               "global_config:\n  granularity: per_block\n"
                               "  block_size: [2, 2, 2]\n  weight_threshold: 0\n")
                  .error);
}

TEST(PlanRefusal, IntegerConstsRefusedAsTheRun) {
  std::vector<std::byte> codes(16);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = std::byte(uint8_t(i * 3));
  const auto parts = package(8, M::INT8, blob::BlobDType::Int8, codes);
  EXPECT_TRUE(plan_matches_run(parts,
                               "config_type: OpPalettizerConfig\n"
                               "global_config:\n  mode: kmeans\n  nbits: 2\n"
                               "  enable_per_channel_scale: true\n  weight_threshold: 0\n")
                  .error);
  EXPECT_TRUE(plan_matches_run(parts,
                               "config_type: OpLinearQuantizerConfig\n"
                               "global_config:\n  weight_threshold: 0\n")
                  .error);
  std::vector<std::byte> mask(16, std::byte{1});
  mask[3] = std::byte{0};
  EXPECT_FALSE(plan_matches_run(package(8, M::INT8, blob::BlobDType::Int8, mask),
                                "config_type: OpLinearQuantizerConfig\n"
                                "global_config:\n  weight_threshold: 0\n")
                   .error);
}

TEST(PlanRefusal, JointStepBelowIos18RefusedAsTheRun) {
  const std::string palettize =
      "config_type: OpPalettizerConfig\n"
      "global_config:\n  mode: kmeans\n  nbits: 2\n  weight_threshold: 0\n";
  const Outcome ios16 = plan_matches_run(fp16_package(6, ramp()), palettize, true);
  ASSERT_TRUE(ios16.error);
  EXPECT_NE(ios16.error->find("Joint compression is only supported since iOS18"), std::string::npos)
      << *ios16.error;
  EXPECT_FALSE(plan_matches_run(fp16_package(8, ramp()), palettize, true).error);
}

// 16 values cycling through `k` distinct ones.
std::vector<float> with_distinct(size_t k) {
  std::vector<float> v(16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i % k) - 2.0f;
  return v;
}

const char* kUnique =
    "config_type: OpPalettizerConfig\n"
    "global_config:\n  mode: unique\n  weight_threshold: 0\n";

TEST(PlanRefusal, UniqueModeNeedingThreeBitsRefusedBeforeIos18AsTheRun) {
  // Unique mode takes 3 bits for 5 to 8 distinct values; an iOS16 LUT cannot have 8 entries.
  for (size_t k : {4, 5, 8, 9}) {
    const Outcome run = plan_matches_run(fp16_package(6, with_distinct(k)), kUnique);
    EXPECT_EQ(bool(run.error), k == 5 || k == 8) << k;
    if (run.error) {
      EXPECT_NE(run.error->find("unique mode needs 3 bits here, which needs iOS18"),
                std::string::npos)
          << *run.error;
    }
  }
  // -0 and +0 are one value: 4 values and a -0 beside the 0 stay at 2 bits.
  auto signed_zero = with_distinct(4);
  signed_zero[6] = -0.0f;
  EXPECT_FALSE(plan_matches_run(fp16_package(6, signed_zero), kUnique).error);
  // iOS18 has 3-bit LUTs.
  EXPECT_FALSE(plan_matches_run(fp16_package(8, with_distinct(6)), kUnique).error);
  // int8 consts: the same rule.
  std::vector<int> six(16);
  for (size_t i = 0; i < six.size(); ++i) six[i] = int(i % 6) - 3;
  EXPECT_TRUE(plan_matches_run(int8_package(6, six), kUnique).error);
  // A NaN, or more than 256 distinct values: the kernel skips the weight, so nothing fails, and
  // the plan shows the run's reason.
  auto nan = with_distinct(6);
  nan[3] = std::nanf("");
  Outcome plan;
  Outcome run = plan_matches_run(fp16_package(6, nan), kUnique, false, &plan);
  EXPECT_EQ(run.compressed, std::vector<bool>{false});
  EXPECT_EQ(plan.reasons, run.reasons);
  std::vector<float> many(300);
  for (size_t i = 0; i < many.size(); ++i) many[i] = float(i) * 0.5f - 75.0f;
  run = plan_matches_run(fp16_package(6, many, {4, 75}), kUnique, false, &plan);
  EXPECT_EQ(run.compressed, std::vector<bool>{false});
  EXPECT_EQ(plan.reasons, run.reasons);
}

TEST(PlanRefusal, IntegerUniformIndexOutsideTheSubByteRangeRefusedAsTheRun) {
  const std::string uniform =
      "config_type: OpPalettizerConfig\n"
      "global_config:\n  mode: uniform\n  nbits: 2\n  weight_threshold: 0\n";
  // int8 values 195 apart: numpy's int8 `max - min` and `w - min` wrap around, and an index
  // leaves the 2-bit range.
  std::vector<int> wide(16);
  for (size_t i = 0; i < wide.size(); ++i) wide[i] = -100 + int(i) * 13;
  const auto parts = int8_package(8, wide);
  const Outcome run = plan_matches_run(parts, uniform);
  ASSERT_TRUE(run.error);
  EXPECT_NE(run.error->find("is outside allowed subbyte datatype range [0, 3]"), std::string::npos)
      << *run.error;
  // A joint step casts the values to int32 first, so nothing wraps.
  EXPECT_FALSE(plan_matches_run(parts, uniform, true).error);
  std::vector<int> narrow(16);
  for (size_t i = 0; i < narrow.size(); ++i) narrow[i] = int(i) - 8;
  EXPECT_FALSE(plan_matches_run(int8_package(8, narrow), uniform).error);
}

TEST(PlanRefusal, PruneHardErrorsRefusedAsTheRun) {
  // numpy's fp16 percentile index arithmetic for 2052 values at q = 99.95 points past the end.
  std::vector<float> values(2052);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i % 64) - 32.0f;
  const auto parts = fp16_package(8, values, {4, 513});
  const std::string sparsity =
      "config_type: OpMagnitudePrunerConfig\n"
      "global_config:\n  target_sparsity: 0.9995\n  weight_threshold: 0\n";
  const Outcome run = plan_matches_run(parts, sparsity);
  ASSERT_TRUE(run.error);
  EXPECT_NE(run.error->find("np.percentile raises IndexError for 2052 fp16 values"),
            std::string::npos)
      << *run.error;
  std::string half = sparsity;
  half.replace(half.find("0.9995"), 6, "0.5");
  EXPECT_FALSE(plan_matches_run(parts, half).error);
  // Structural pruning of a weight of rank 6 (named, so not only conv / linear weights).
  const Outcome rank6 =
      plan_matches_run(fp16_package(8, ramp(), {1, 1, 1, 1, 2, 8}),
                       "config_type: OpMagnitudePrunerConfig\n"
                       "op_name_configs:\n  w: {n_m_ratio: [1, 2], weight_threshold: 0}\n");
  ASSERT_TRUE(rank6.error);
  EXPECT_NE(rank6.error->find("structural pruning only supports weights of rank"),
            std::string::npos)
      << *rank6.error;
}

TEST(PlanRefusal, ShapeSkipsPlannedAsSkippedWithTheRunsReason) {
  const auto parts = fp16_package(8, ramp());
  const std::string palettize =
      "config_type: OpPalettizerConfig\n"
      "global_config:\n  mode: kmeans\n  nbits: 2\n  weight_threshold: 0\n";
  for (const std::string& config : {
           // 4 channels: not divisible by the group size 3, nor by cluster_dim 3.
           palettize + "  granularity: per_grouped_channel\n  group_size: 3\n",
           palettize + "  cluster_dim: 4\n  granularity: per_grouped_channel\n  group_size: 2\n",
           // A block or an n:m group of more than half the 4 channels.
           std::string("config_type: OpMagnitudePrunerConfig\n"
                       "op_name_configs:\n"
                       "  w: {target_sparsity: 0.5, block_size: 4, weight_threshold: 0}\n"),
           std::string("config_type: OpMagnitudePrunerConfig\n"
                       "op_name_configs:\n  w: {n_m_ratio: [2, 4], weight_threshold: 0}\n"),
           // A quantization block of 3 along an axis of 4.
           std::string("config_type: OpLinearQuantizerConfig\n"
                       "global_config:\n  granularity: per_block\n  block_size: 3\n"
                       "  weight_threshold: 0\n"),
       }) {
    Outcome plan;
    const Outcome run = plan_matches_run(parts, config, false, &plan);
    EXPECT_FALSE(run.error) << config;
    EXPECT_EQ(run.compressed, std::vector<bool>{false}) << config;
    EXPECT_EQ(plan.compressed, run.compressed) << config;
    EXPECT_EQ(plan.reasons, run.reasons) << config;
  }
  // int8 masks are skipped by quantization, and planned so.
  std::vector<int> mask(16, 1);
  mask[3] = 0;
  Outcome plan;
  const Outcome run = plan_matches_run(int8_package(8, mask),
                                       "config_type: OpLinearQuantizerConfig\n"
                                       "global_config:\n  weight_threshold: 0\n",
                                       false, &plan);
  EXPECT_EQ(run.compressed, std::vector<bool>{false});
  EXPECT_EQ(plan.reasons, run.reasons);
}

// `parts` compressed by `config` (one step, not joint) into `<dir>/<name>.mlpackage`.
std::string compressed_once(const testing::TempDir& dir, const std::string& name,
                            const testing::PackageParts& parts, const std::string& config) {
  const std::string in = testing::write_package_dir(dir.path(), name + "-dense", parts);
  RewriteOptions options;
  options.steps = {step_from_config_text(config, "config")};
  const std::string out = dir / (name + ".mlpackage");
  rewrite_package(in, out, options);
  return out;
}

TEST(PlanRefusal, JointStepOnExistingChainsPlannedAsTheRun) {
  testing::TempDir dir;
  const auto parts = fp16_package(8, ramp());
  const std::string palettize =
      "config_type: OpPalettizerConfig\n"
      "global_config:\n  mode: kmeans\n  nbits: 2\n  weight_threshold: 0\n";
  const std::string prune =
      "config_type: OpMagnitudePrunerConfig\n"
      "global_config:\n  target_sparsity: 0.5\n  weight_threshold: 0\n";
  // Pruning a vector-palettized weight jointly: coremltools fails, so the run refuses.
  const std::string vectors =
      compressed_once(dir, "vectors", parts, palettize + "  cluster_dim: 2\n");
  Outcome plan;
  Outcome run = plan_matches_run_at(vectors, dir / "out1.mlpackage", prune, true, &plan);
  ASSERT_TRUE(run.error);
  EXPECT_NE(
      run.error->find("pruning a vector-palettized weight (cluster_dim > 1) is not supported"),
      std::string::npos)
      << *run.error;
  // A scalar palettized weight: pruned jointly (planned as compressed), not palettized again
  // (left as it is, with the run's reason).
  const std::string scalar = compressed_once(dir, "scalar", parts, palettize);
  run = plan_matches_run_at(scalar, dir / "out2.mlpackage", prune, true, &plan);
  EXPECT_FALSE(run.error) << *run.error;
  EXPECT_EQ(run.compressed, std::vector<bool>{true});
  EXPECT_EQ(plan.compressed, run.compressed);
  run = plan_matches_run_at(scalar, dir / "out3.mlpackage", palettize, true, &plan);
  EXPECT_EQ(run.compressed, std::vector<bool>{false});
  EXPECT_EQ(plan.compressed, run.compressed);
  EXPECT_EQ(plan.reasons, run.reasons);
  // A joint prune step leaves weights not compressed yet as they are.
  run = plan_matches_run(parts, prune, true, &plan);
  EXPECT_EQ(run.compressed, std::vector<bool>{false});
  EXPECT_EQ(plan.compressed, run.compressed);
  EXPECT_EQ(plan.reasons, run.reasons);
}

}  // namespace
}  // namespace mlpress
