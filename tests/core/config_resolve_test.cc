// Weight resolution (core/config/resolve.h): op_name > op_type > global precedence, None =
// skip, const name vs consumer name, conflicts, the candidate tests with their skip reasons,
// and output/input channel axes per consumer (shared/spec/COMPRESSION.md §1.2, §2).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/config/resolve.h"
#include "core/io/error.h"

namespace mlpress::config {
namespace {

namespace spec = CoreML::Specification::MILSpec;

mil::WeightInfo weight(std::vector<mil::Consumer> consumers, std::vector<uint64_t> dims = {64, 128},
                       int dtype = spec::FLOAT16) {
  mil::WeightInfo w;
  w.function = "main";
  w.name = "w";
  w.op_name = "w";
  w.op_type = "const";
  w.shape.dtype = dtype;
  w.shape.dims = std::move(dims);
  w.consumers = std::move(consumers);
  return w;
}

OptimizationConfig yaml(const char* text) { return OptimizationConfig::from_yaml(text); }

Resolved resolved(const Resolution& r) {
  if (const auto* s = std::get_if<Skipped>(&r)) ADD_FAILURE() << "skipped: " << s->text;
  return std::get<Resolved>(r);
}

Skipped skipped(const Resolution& r) {
  EXPECT_TRUE(std::holds_alternative<Skipped>(r)) << "not skipped";
  return std::get<Skipped>(r);
}

std::string error_of(const OptimizationConfig& c, const mil::WeightInfo& w) {
  try {
    resolve(c, w);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const mil::Consumer kLinear{"linear", "lin_1", "weight"};
const mil::Consumer kConv{"conv", "conv_1", "weight"};

const char* kMixed =
    "config_type: OpLinearQuantizerConfig\n"
    "global_config: {dtype: int8}\n"
    "op_type_configs:\n"
    "  linear: {dtype: int4}\n"
    "  add: null\n"
    "op_name_configs:\n"
    "  lin_1: {mode: linear}\n"
    "  w: {granularity: per_tensor}\n"
    "  skip_me: null\n";

TEST(ConfigResolve, Precedence) {
  const auto c = yaml(kMixed);
  // The const's own name wins over everything.
  {
    const auto& r = resolved(resolve(c, weight({kLinear})));
    EXPECT_EQ(std::get<OpLinearQuantizerConfig>(r.config).granularity, Granularity::per_tensor);
    EXPECT_EQ(r.source.level, ConfigSource::Level::op_name_const);
    EXPECT_EQ(r.source.describe(), "op_name_configs[\"w\"] (the const)");
  }
  auto other = weight({kLinear});
  other.name = other.op_name = "w2";
  {  // then the consumer's name
    const auto& r = resolved(resolve(c, other));
    EXPECT_EQ(std::get<OpLinearQuantizerConfig>(r.config).mode, "LINEAR");
    EXPECT_EQ(r.source.describe(), "op_name_configs[\"lin_1\"]");
  }
  other.consumers = {{"linear", "lin_9", "weight"}};
  {  // then the consumer's type
    const auto& r = resolved(resolve(c, other));
    EXPECT_EQ(std::get<OpLinearQuantizerConfig>(r.config).dtype, "int4");
    EXPECT_EQ(r.source.describe(), "op_type_configs[\"linear\"]");
  }
  other.consumers = {kConv};
  {  // then global
    const auto& r = resolved(resolve(c, other));
    EXPECT_EQ(std::get<OpLinearQuantizerConfig>(r.config).dtype, "int8");
    EXPECT_EQ(r.source.level, ConfigSource::Level::global);
  }
}

TEST(ConfigResolve, NoneSkips) {
  const auto c = yaml(kMixed);
  auto w = weight({{"add", "add_1", "y"}});
  w.name = w.op_name = "w2";
  EXPECT_EQ(skipped(resolve(c, w)).reason, SkipReason::config_none);
  EXPECT_EQ(skipped(resolve(c, w)).text, "config None for op_type add");
  w.op_name = w.name = "skip_me";
  w.consumers = {kLinear};  // the const's None beats the consumer's config
  EXPECT_EQ(skipped(resolve(c, w)).text, "config None for op_name skip_me");
  EXPECT_EQ(skipped(resolve(OptimizationConfig{}, weight({kConv}))).text, "global_config is None");
}

TEST(ConfigResolve, ConflictsBetweenConsumers) {
  const auto c = yaml(kMixed);
  auto w = weight({kConv, {"linear", "lin_9", "weight"}});
  w.name = w.op_name = "shared";
  const std::string e = error_of(c, w);
  EXPECT_NE(e.find("compression config conflict detected between ops conv \"conv_1\" and linear "
                   "\"lin_9\""),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("from op_type_configs[\"linear\"]"), std::string::npos) << e;
  // A config against None conflicts too, even for a rank-1 const that would never be compressed.
  w.consumers = {kConv, {"add", "add_1", "x"}};
  w.shape.dims = {16};
  EXPECT_NE(error_of(c, w).find("has None from op_type_configs[\"add\"]"), std::string::npos);
  // Equal configs from different levels do not conflict.
  const auto same = yaml(
      "config_type: OpLinearQuantizerConfig\nglobal_config: {}\n"
      "op_type_configs: {linear: {dtype: int8, mode: LINEAR_SYMMETRIC}}\n");
  EXPECT_NO_THROW(resolve(same, weight({kConv, kLinear})));
  // Naming the const settles a conflict.
  auto named = yaml(kMixed);
  w.name = w.op_name = "w";
  w.shape.dims = {64, 128};
  EXPECT_NO_THROW(resolve(named, w));
}

TEST(ConfigResolve, HardErrors) {
  const auto c = yaml(
      "config_type: OpLinearQuantizerConfig\nop_type_configs: {const: {}}\n"
      "op_name_configs: {named: {}}\n");
  EXPECT_NE(error_of(c, weight({kConv}))
                .find("const ops cannot be set by the `set_op_type` "
                      "function. Please use `set_global`"),
            std::string::npos);
  auto named = weight({kConv});
  named.name = named.op_name = "named";
  EXPECT_NO_THROW(resolve(c, named));
  const auto none = yaml(
      "config_type: OpLinearQuantizerConfig\nglobal_config: "
      "{weight_threshold: null}\n");
  EXPECT_NE(error_of(none, weight({kConv})).find("weight_threshold cannot be None"),
            std::string::npos);
  const auto blocks = yaml(
      "config_type: OpLinearQuantizerConfig\nglobal_config: "
      "{granularity: per_block, block_size: [1, 0, 0]}\n");
  EXPECT_NE(error_of(blocks, weight({kConv}))
                .find("there are 3 elements in block_size, but "
                      "there are 2 axes"),
            std::string::npos);
}

TEST(ConfigResolve, CandidateSkips) {
  const auto c = yaml("config_type: OpPalettizerConfig\nglobal_config: {nbits: 4}\n");
  struct Case {
    mil::WeightInfo w;
    SkipReason reason;
    const char* text;
  };
  auto compressed = weight({kConv});
  compressed.op_type = "constexpr_lut_to_dense";
  auto payload = weight({{"constexpr_lut_to_dense", "lut_1", "indices"}, kConv});
  auto orphan = weight({});
  orphan.is_block_output = true;
  const std::vector<Case> cases = {
      {weight({kConv}, {32, 64}), SkipReason::below_threshold,
       "below weight_threshold (2048 elements <= 2048)"},
      {weight({kConv}, {4096}), SkipReason::rank, "rank 1"},
      {weight({kConv}, {64, 64}, spec::INT32), SkipReason::dtype, "dtype int32"},
      {weight({kConv}, {3, 3}), SkipReason::too_few_elements, "fewer than 10 elements (9)"},
      {orphan, SkipReason::no_consumers, "not consumed by any op (only a block output)"},
      {compressed, SkipReason::already_compressed,
       "already compressed (constexpr_lut_to_dense output)"},
      {payload, SkipReason::already_compressed,
       "already compressed (feeds constexpr_lut_to_dense \"lut_1\")"},
  };
  for (const auto& k : cases) {
    const Skipped& s = skipped(resolve(c, k.w));
    EXPECT_EQ(s.reason, k.reason) << k.text;
    EXPECT_EQ(s.text, k.text);
  }
  EXPECT_EQ(skip_reason_name(SkipReason::below_threshold), "below_threshold");
  // 2049 elements pass; int8 and uint8 are candidates.
  EXPECT_TRUE(std::holds_alternative<Resolved>(resolve(c, weight({kConv}, {2049, 1}))));
  EXPECT_TRUE(std::holds_alternative<Resolved>(resolve(c, weight({kConv}, {64, 64}, spec::UINT8))));
}

TEST(ConfigResolve, StructuralPruningOnlyForConvLinearWeights) {
  const auto c = yaml(
      "config_type: OpMagnitudePrunerConfig\nglobal_config: {n_m_ratio: [1, 2]}\n"
      "op_name_configs: {named: {n_m_ratio: [1, 2]}}\n");
  EXPECT_TRUE(std::holds_alternative<Resolved>(resolve(c, weight({kConv, kConv}))));
  const Skipped& s = skipped(resolve(c, weight({{"matmul", "mm", "y"}})));
  EXPECT_EQ(s.reason, SkipReason::structural_pruning_op);
  EXPECT_NE(s.text.find("matmul \"mm\" as \"y\""), std::string::npos);
  auto named = weight({{"matmul", "mm", "y"}});
  named.name = named.op_name = "named";
  EXPECT_TRUE(std::holds_alternative<Resolved>(resolve(c, named)));
}

TEST(ConfigResolve, AxesPerConsumer) {
  auto axes = [](std::vector<mil::Consumer> consumers, std::vector<uint64_t> dims,
                 ConsumerFacts facts = {}) {
    return channel_axes(weight(std::move(consumers), std::move(dims)),
                        [facts](const mil::WeightInfo&, const mil::Consumer&) { return facts; });
  };
  using A = ChannelAxes;
  EXPECT_EQ(axes({kConv}, {8, 4, 3, 3}), (A{0, 1, {1}}));
  EXPECT_EQ(axes({kConv}, {64, 8, 3, 3}, {false, false, 4}), (A{0, 1, {4}}));
  EXPECT_EQ(axes({kLinear}, {8, 4}), (A{0, 1}));
  EXPECT_EQ(axes({{"conv_transpose", "ct", "weight"}}, {8, 4, 3, 3}), (A{1, 0, {1}}));
  EXPECT_EQ(axes({{"gather", "g", "x"}}, {100, 16}), (A{0, 1}));
  EXPECT_EQ(axes({}, {100, 16}), (A{0, 1}));
  const mil::Consumer y{"matmul", "mm", "y"}, x{"matmul", "mm", "x"};
  EXPECT_EQ(axes({y}, {2, 16, 32}), (A{2, 1}));
  EXPECT_EQ(axes({y}, {2, 16, 32}, {false, true, {}}), (A{1, 2}));
  EXPECT_EQ(axes({x}, {16, 32}), (A{0, 1}));
  EXPECT_EQ(axes({x}, {16, 32}, {true, false, {}}), (A{1, 0}));
  // Disagreeing consumers: linear (0, 1) vs matmul y (1, 0).
  EXPECT_EQ(axes({kLinear, y}, {16, 32}), (A{std::nullopt, std::nullopt}));
  // conv and gather agree; the conv (groups not given: 1) is listed for the cluster_dim check.
  EXPECT_EQ(axes({kConv, {"gather", "g", "x"}}, {16, 32}), (A{0, 1, {1}}));
  // Only the output axis disagrees: linear [O=0,I=1] vs matmul y rank 3 [O=2,I=1].
  EXPECT_EQ(axes({kLinear, y}, {4, 16, 32}), (A{std::nullopt, 1}));
}

TEST(ConfigResolve, UndecidableAxesSkipQuantizeAndPalettizeButNotPrune) {
  const auto w = weight({kLinear, {"matmul", "mm", "y"}});
  const auto pal = yaml("config_type: OpPalettizerConfig\nglobal_config: {nbits: 4}\n");
  const Skipped& s = skipped(resolve(pal, w));
  EXPECT_EQ(s.reason, SkipReason::undecidable_axes);
  EXPECT_EQ(s.text,
            "consumers disagree on the output channel axis (0 vs 1) and the input channel axis "
            "(0 vs 1)");
  const auto q = yaml(
      "config_type: OpLinearQuantizerConfig\nglobal_config: "
      "{granularity: per_tensor}\n");
  EXPECT_EQ(skipped(resolve(q, w)).reason, SkipReason::undecidable_axes);
  // An explicit per-block block_size bypasses axis inference.
  const auto explicit_blocks = yaml(
      "config_type: OpLinearQuantizerConfig\nglobal_config: "
      "{granularity: per_block, block_size: [0, 0]}\n");
  EXPECT_TRUE(std::holds_alternative<Resolved>(resolve(explicit_blocks, w)));
  const auto prune = yaml("config_type: OpThresholdPrunerConfig\nglobal_config: {}\n");
  EXPECT_TRUE(std::holds_alternative<Resolved>(resolve(prune, w)));
}

// A matmul whose transpose_y is bound to a const op, as coremltools writes it; a conv with
// groups given inline.
TEST(ConfigResolve, ProgramFactsReadConsumerParameters) {
  spec::Program program;
  auto& function = (*program.mutable_functions())["main"];
  function.set_opset("CoreML7");
  auto& block = (*function.mutable_block_specializations())["CoreML7"];
  auto* flag = block.add_operations();
  flag->set_type("const");
  flag->add_outputs()->set_name("ty");
  (*flag->mutable_attributes())["val"]
      .mutable_immediatevalue()
      ->mutable_tensor()
      ->mutable_bools()
      ->add_values(true);
  auto* mm = block.add_operations();
  mm->set_type("matmul");
  mm->add_outputs()->set_name("mm_out");
  (*mm->mutable_inputs())["y"].add_arguments()->set_name("w");
  (*mm->mutable_inputs())["transpose_y"].add_arguments()->set_name("ty");
  auto* conv = block.add_operations();
  conv->set_type("conv");
  conv->add_outputs()->set_name("conv_out");
  (*conv->mutable_inputs())["groups"]
      .add_arguments()
      ->mutable_value()
      ->mutable_immediatevalue()
      ->mutable_tensor()
      ->mutable_ints()
      ->add_values(4);

  const ProgramFacts facts(program);
  const auto w = weight({{"matmul", "mm_out", "y"}}, {16, 32});
  const ConsumerFacts f = facts.facts(w, w.consumers[0]);
  EXPECT_TRUE(f.transpose_y);
  EXPECT_FALSE(f.transpose_x);
  EXPECT_EQ(channel_axes(w, facts.lookup()), (ChannelAxes{0, 1}));
  EXPECT_EQ(channel_axes(w), (ChannelAxes{1, 0}));  // without facts: transpose_y = false
  EXPECT_EQ(facts.facts(w, {"conv", "conv_out", "weight"}).groups, 4);
  EXPECT_FALSE(facts.facts(w, {"conv", "missing", "weight"}).groups.has_value());
}

}  // namespace
}  // namespace mlpress::config
