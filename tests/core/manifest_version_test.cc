// Manifest.json's fileFormatVersion check (core/package/manifest.cc) reads "major.minor.patch"
// without scanf. The reference is the C library's sscanf(version, "%d.%d.%d%c") == 3 with no
// negative part, then "not newer than 1.0.0": on every string of up to 5 characters over a small
// alphabet and on random strings of number-like pieces, the manifest must be accepted exactly
// when the reference accepts the version, and refused with the message the reference implies.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/io/error.h"
#include "core/package/manifest.h"

namespace mlpress {
namespace {

// What the check said before it was written out: "", "not", or "newer".
std::string reference_verdict(const std::string& version) {
  int major = -1, minor = -1, patch = -1;
  char tail = 0;
  if (std::sscanf(version.c_str(), "%d.%d.%d%c", &major, &minor, &patch, &tail) != 3 || major < 0 ||
      minor < 0 || patch < 0) {
    return "not";
  }
  if (major > 1 || (major == 1 && (minor > 0 || patch > 0))) return "newer";
  return "";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string verdict(const std::string& version) {
  const std::string text = "{\"fileFormatVersion\": " + json_string(version) +
                           ", \"rootModelIdentifier\": \"A\", \"itemInfoEntries\": {\"A\": "
                           "{\"author\": \"a\", \"description\": \"d\", \"name\": \"n\", "
                           "\"path\": \"model.mlmodel\"}}}";
  try {
    parse_manifest(std::as_bytes(std::span(text.data(), text.size())), "Manifest.json");
    return "";
  } catch (const Error& e) {
    const std::string message = e.what();
    // what() ends at a NUL the version holds, so a message may be cut inside the version; the
    // two messages differ before it: "... fileFormatVersion \"V\" is not major.minor.patch" and
    // "... fileFormatVersion V is newer than 1.0.0 ...".
    if (message.rfind("Manifest.json: fileFormatVersion \"", 0) == 0) return "not";
    if (message.rfind("Manifest.json: fileFormatVersion ", 0) == 0) return "newer";
    return message;
  }
}

struct Tally {
  size_t accepted = 0, newer = 0, checked = 0;
  int failures = 0;
  void check(const std::string& version) {
    const std::string want = reference_verdict(version);
    const std::string got = verdict(version);
    if (want != got && failures < 20) {
      ADD_FAILURE() << "version \"" << version << "\": sscanf says \"" << want
                    << "\", the manifest check \"" << got << "\"";
      ++failures;
    }
    accepted += want.empty();
    newer += want == "newer";
    ++checked;
  }
};

bool has_run_of_ten_digits(const std::string& s) {
  size_t run = 0;
  for (char c : s) {
    run = c >= '0' && c <= '9' ? run + 1 : 0;
    if (run >= 10) return true;
  }
  return false;
}

void all_strings(Tally& tally, const std::string& alphabet, std::string& prefix, size_t max) {
  tally.check(prefix);
  if (prefix.size() == max) return;
  for (char c : alphabet) {
    prefix.push_back(c);
    all_strings(tally, alphabet, prefix, max);
    prefix.pop_back();
  }
}

TEST(ManifestVersion, AgreesWithSscanfOnEveryShortString) {
  Tally tally;
  std::string prefix;
  all_strings(tally, "012.-+ x", prefix, 5);
  EXPECT_EQ(tally.checked, 37449u);  // 1 + 8 + 8^2 + ... + 8^5
  EXPECT_GE(tally.accepted, 10u);    // e.g. "1.0.0", " 0.0.0", "+0.0.0", "0.0.-0"
  EXPECT_GE(tally.newer, 10u);
}

TEST(ManifestVersion, AgreesWithSscanfOnNumberLikePieces) {
  const std::vector<std::string> pieces = {
      "0",  "1",  "00", "01", "10", "123456789", ".",
      "..", "-",  "+",  " ",  "\t", "\n",        "\v",
      "\f", "\r", "a",  "1.", ".0", "-0",        std::string(1, '\0')};
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> count(1, 8);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  Tally tally;
  for (int n = 0; n < 30000; ++n) {
    std::string s;
    for (size_t k = count(rng); k > 0; --k) s += pieces[pick(rng)];
    if (!has_run_of_ten_digits(s)) tally.check(s);  // an int overflow is the C library's own
  }
  for (const char* s :
       {"1.0.0", "1.0.0 ", " 1.0.0", "1. 0. 0", "1.0.0\n", "+1.+0.-0", "1.0", "999999999.0.0",
        "1.0.0.0", "0.9.9", "2.0.0", "1.0.1", "1.0.0x", "", "1..0"})
    tally.check(s);
  EXPECT_GE(tally.accepted, 20u);
  EXPECT_GE(tally.newer, 50u);
}

}  // namespace
}  // namespace mlpress
