// The hand-written YAML number matchers (core/config/yaml_scalar.h) against std::regex with the
// patterns the YAML reader used before them (PyYAML's implicit resolvers): on every string of up
// to 5 characters over a small alphabet, on random strings of 0..12 characters over a wider one,
// on random strings assembled from number-like pieces, and on the YAML 1.1 type examples, the
// matcher and the regex must agree.
#include "core/config/yaml_scalar.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace mlpress::config {
namespace {

struct Kind {
  const char* name;
  bool (*matcher)(std::string_view);
  const char* pattern;
};

const std::array<Kind, 4>& kinds() {
  static const std::array<Kind, 4> all = {{
      {"int", is_yaml_int_text,
       "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|"
       "[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+"},
      {"float", is_yaml_float_text,
       "[-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"},
      {"inf", is_yaml_inf_text, "[-+]?\\.(inf|Inf|INF)"},
      {"nan", is_yaml_nan_text, "\\.(nan|NaN|NAN)"},
  }};
  return all;
}

// Compares every kind on one string; counts the strings each kind accepts so the test can tell
// that its generators reached the accepting side too.
class Agreement {
 public:
  Agreement() {
    for (const Kind& k : kinds()) regexes_.emplace_back(k.pattern);
  }

  void check(const std::string& s) {
    for (size_t i = 0; i < kinds().size(); ++i) {
      const bool want = std::regex_match(s, regexes_[i]);
      const bool got = kinds()[i].matcher(s);
      if (want != got && failures_ < 20) {
        ADD_FAILURE() << kinds()[i].name << " on \"" << s << "\": regex " << want << ", matcher "
                      << got;
        ++failures_;
      }
      accepted_[i] += want;
    }
    ++checked_;
  }

  size_t accepted(size_t kind) const { return accepted_[kind]; }
  size_t checked() const { return checked_; }

 private:
  std::vector<std::regex> regexes_;
  std::array<size_t, 4> accepted_{};
  size_t checked_ = 0;
  int failures_ = 0;
};

void all_strings(Agreement& agreement, std::string_view alphabet, std::string& prefix,
                 size_t max_length) {
  agreement.check(prefix);
  if (prefix.size() == max_length) return;
  for (char c : alphabet) {
    prefix.push_back(c);
    all_strings(agreement, alphabet, prefix, max_length);
    prefix.pop_back();
  }
}

TEST(YamlScalar, AgreesWithRegexOnEveryShortString) {
  Agreement agreement;
  std::string prefix;
  all_strings(agreement, "015689-+._eEbx:", prefix, 5);
  EXPECT_EQ(agreement.checked(), 813616u);  // 1 + 15 + 15^2 + ... + 15^5
  EXPECT_GT(agreement.accepted(0), 10000u);
  EXPECT_GT(agreement.accepted(1), 1000u);
}

TEST(YamlScalar, AgreesWithRegexOnRandomStrings) {
  const std::string alphabet = "0123456789-+._eExob: infaNIFA";
  std::mt19937 rng(20261127);
  std::uniform_int_distribution<size_t> length(0, 12);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  Agreement agreement;
  for (int n = 0; n < 200000; ++n) {
    std::string s(length(rng), ' ');
    for (char& c : s) c = alphabet[pick(rng)];
    agreement.check(s);
  }
  EXPECT_GT(agreement.accepted(0), 1000u);
  EXPECT_GT(agreement.accepted(1), 100u);
}

TEST(YamlScalar, AgreesWithRegexOnNumberLikePieces) {
  const std::vector<std::string> pieces = {
      "0",   "1",   "7",   "8",   "9",   "5",    "_",    ".",   "e+",   "E-",  "e5", "0x",
      "0b",  "0o",  "a",   "F",   ":",   ":5",   ":59",  ":60", ":123", "-",   "+",  "inf",
      "Inf", "INF", "nan", "NaN", "NAN", ".inf", ".NaN", " ",   "iNf",  "1_0", "e",  "::"};
  std::mt19937 rng(3);
  std::uniform_int_distribution<size_t> count(1, 5);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  Agreement agreement;
  for (int n = 0; n < 200000; ++n) {
    std::string s;
    for (size_t k = count(rng); k > 0; --k) s += pieces[pick(rng)];
    agreement.check(s);
  }
  for (size_t kind = 0; kind < kinds().size(); ++kind) EXPECT_GT(agreement.accepted(kind), 100u);
}

TEST(YamlScalar, AgreesWithRegexOnYamlTypeExamples) {
  // yaml.org/type/int.html and float.html (YAML 1.1), YAML 1.2 core schema forms, and edges.
  const char* examples[] = {"685230",
                            "+685_230",
                            "02472256",
                            "0x_0A_74_AE",
                            "0b1010_0111_0100_1010_1110",
                            "190:20:30",
                            "6.8523015e+5",
                            "685.230_15e+03",
                            "685_230.15",
                            "190:20:30.15",
                            "-.inf",
                            ".NaN",
                            "0o14",
                            "1e3",
                            "-1.5",
                            "0.",
                            ".5",
                            "+.5",
                            "-0",
                            "0b",
                            "0x",
                            "0_",
                            "1:",
                            "1:60",
                            "1:5:59",
                            ".",
                            "",
                            "+",
                            ".e+1",
                            "1.e-1",
                            "1.0E+",
                            "1_.__",
                            "0b2",
                            "09",
                            "-.NAN"};
  Agreement agreement;
  for (const char* s : examples) agreement.check(s);
  for (size_t kind = 0; kind < kinds().size(); ++kind) EXPECT_GT(agreement.accepted(kind), 0u);
}

}  // namespace
}  // namespace mlpress::config
