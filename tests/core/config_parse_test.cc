// Config parsing and validation (core/config/config.h): defaults, normalisation, equality,
// and table-driven refusals whose messages name the entry and the field.
#include <gtest/gtest.h>

#include <string>

#include "core/config/config.h"
#include "core/io/error.h"

namespace mlpress::config {
namespace {

using nlohmann::json;

TEST(ConfigParse, DefaultsMirrorCoremltools) {
  const OpLinearQuantizerConfig q;
  EXPECT_EQ(q.mode, "LINEAR_SYMMETRIC");
  EXPECT_EQ(q.dtype, "int8");
  EXPECT_EQ(q.nbits(), 8);
  EXPECT_TRUE(q.is_signed());
  EXPECT_EQ(q.granularity, Granularity::per_channel);
  EXPECT_EQ(std::get<int64_t>(q.block_size), 32);
  EXPECT_EQ(q.weight_threshold, 2048);
  const OpPalettizerConfig p;
  EXPECT_EQ(p.mode, "KMEANS");
  EXPECT_FALSE(p.nbits.has_value());
  EXPECT_EQ(p.granularity, Granularity::per_tensor);
  EXPECT_EQ(p.group_size, 32);
  EXPECT_EQ(p.cluster_dim, 1);
  EXPECT_EQ(p.num_kmeans_workers, 1);
  const OpThresholdPrunerConfig t;
  EXPECT_EQ(t.threshold, 1e-12);
  EXPECT_EQ(t.minimum_sparsity_percentile, 0.5);
  const OpMagnitudePrunerConfig m;
  EXPECT_FALSE(m.target_sparsity || m.block_size || m.n_m_ratio || m.dim);
  EXPECT_EQ(static_cast<int>(Granularity::per_block), 4);
  const OptimizationConfig empty;
  EXPECT_FALSE(empty.global_config.has_value());
}

TEST(ConfigParse, NormalisesLikeCoremltools) {
  const auto c = OptimizationConfig::from_dict(json::parse(R"({
    "config_type": "OpLinearQuantizerConfig",
    "global_config": {"mode": "linear", "dtype": "uint4", "weight_threshold": "100"},
    "op_type_configs": {"conv": {"config_type": "OpMagnitudePrunerConfig", "n_m_ratio": [3, 4]},
                        "linear": null},
    "op_name_configs": {"w": {"config_type": "OpPalettizerConfig", "mode": "Unique"}}})"));
  const auto& g = std::get<OpLinearQuantizerConfig>(*c.global_config);
  EXPECT_EQ(g.mode, "LINEAR");
  EXPECT_EQ(g.nbits(), 4);
  EXPECT_FALSE(g.is_signed());
  EXPECT_EQ(g.weight_threshold, 100);
  const auto& conv = std::get<OpMagnitudePrunerConfig>(*c.op_type_configs.at("conv"));
  EXPECT_EQ(conv.n_m_ratio, std::make_pair(int64_t{3}, int64_t{4}));
  EXPECT_EQ(conv.dim, 1);                            // the n:m default
  ASSERT_EQ(c.op_type_configs.count("linear"), 1u);  // present, None
  EXPECT_FALSE(c.op_type_configs.at("linear").has_value());
  EXPECT_EQ(std::get<OpPalettizerConfig>(*c.op_name_configs.at("w")).mode, "UNIQUE");
  EXPECT_EQ(c.op_name_configs.count("absent"), 0u);
}

TEST(ConfigParse, EqualityIsFieldWise) {
  const auto a = OptimizationConfig::from_json_text(
      R"({"config_type": "OpPalettizerConfig", "global_config": {"nbits": 4, "mode": "kmeans"}})");
  const auto b = OptimizationConfig::from_yaml(
      "config_type: OpPalettizerConfig\nglobal_config: {nbits: 4.0, mode: KMEANS}\n");
  EXPECT_EQ(a, b);
  EXPECT_EQ(*a.global_config, *b.global_config);
  const auto c = OptimizationConfig::from_yaml(
      "config_type: OpPalettizerConfig\nglobal_config: {nbits: 4, weight_threshold: 10}\n");
  EXPECT_NE(*a.global_config, *c.global_config);
  // Different classes are never equal; None equals None.
  EXPECT_NE(MaybeOpConfig(OpThresholdPrunerConfig{}), MaybeOpConfig(OpLinearQuantizerConfig{}));
  EXPECT_EQ(MaybeOpConfig(), MaybeOpConfig());
  EXPECT_EQ(to_repr(a.global_config),
            "OpPalettizerConfig(channel_axis=None, cluster_dim=1, enable_per_channel_scale=False, "
            "granularity='per_tensor', group_size=32, mode='KMEANS', nbits=4, "
            "num_kmeans_workers=1, weight_threshold=2048)");
}

TEST(ConfigParse, SetOpTypeRefusesStructuralPrunerOutsideConvLinear) {
  OptimizationConfig c;
  OpMagnitudePrunerConfig nm;
  nm.n_m_ratio = {{1, 2}};
  OpConfig cfg = nm;
  validate(cfg);
  EXPECT_EQ(std::get<OpMagnitudePrunerConfig>(cfg).dim, 1);
  c.set_op_type("conv", cfg);
  c.set_op_type("linear", cfg);
  c.set_op_name("add_1", cfg);
  c.set_op_type("add", std::nullopt);
  try {
    c.set_op_type("matmul", cfg);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not support op type matmul"), std::string::npos);
  }
  OpConfig unstructured = OpMagnitudePrunerConfig{0.5, {}, {}, {}, 2048};
  c.set_op_type("matmul", unstructured);
  EXPECT_EQ(c.op_type_configs.size(), 4u);
}

TEST(ConfigParse, ValidateRefusesBadValues) {
  OpConfig p = OpPalettizerConfig{};
  EXPECT_THROW(validate(p), Error);  // nbits missing for kmeans
  OpConfig q = OpLinearQuantizerConfig{"LINEAR", "int16"};
  EXPECT_THROW(validate(q), Error);
}

TEST(ConfigParse, CheckConfigForApi) {
  const auto c = OptimizationConfig::from_yaml(
      "config_type: OpThresholdPrunerConfig\nglobal_config: {}\n"
      "op_type_configs: {conv: {config_type: OpMagnitudePrunerConfig, target_sparsity: 0.5}}\n");
  EXPECT_NO_THROW(check_config_for(c, Api::prune_weights));
  try {
    check_config_for(c, Api::linear_quantize_weights);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "linear_quantize_weights only accept OpLinearQuantizerConfig type config. Got "
              "OpThresholdPrunerConfig.");
  }
  EXPECT_THROW(check_config_for(c, Api::palettize_weights), Error);
  EXPECT_NO_THROW(check_config_for(OptimizationConfig{}, Api::palettize_weights));
}

struct BadCase {
  const char* yaml;
  const char* message;  // an exact part of the error
};

class ConfigParseBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigParseBad, MessageNamesEntryAndField) {
  try {
    OptimizationConfig::from_yaml(GetParam().yaml);
    FAIL() << "accepted: " << GetParam().yaml;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().message), std::string::npos)
        << "got: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigParseBad,
    ::testing::Values(
        BadCase{"", "a config must be a mapping"}, BadCase{"[1]", "a config must be a mapping"},
        BadCase{"global_config: {}", "config_type must be provided with type of string."},
        BadCase{"config_type: OpFooConfig", "unknown config_type \"OpFooConfig\""},
        BadCase{"config_type: OpLinearQuantizerConfig\nop_name_config: {}",
                "Invalid key op_name_config to construct an OptimizationConfig object. Supported "
                "keys are (config_type, global_config, op_name_configs, op_type_configs)."},
        BadCase{"config_type: OpLinearQuantizerConfig\nop_type_configs: [conv]",
                "op_type_configs must be type of dict. Got list"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: 5",
                "global_config: expected a mapping of config parameters or null, got int 5"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {mode: fast}",
                "global_config (OpLinearQuantizerConfig): Only mode ('LINEAR_SYMMETRIC', "
                "'LINEAR') supported for weight affine quantization. Got mode: \"fast\"."},
        BadCase{"config_type: OpLinearQuantizerConfig\nop_type_configs: {conv: {dtype: int3}}",
                "op_type_configs[\"conv\"] (OpLinearQuantizerConfig): Invalid dtype int3. Only "
                "support int8/uint8/int4/uint4."},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {dtype: fp16}",
                "Invalid dtype. Should be int4/8 or uint4/8, but got fp16"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {granularity: "
                "per_grouped_channel}",
                "\"granularity\" must be one of (per_tensor, per_channel, per_block), but got "
                "per_grouped_channel"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {granularity: blocky}",
                "Invalid granularity=blocky"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {block_size: 1.5}",
                "\"block_size\" must be int or list/tuple of int. Got float 1.5"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {block_size: [1, -2]}",
                "All values in block_size must be non-negative values."},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: -5}",
                "\"weight_threshold\" must be a non-negative integer. Got -5."},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: 1e3}",
                "\"weight_threshold\" must be an integer: invalid literal for int() with base "
                "10: '1e3'"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {nbits: 4, zz: 1}",
                "Extra fields in constructor for OpLinearQuantizerConfig: nbits, zz (allowed: "
                "mode, dtype, granularity, block_size, weight_threshold)"},
        BadCase{"config_type: OpPalettizerConfig\nglobal_config: {}",
                "global_config (OpPalettizerConfig): \"nbits\" must be provided for kmeans mode"},
        BadCase{"config_type: OpPalettizerConfig\nglobal_config: {nbits: 5}",
                "Invalid value of \"nbits\" (5) for palettization. Supported \"nbits\" are (1, "
                "2, 3, 4, 6, 8)"},
        BadCase{"config_type: OpPalettizerConfig\nglobal_config: {mode: unique, nbits: 4}",
                "\"nbits\" must NOT be provided for unique mode"},
        BadCase{"config_type: OpPalettizerConfig\nglobal_config: {mode: custom}",
                "a custom lut_function cannot be expressed in a config file"},
        BadCase{"config_type: OpPalettizerConfig\nglobal_config: {nbits: 4, lut_function: f}",
                "a custom lut_function cannot be expressed in a config file"},
        BadCase{"config_type: OpPalettizerConfig\nglobal_config: {nbits: 4, "
                "enable_per_channel_scale: 'false'}",
                "\"enable_per_channel_scale\" must be true or false, got str false"},
        BadCase{"config_type: OpPalettizerConfig\nglobal_config: {nbits: 4, cluster_dim: 0}",
                "\"cluster_dim\" must be >= 1. Got 0."},
        BadCase{"config_type: OpThresholdPrunerConfig\nglobal_config: {threshold: -1}",
                "Invalid value of \"threshold\": -1.0. Needs to be in [0, inf)"},
        BadCase{"config_type: OpThresholdPrunerConfig\nglobal_config: "
                "{minimum_sparsity_percentile: 1.5}",
                "Invalid value of \"minimum_sparsity_percentile\": 1.5. Needs to be in [0, 1]"},
        BadCase{"config_type: OpMagnitudePrunerConfig\nglobal_config: {}",
                "Either \"target_sparsity\" or \"n_m_ratio\" need to be set. They cannot be set "
                "at the same time."},
        BadCase{"config_type: OpMagnitudePrunerConfig\nglobal_config: {n_m_ratio: [4, 3]}",
                "\"n_m_ratio\" must be a tuple of two integers (n, m). n <= m. Got (4, 3)"},
        BadCase{"config_type: OpMagnitudePrunerConfig\nglobal_config: {n_m_ratio: [1]}",
                "\"n_m_ratio\": Not enough values in [1]"},
        BadCase{"config_type: OpMagnitudePrunerConfig\nglobal_config: {target_sparsity: 0.5, "
                "block_size: 1}",
                "\"block_size\" must be an integer > 1. Got 1."},
        BadCase{"config_type: OpMagnitudePrunerConfig\nglobal_config: {target_sparsity: 0.5, "
                "dim: 1}",
                "\"dim\" can only be set along with \"block_size\" or \"n_m_ratio\"."},
        BadCase{"config_type: OpMagnitudePrunerConfig\nop_type_configs: {gather: {n_m_ratio: "
                "[1, 2]}}",
                "op_type_configs[\"gather\"]: block sparsity or n:m pruning does not support op "
                "type gather."},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {config_type: 3}",
                "global_config: \"config_type\" must be a string"},
        BadCase{"config_type: OpLinearQuantizerConfig\nglobal_config: {mode: [a}",
                "YAML line 2, column 25: expected ',' or ']' in a flow sequence"}));

}  // namespace
}  // namespace mlpress::config
