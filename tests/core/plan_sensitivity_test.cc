// Sensitivity analysis on a small iOS18 package built here: the ranking equals a brute-force
// recomputation, and the stored bytes equal the sizes worked out by hand from the op layouts
// (FORMAT.md §6).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/blob/blob_writer.h"
#include "core/compress/fp16_convert.h"
#include "core/compress/palettize.h"
#include "core/compress/prune.h"
#include "core/io/byte_source.h"
#include "core/plan/sensitivity.h"
#include "tests/core/package_builder.h"

namespace mlpress::plan {
namespace {

namespace M = CoreML::Specification::MILSpec;
constexpr uint64_t kRows = 32, kCols = 64;

void set_type(M::ValueType* type, M::DataType dtype, const std::vector<uint64_t>& dims) {
  auto* tensor = type->mutable_tensortype();
  tensor->set_datatype(dtype);
  tensor->set_rank(static_cast<int64_t>(dims.size()));
  for (uint64_t d : dims) tensor->add_dimensions()->mutable_constant()->set_size(d);
}

M::Value name_value(const std::string& s) {
  M::Value value;
  set_type(value.mutable_type(), M::STRING, {});
  value.mutable_immediatevalue()->mutable_tensor()->mutable_strings()->add_values(s);
  return value;
}

// Weights of different shapes of distribution, so that their 4-bit errors differ.
std::vector<std::vector<uint16_t>> make_weights() {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0, 1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<std::vector<uint16_t>> weights(5, std::vector<uint16_t>(kRows * kCols));
  for (size_t i = 0; i < kRows * kCols; ++i) {
    const float n = normal(rng);
    weights[0][i] = compress::float_to_fp16(uniform(rng));
    weights[1][i] = compress::float_to_fp16(n);
    weights[2][i] = compress::float_to_fp16(n * n * n);                             // heavy tails
    weights[3][i] = compress::float_to_fp16(std::round(uniform(rng) * 3) * 0.25f);  // 7 values
    weights[4][i] = compress::float_to_fp16(std::exp(2 * normal(rng)) * (n < 0 ? -1 : 1));
  }
  return weights;
}

// An iOS18 program: x -> linear(w0) -> linear(w1) -> ... ; every weight in weight.bin.
std::string write_package(const testing::TempDir& dir,
                          const std::vector<std::vector<uint16_t>>& weights) {
  MemorySink sink("weight.bin");
  blob::BlobWriter writer(sink);
  CoreML::Specification::Model model;
  model.set_specificationversion(9);
  auto* program = model.mutable_mlprogram();
  program->set_version(1);
  auto& function = (*program->mutable_functions())["main"];
  function.set_opset("CoreML8");
  auto* input = function.add_inputs();
  input->set_name("x");
  set_type(input->mutable_type(), M::FLOAT16, {1, kCols});
  auto& block = (*function.mutable_block_specializations())["CoreML8"];
  std::string previous = "x";
  for (size_t w = 0; w < weights.size(); ++w) {
    const std::string name = "w" + std::to_string(w);
    const uint64_t offset =
        writer.append_bytes(blob::BlobDType::Float16, std::as_bytes(std::span(weights[w])), 0);
    auto* c = block.add_operations();
    c->set_type("const");
    (*c->mutable_attributes())["name"] = name_value(name);
    M::Value val;
    set_type(val.mutable_type(), M::FLOAT16, {kRows, kCols});
    val.mutable_blobfilevalue()->set_filename("@model_path/weights/weight.bin");
    val.mutable_blobfilevalue()->set_offset(offset);
    (*c->mutable_attributes())["val"] = val;
    auto* c_out = c->add_outputs();
    c_out->set_name(name);
    set_type(c_out->mutable_type(), M::FLOAT16, {kRows, kCols});
    // The shapes do not chain (nothing runs the model); only the weight's consumer matters.
    auto* linear = block.add_operations();
    linear->set_type("linear");
    const std::string out = "y" + std::to_string(w);
    (*linear->mutable_attributes())["name"] = name_value(out);
    (*linear->mutable_inputs())["x"].add_arguments()->set_name(previous);
    (*linear->mutable_inputs())["weight"].add_arguments()->set_name(name);
    auto* l_out = linear->add_outputs();
    l_out->set_name(out);
    set_type(l_out->mutable_type(), M::FLOAT16, {1, kRows});
    previous = out;
  }
  block.add_outputs(previous);
  return testing::write_package_dir(
      dir.path(), "model", {testing::tiny_manifest(), model.SerializeAsString(), sink.bytes()});
}

TEST(PlanSensitivity, RankingEqualsBruteForce) {
  testing::TempDir dir;
  const auto weights = make_weights();
  SensitivityOptions options;
  options.weight_threshold = 1000;
  const SensitivityReport report = analyze_sensitivity(write_package(dir, weights), options);
  ASSERT_EQ(report.weights.size(), weights.size());

  // Brute force: each weight palettized at 4 bits, decoded, its relative error summed here.
  std::vector<std::pair<double, std::string>> expected;
  for (size_t w = 0; w < weights.size(); ++w) {
    const auto view = compress::TensorView::fp16(weights[w], {kRows, kCols});
    compress::PalettizeSpec spec;
    spec.nbits = 4;
    const auto decoded =
        compress::depalettize(std::get<compress::PalettizeResult>(compress::palettize(view, spec)));
    double num = 0, den = 0;
    for (size_t i = 0; i < decoded.size(); ++i) {
      const double v = compress::fp16_to_float(weights[w][i]);
      num += (v - decoded[i]) * (v - decoded[i]);
      den += v * v;
    }
    expected.emplace_back(std::sqrt(num / den), "w" + std::to_string(w));
  }
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  const auto ranking = sensitivity_ranking(report);
  for (size_t r = 0; r < ranking.size(); ++r) {
    const auto& got = report.weights[ranking[r]];
    EXPECT_EQ(got.op_name, expected[r].second) << "rank " << r;
    EXPECT_NEAR(got.sensitivity, expected[r].first, 1e-12) << "rank " << r;
  }
  EXPECT_EQ(expected.back().second, "w3");  // 7 distinct values: 4 bits are exact
  EXPECT_EQ(expected.back().first, 0);
}

TEST(PlanSensitivity, StoredBytesFollowTheIos18Layouts) {
  testing::TempDir dir;
  SensitivityOptions options;
  options.weight_threshold = 1000;
  const SensitivityReport report = analyze_sensitivity(write_package(dir, make_weights()), options);
  const auto& w = report.weights.front();
  auto bytes = [&](const std::string& id) { return w.choices[report.choice_index(id)].bytes; };
  auto slot = [](uint64_t data) { return (64 + data + 63) / 64 * 64; };
  const uint64_t n = kRows * kCols;
  // dense: the fp16 values.
  EXPECT_EQ(bytes("dense"), (StoredBytes{2 * n, 2 * n, slot(2 * n)}));
  // int8 per channel: int8 data, one fp16 scale per row; symmetric: no offset.
  EXPECT_EQ(bytes("int8_channel"),
            (StoredBytes{n + 2 * kRows, n + 2 * kRows, slot(n) + slot(2 * kRows)}));
  // int4 per block of 32: packed nibbles, scale [32, 2].
  EXPECT_EQ(bytes("int4_block32"), (StoredBytes{n / 2 + 2 * kRows * 2, n / 2 + 2 * kRows * 2,
                                                slot(n / 2) + slot(4 * kRows)}));
  // 4-bit LUT per tensor: uint4 indices, a 16-entry fp16 LUT.
  EXPECT_EQ(bytes("pal4_tensor"), (StoredBytes{n / 2 + 32, n / 2 + 32, slot(n / 2) + slot(32)}));
  // 2-bit: the 4-entry LUT has fewer than 10 elements, so it is stored inline.
  EXPECT_EQ(bytes("pal2_tensor"), (StoredBytes{n / 4 + 8, n / 4, slot(n / 4)}));
  // grouped by 16 output channels: two LUTs of 8 entries (16 elements: in the blob).
  EXPECT_EQ(bytes("pal3_group16"),
            (StoredBytes{3 * n / 8 + 32, 3 * n / 8 + 32, slot(3 * n / 8) + slot(32)}));
  // pruning 50%: a uint1 mask, then the nonzero values (fp16 ties at the threshold and zeros
  // in the source make their count the kernel's to say).
  const auto weights = make_weights();
  const auto pruned = std::get<compress::PruneResult>(compress::prune_magnitude(
      compress::TensorView::fp16(weights[0], {kRows, kCols}), {0.5, {}, {}, {}}));
  const uint64_t nonzero = 2 * pruned.nonzero_count;
  EXPECT_GE(pruned.nonzero_count, n / 2 - 8);
  EXPECT_EQ(bytes("prune50"),
            (StoredBytes{n / 8 + nonzero, n / 8 + nonzero, slot(n / 8) + slot(nonzero)}));
  EXPECT_EQ(report.fixed_file_bytes, 64u);  // the header: every blob is a candidate's
  EXPECT_EQ(report.weight_file_bytes, 64 + 5 * slot(2 * n));
}

}  // namespace
}  // namespace mlpress::plan
