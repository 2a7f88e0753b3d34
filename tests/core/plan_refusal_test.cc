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

// tiny_model's const "w" [4, 4] (relu its consumer) of `dtype` holding `storage`, in a program
// of opset CoreML<opset>.
testing::PackageParts package(int opset, M::DataType dtype, blob::BlobDType blob_dtype,
                              const std::vector<std::byte>& storage) {
  auto model = testing::tiny_model();
  model.set_specificationversion(opset + 1);
  auto& function = model.mutable_mlprogram()->mutable_functions()->at("main");
  const std::string key = "CoreML" + std::to_string(opset);
  auto& blocks = *function.mutable_block_specializations();
  M::Block block = blocks.at("CoreML6");
  blocks.erase("CoreML6");
  function.set_opset(key);
  for (auto& op : *block.mutable_operations()) {
    auto* type = op.type() == "const" ? (*op.mutable_attributes())["val"].mutable_type() : nullptr;
    if (type) type->mutable_tensortype()->set_datatype(dtype);
    op.mutable_outputs(0)->mutable_type()->mutable_tensortype()->set_datatype(dtype);
  }
  blocks[key] = block;
  MemorySink sink("weight.bin");
  blob::BlobWriter writer(sink);
  writer.append_bytes(blob_dtype, storage, 0);
  return {testing::tiny_manifest(), model.SerializeAsString(), sink.bytes()};
}

testing::PackageParts fp16_package(int opset, const std::vector<float>& values) {
  std::vector<std::byte> storage(values.size() * 2);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t h = fp16_of(values[i]);
    std::memcpy(&storage[2 * i], &h, 2);
  }
  return package(opset, M::FLOAT16, blob::BlobDType::Float16, storage);
}

std::vector<float> ramp() {
  std::vector<float> v(16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) - 7.5f;
  return v;
}

struct Outcome {
  std::optional<std::string> error;
  std::vector<bool> compressed;
};

Outcome plan_of(const std::string& in, const RewriteOptions& options) {
  Outcome o;
  try {
    for (const auto& w : plan_package(in, options).weights)
      o.compressed.push_back(w.outcome.compressed);
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

Outcome run_of(const std::string& in, const std::string& out, const RewriteOptions& options) {
  Outcome o;
  try {
    for (const auto& w : rewrite_package(in, out, options).weights)
      o.compressed.push_back(w.compressed);
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

// Plans and runs `config` on `parts`; the plan must refuse exactly when the run does, with the
// same message. Returns the run's outcome.
Outcome plan_matches_run(const testing::PackageParts& parts, const std::string& config_yaml,
                         bool joint = false) {
  testing::TempDir dir;
  const std::string in = testing::write_package_dir(dir.path(), "in", parts);
  RewriteOptions options;
  options.steps = {step_from_config_text(config_yaml, "config")};
  options.steps[0].joint_compression = joint;
  const Outcome plan = plan_of(in, options);
  const Outcome run = run_of(in, dir / "out.mlpackage", options);
  EXPECT_EQ(plan.error, run.error) << config_yaml;
  if (!run.error) {
    // A weight the kernel skips is planned as compressed (its reason needs the values); the
    // ones the run compresses are all planned.
    EXPECT_EQ(plan.compressed.size(), run.compressed.size());
    for (size_t i = 0; i < run.compressed.size() && i < plan.compressed.size(); ++i) {
      if (run.compressed[i]) {
        EXPECT_TRUE(plan.compressed[i]) << i;
      }
    }
  }
  return run;
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
    const Outcome k = plan_matches_run(parts, kVectorScale);
    EXPECT_EQ(k.compressed, std::vector<bool>{false}) << k.error.value_or("");
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

}  // namespace
}  // namespace mlpress
