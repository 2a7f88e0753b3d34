// Temporary-name suffixes (core/io/temp_name.h): the hex digits are printf's "%08x", checked
// against snprintf on every bit position and a spread of random values.
#include "core/io/temp_name.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace mlpress {
namespace {

std::string printf_hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(value));
  return text;
}

TEST(TempName, HexDigitsAsPrintfWritesThem) {
  std::vector<uint32_t> values = {0u, 1u, 0xffffffffu, 0x80000000u, 0x0123abcdu, 0xdeadbeefu};
  for (int bit = 0; bit < 32; ++bit) {
    values.push_back(uint32_t{1} << bit);
    values.push_back(~(uint32_t{1} << bit));
  }
  std::mt19937 rng(11);
  for (int n = 0; n < 10000; ++n) values.push_back(static_cast<uint32_t>(rng()));
  for (uint32_t v : values) ASSERT_EQ(eight_hex_digits(v), printf_hex(v)) << v;
}

TEST(TempName, RandomSuffixesAreEightHexDigitsAndDiffer) {
  std::set<std::string> seen;
  for (int n = 0; n < 64; ++n) {
    const std::string s = random_file_suffix();
    ASSERT_EQ(s.size(), 8u);
    ASSERT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
    seen.insert(s);
  }
  EXPECT_GT(seen.size(), 60u);  // 64 draws of 32 bits: a repeat is rare, many are a broken source
}

}  // namespace
}  // namespace mlpress
