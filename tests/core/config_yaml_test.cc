// The YAML-subset reader (core/config/yaml.h): values as PyYAML's safe_load gives them, and
// errors that name line and column.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/config/yaml.h"
#include "core/io/error.h"

namespace mlpress::config {
namespace {

using nlohmann::json;

struct Good {
  const char* yaml;
  const char* json;  // expected, as JSON text
};

class ConfigYamlGood : public ::testing::TestWithParam<Good> {};

TEST_P(ConfigYamlGood, ParsesLikePyYaml) {
  EXPECT_EQ(parse_yaml(GetParam().yaml), json::parse(GetParam().json)) << GetParam().yaml;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigYamlGood,
    ::testing::Values(
        Good{"", "null"}, Good{"# only a comment\n", "null"}, Good{"---\n", "null"},
        Good{"a: 1\nb: two\n", R"({"a": 1, "b": "two"})"},
        Good{"a:\n  b:\n    c: 3\n  d: 4\ne: 5", R"({"a": {"b": {"c": 3}, "d": 4}, "e": 5})"},
        Good{"a: {x: 1, y: [3, 4], z: {}}", R"({"a": {"x": 1, "y": [3, 4], "z": {}}})"},
        Good{"a: {x: 1,\n  y: 2,\n}\n", R"({"a": {"x": 1, "y": 2}})"},
        Good{"a: [1, [2, 3], {b: c}]", R"({"a": [1, [2, 3], {"b": "c"}]})"},
        Good{"a:\n- 1\n- 2\nb: 3", R"({"a": [1, 2], "b": 3})"},
        Good{"a:\n  - 1\n  -   2\n", R"({"a": [1, 2]})"},
        Good{"- a: 1\n  b: 2\n- c\n-\n", R"([{"a": 1, "b": 2}, "c", null])"},
        Good{"- - 1\n  - 2\n- 3", R"([[1, 2], 3])"},
        Good{"a: ~\nb: null\nc: Null\nd:\ne: NULL",
             R"({"a":null,"b":null,"c":null,"d":null,"e":null})"},
        Good{"[yes, No, ON, off, true, False, y]",
             R"([true, false, true, false, true, false, "y"])"},
        Good{"[0, -7, +5, 1_000, 0x1F, 0b101, 010, 0o10, 1:30]",
             R"([0, -7, 5, 1000, 31, 5, 8, "0o10", 90])"},
        Good{"[1.5, -2., .5, 1.0e-3, 1e-3, 1.0e3, 1_0.5]",
             R"([1.5, -2.0, 0.5, 0.001, "1e-3", "1.0e3", 10.5])"},
        Good{"['a b', 'it''s', \"q\\\"x\\n\\u00e9\", \"#no comment\"]",
             R"(["a b", "it's", "q\"x\né", "#no comment"])"},
        Good{"a: b#c # comment\n", R"({"a": "b#c"})"}, Good{"a: x y z  \n", R"({"a": "x y z"})"},
        Good{"'quoted key': 1", R"({"quoted key": 1})"}, Good{"\"n\": '1'", R"({"n": "1"})"},
        Good{"a: 1\na: 2\n", R"({"a": 2})"}, Good{"a: 1\n...\n", R"({"a": 1})"},
        Good{"a: {b}", R"({"a": {"b": null}})"},
        Good{"a: conv_1.weight\nb: http://x", R"({"a": "conv_1.weight", "b": "http://x"})"},
        Good{"a: 1\r\nb: 2\r\n", R"({"a": 1, "b": 2})"}, Good{"a: [1 2]", R"({"a": ["1 2"]})"},
        Good{"7", "7"}, Good{"[]", "[]"}));

TEST(ConfigYaml, NonFiniteFloats) {
  const json v = parse_yaml("[.inf, -.Inf, .NaN]");
  EXPECT_TRUE(std::isinf(v[0].get<double>()) && v[0].get<double>() > 0);
  EXPECT_TRUE(std::isinf(v[1].get<double>()) && v[1].get<double>() < 0);
  EXPECT_TRUE(std::isnan(v[2].get<double>()));
}

struct Bad {
  const char* yaml;
  const char* message;  // a part of the error, with its line and column
};

class ConfigYamlBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ConfigYamlBad, FailsNamingLineAndColumn) {
  try {
    parse_yaml(GetParam().yaml);
    FAIL() << "accepted: " << GetParam().yaml;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().message), std::string::npos)
        << "got: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigYamlBad,
    ::testing::Values(
        Bad{"a: {b: 1", "line 1, column 4: this '{' is never closed"},
        Bad{"a: [1, 2\n", "line 1, column 4: this '[' is never closed"},
        Bad{"a: [1, 2 }", "line 1, column 10: expected ',' or ']'"},
        Bad{"a: 1\n   b: 2\n", "line 2, column 4: unexpected indentation"},
        Bad{"a: 1\n\tb: 2\n", "line 2, column 1: tabs cannot be used for indentation"},
        Bad{"a: &x 1", "line 1, column 4: anchors"}, Bad{"a: *x", "line 1, column 4: aliases"},
        Bad{"a: !!int 1", "line 1, column 4: tags"},
        Bad{"a: |\n  text\n", "line 1, column 4: block scalars"},
        Bad{"a: 'open\n", "multi-line quoted strings are not supported"},
        Bad{"a: \"x\\q\"", "line 1, column 6: unknown escape \\q"},
        Bad{"a: b: c", "line 1, column 5: mapping values are not allowed here"},
        Bad{"a: 1\nb\n", "line 2, column 2: expected ':' after the mapping key \"b\""},
        Bad{"a: 1\n- 2\n", "line 2, column 1: expected a mapping key, found a sequence entry"},
        Bad{"a: - 1", "line 1, column 4: a block sequence cannot start on the line of its key"},
        Bad{"a: 1\n---\nb: 2", "only one YAML document is supported"},
        Bad{"a: 99999999999999999999",
            "line 1, column 4: integer 99999999999999999999 is too large"},
        Bad{"{a: 1}: 2", "flow collections as mapping keys are not supported"}));

}  // namespace
}  // namespace mlpress::config
