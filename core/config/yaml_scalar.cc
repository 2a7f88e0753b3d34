#include "core/config/yaml_scalar.h"

#include <cstddef>

namespace mlpress::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// True when every character of s (possibly none) is '_' or passes digit_ok.
template <typename DigitOk>
bool all_digits_or_underscores(std::string_view s, DigitOk digit_ok) {
  for (char c : s)
    if (c != '_' && !digit_ok(c)) return false;
  return true;
}

std::string_view without_sign(std::string_view s) {
  return !s.empty() && (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
}

// Length of the run of [0-9_] at the start of s.
size_t digit_run(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && (s[n] == '_' || is_digit(s[n]))) ++n;
  return n;
}

// (:[0-5]?[0-9])+ as the whole of s: one or more ":" each followed by one digit, or by two
// whose first is 0-5. Digits cannot contain ':', so the parts are the text between colons.
bool is_sexagesimal_tail(std::string_view s) {
  if (s.empty()) return false;
  while (!s.empty()) {
    if (s[0] != ':') return false;
    s.remove_prefix(1);
    size_t n = 0;
    while (n < s.size() && is_digit(s[n])) ++n;
    if (n == 0 || n > 2 || (n == 2 && s[0] > '5')) return false;
    s.remove_prefix(n);
  }
  return true;
}

// ([eE][-+][0-9]+)? as the whole of s.
bool is_optional_exponent(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() < 3 || (s[0] != 'e' && s[0] != 'E') || (s[1] != '-' && s[1] != '+')) return false;
  for (char c : s.substr(2))
    if (!is_digit(c)) return false;
  return true;
}

bool is_one_of(std::string_view s, std::string_view a, std::string_view b, std::string_view c) {
  return s == a || s == b || s == c;
}

}  // namespace

bool is_yaml_int_text(std::string_view s) {
  const std::string_view r = without_sign(s);  // every alternative takes an optional sign
  if (r.empty()) return false;
  if (r[0] == '0') {
    if (r.size() == 1) return true;  // 0
    const std::string_view rest = r.substr(2);
    if (r[1] == 'b')
      return !rest.empty() &&
             all_digits_or_underscores(rest, [](char c) { return c == '0' || c == '1'; });
    if (r[1] == 'x') return !rest.empty() && all_digits_or_underscores(rest, is_hex_digit);
    return all_digits_or_underscores(r.substr(1), [](char c) { return c >= '0' && c <= '7'; });
  }
  if (r[0] < '1' || r[0] > '9') return false;
  const size_t n = 1 + digit_run(r.substr(1));
  return n == r.size() || is_sexagesimal_tail(r.substr(n));
}

bool is_yaml_float_text(std::string_view s) {
  if (!s.empty() && s[0] == '.') {  // the unsigned ".5" form needs a digit after the dot
    if (s.size() < 2 || !is_digit(s[1])) return false;
    const std::string_view rest = s.substr(1);
    return is_optional_exponent(rest.substr(digit_run(rest)));
  }
  const std::string_view r = without_sign(s);
  if (r.empty() || !is_digit(r[0])) return false;
  const size_t dot = digit_run(r);
  if (dot == r.size() || r[dot] != '.') return false;
  const std::string_view fraction = r.substr(dot + 1);
  return is_optional_exponent(fraction.substr(digit_run(fraction)));
}

bool is_yaml_inf_text(std::string_view s) {
  return is_one_of(without_sign(s), ".inf", ".Inf", ".INF");
}

bool is_yaml_nan_text(std::string_view s) { return is_one_of(s, ".nan", ".NaN", ".NAN"); }

}  // namespace mlpress::config
