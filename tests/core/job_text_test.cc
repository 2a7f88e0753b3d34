// Job documents: one coremltools config is one step; {"steps": [...]} (JSON or YAML) lists
// several, each with its own joint_compression and nonzero_only; mistakes name the step.
#include <gtest/gtest.h>

#include <string>

#include "core/io/error.h"
#include "core/rewrite/step_from_text.h"

namespace mlpress {
namespace {

const char* kPrune =
    R"({"config_type": "OpMagnitudePrunerConfig", "global_config": {"target_sparsity": 0.5}})";
const char* kPalettize = R"({"config_type": "OpPalettizerConfig", "global_config": {"nbits": 4}})";

std::string job(const std::string& steps) { return R"({"steps": [)" + steps + "]}"; }

std::string error_of(const std::string& text) {
  try {
    steps_from_job_text(text, "job.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JobText, SingleConfigIsOneStep) {
  const auto steps = steps_from_job_text(kPrune, "cfg.json");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].api, config::Api::prune_weights);
  EXPECT_FALSE(steps[0].joint_compression);
  EXPECT_EQ(steps[0].config, step_from_config_text(kPrune, "cfg.json").config);
}

TEST(JobText, JsonStepsInOrderWithTheirFlags) {
  const auto steps =
      steps_from_job_text(job(std::string(R"({"config": )") + kPrune + R"(}, {"config": )" +
                              kPalettize + R"(, "joint_compression": true, "nonzero_only": true})"),
                          "job.json");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].api, config::Api::prune_weights);
  EXPECT_FALSE(steps[0].joint_compression);
  EXPECT_FALSE(steps[0].nonzero_only);
  EXPECT_EQ(steps[1].api, config::Api::palettize_weights);
  EXPECT_TRUE(steps[1].joint_compression);
  EXPECT_TRUE(steps[1].nonzero_only);
  EXPECT_EQ(steps[1].config, step_from_config_text(kPalettize, "x").config);
}

TEST(JobText, YamlJobEqualsJsonJob) {
  const std::string yaml = R"(steps:
  - config:
      config_type: OpMagnitudePrunerConfig
      global_config:
        target_sparsity: 0.5
  - config:
      config_type: OpPalettizerConfig
      global_config:
        nbits: 4
    joint_compression: true
)";
  const auto from_yaml = steps_from_job_text(yaml, "job.yaml");
  const auto from_json =
      steps_from_job_text(job(std::string(R"({"config": )") + kPrune + R"(}, {"config": )" +
                              kPalettize + R"(, "joint_compression": true})"),
                          "job.json");
  ASSERT_EQ(from_yaml.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(from_yaml[i].api, from_json[i].api);
    EXPECT_EQ(from_yaml[i].config, from_json[i].config);
    EXPECT_EQ(from_yaml[i].joint_compression, from_json[i].joint_compression);
  }
}

TEST(JobText, MistakesNameTheStep) {
  EXPECT_NE(error_of(job("")).find("non-empty list"), std::string::npos);
  EXPECT_NE(error_of(R"({"steps": [], "other": 1})").find("only \"steps\""), std::string::npos);
  EXPECT_NE(error_of(job(R"({"cfg": {}})")).find("step 1"), std::string::npos);
  const std::string bad_flag =
      error_of(job(std::string(R"({"config": )") + kPrune + R"(, "joint_compression": "yes"})"));
  EXPECT_NE(bad_flag.find("step 1"), std::string::npos);
  EXPECT_NE(bad_flag.find("true or false"), std::string::npos);
  const std::string unknown = error_of(job(std::string(R"({"config": )") + kPrune +
                                           R"(}, {"config": )" + kPrune + R"(, "joint": true})"));
  EXPECT_NE(unknown.find("step 2"), std::string::npos);
  EXPECT_NE(unknown.find("unknown field \"joint\""), std::string::npos);
  // A bad coremltools config inside a step is refused by the config reader, naming the step.
  const std::string bad_config = error_of(
      job(R"({"config": {"config_type": "OpPalettizerConfig", "global_config": {"nbits": 5}}})"));
  EXPECT_NE(bad_config.find("job.json, step 1"), std::string::npos) << bad_config;
  EXPECT_NE(error_of("{not json").find("job.json"), std::string::npos);
}

}  // namespace
}  // namespace mlpress
