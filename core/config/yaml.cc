#include "core/config/yaml.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/config/yaml_scalar.h"
#include "core/io/error.h"

namespace mlpress::config {
namespace {

using nlohmann::json;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_break(char c) { return c == '\n' || c == '\r'; }

// --- scalar resolution (PyYAML's implicit resolvers for YAML 1.1) ---------------------------

bool is_null_text(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> bool_text(const std::string& s) {
  static const char* const yes[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const char* const no[] = {"no",    "No",  "NO",  "false", "False",
                                   "FALSE", "off", "Off", "OFF"};
  for (const char* t : yes)
    if (s == t) return true;
  for (const char* t : no)
    if (s == t) return false;
  return std::nullopt;
}

std::string strip_underscores(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '_') out += c;
  return out;
}

// Returns false when the value does not fit an int64.
bool accumulate(int64_t& value, int base, int digit) {
  if (value > (std::numeric_limits<int64_t>::max() - digit) / base) return false;
  value = value * base + digit;
  return true;
}

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

std::optional<json> int_text(const std::string& s, const std::string& where) {
  if (!is_yaml_int_text(s)) return std::nullopt;
  std::string t = strip_underscores(s);
  bool negative = false;
  if (t[0] == '-' || t[0] == '+') {
    negative = t[0] == '-';
    t = t.substr(1);
  }
  int64_t value = 0;
  bool ok = true;
  if (t.find(':') != std::string::npos) {  // sexagesimal, e.g. 1:30 == 90
    size_t start = 0;
    while (ok && start <= t.size()) {
      const size_t end = t.find(':', start);
      const std::string part = t.substr(start, end == std::string::npos ? end : end - start);
      int64_t v = 0;
      for (char c : part) ok = ok && accumulate(v, 10, c - '0');
      if (ok && value > (std::numeric_limits<int64_t>::max() - v) / 60) ok = false;
      if (ok) value = value * 60 + v;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  } else {
    int base = 10;
    size_t i = 0;
    if (t.size() > 1 && t[0] == '0' && t[1] == 'b')
      base = 2, i = 2;
    else if (t.size() > 1 && t[0] == '0' && t[1] == 'x')
      base = 16, i = 2;
    else if (t.size() > 1 && t[0] == '0')
      base = 8, i = 1;
    for (; ok && i < t.size(); ++i) ok = accumulate(value, base, digit_value(t[i]));
  }
  if (!ok) throw Error(where + "integer " + s + " is too large");
  return json(negative ? -value : value);
}

std::optional<json> float_text(const std::string& s) {
  if (is_yaml_inf_text(s)) {
    return json(s[0] == '-' ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity());
  }
  if (is_yaml_nan_text(s)) return json(std::numeric_limits<double>::quiet_NaN());
  if (!is_yaml_float_text(s)) return std::nullopt;
  const std::string t = strip_underscores(s);
  return json(std::strtod(t.c_str(), nullptr));
}

// --- the parser ------------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  json parse_document() {
    if (s_.size() >= 3 && s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // UTF-8 BOM
    if (!skip_to_content()) return nullptr;
    if (at_marker("---")) {
      i_ += 3;
      skip_spaces();
      if (!at_line_end()) fail("content after \"---\" on the same line is not supported");
      if (!skip_to_content()) return nullptr;
    }
    if (at_marker("...")) return end_document(nullptr);
    json value = parse_block(column());
    return end_document(std::move(value));
  }

 private:
  std::string_view s_;
  size_t i_ = 0;

  [[noreturn]] void fail(const std::string& message) const { fail_at(i_, message); }

  [[noreturn]] void fail_at(size_t pos, const std::string& message) const {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < pos && k < s_.size(); ++k) {
      if (s_[k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw Error("YAML line " + std::to_string(line) + ", column " + std::to_string(col) + ": " +
                message);
  }

  bool eof() const { return i_ >= s_.size(); }
  char peek(size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }

  int column() const {
    size_t k = i_;
    while (k > 0 && s_[k - 1] != '\n') --k;
    return static_cast<int>(i_ - k);
  }

  bool at_line_start_marker() const { return column() == 0; }

  bool at_marker(const char* marker) const {
    return at_line_start_marker() && s_.substr(i_, 3) == marker &&
           (i_ + 3 >= s_.size() || is_blank(s_[i_ + 3]) || is_break(s_[i_ + 3]));
  }

  json end_document(json value) {
    if (skip_to_content()) {
      if (at_marker("...")) {
        i_ += 3;
        if (!skip_to_content()) return value;
      }
      if (at_marker("---")) fail("only one YAML document is supported");
      fail("unexpected content after the end of the document");
    }
    return value;
  }

  void skip_spaces() {
    while (!eof() && is_blank(peek())) ++i_;
  }

  // At a line break, a comment or the end of input (after skipping blanks).
  bool at_line_end() {
    skip_spaces();
    return eof() || is_break(peek()) || peek() == '#';
  }

  // Skips blanks, comments and line breaks. Returns false at the end of input. Tabs used as
  // indentation are refused.
  bool skip_to_content() {
    while (!eof()) {
      const char c = peek();
      if (c == ' ') {
        ++i_;
      } else if (c == '\t') {
        if (column() == 0 || only_blanks_before()) fail("tabs cannot be used for indentation");
        ++i_;
      } else if (is_break(c)) {
        ++i_;
      } else if (c == '#') {
        while (!eof() && !is_break(peek())) ++i_;
      } else {
        return true;
      }
    }
    return false;
  }

  bool only_blanks_before() const {
    size_t k = i_;
    while (k > 0 && s_[k - 1] != '\n') {
      if (s_[k - 1] != ' ' && s_[k - 1] != '\t') return false;
      --k;
    }
    return true;
  }

  bool at_seq_entry() const {
    return peek() == '-' && (i_ + 1 >= s_.size() || is_blank(peek(1)) || is_break(peek(1)));
  }

  void refuse_unsupported() {
    switch (peek()) {
      case '&':
        fail("anchors (&) are not supported");
      case '*':
        fail("aliases (*) are not supported");
      case '!':
        fail("tags (!) are not supported");
      case '|':
      case '>':
        fail("block scalars (| and >) are not supported");
      case '?':
        fail("complex mapping keys (?) are not supported");
      case '@':
      case '`':
        fail(std::string("a plain scalar cannot start with '") + peek() + "'");
      case '%':
        fail("directives (%) are not supported");
      default:
        return;
    }
  }

  // A node in block context, starting at the current content character, at column `indent`.
  json parse_block(int indent) {
    if (at_seq_entry()) return parse_block_seq(indent);
    refuse_unsupported();
    const size_t start = i_;
    if (peek() == '{' || peek() == '[') {
      json value = parse_flow();
      skip_spaces();
      if (peek() == ':') fail_at(start, "flow collections as mapping keys are not supported");
      expect_line_end();
      return value;
    }
    bool quoted = false;
    std::string text = read_scalar(/*flow=*/false, quoted);
    skip_spaces();
    if (peek() == ':' && (i_ + 1 >= s_.size() || is_blank(peek(1)) || is_break(peek(1)))) {
      return parse_block_map(indent, std::move(text));
    }
    expect_line_end();
    return quoted ? json(text) : resolve(text, start);
  }

  void expect_line_end() {
    if (!at_line_end()) {
      if (peek() == ':') fail("mapping values are not allowed here");
      fail("unexpected text after a value");
    }
  }

  // Called with the first key read and the cursor at its ':'.
  json parse_block_map(int indent, std::string key) {
    json map = json::object();
    for (;;) {
      ++i_;  // ':'
      json value;
      if (at_line_end()) {
        if (!skip_to_content()) {
          value = nullptr;
        } else if (column() > indent) {
          value = parse_block(column());
        } else if (column() == indent && at_seq_entry()) {
          value = parse_block_seq(indent);
        } else {
          value = nullptr;
        }
      } else {
        value = parse_inline_value(indent);
      }
      map[key] = std::move(value);
      if (!skip_to_content() || at_marker("...") || at_marker("---")) return map;
      const int col = column();
      if (col < indent) return map;
      if (col > indent)
        fail("unexpected indentation (expected a key at column " + std::to_string(indent + 1) +
             ")");
      if (at_seq_entry()) fail("expected a mapping key, found a sequence entry");
      refuse_unsupported();
      if (peek() == '{' || peek() == '[')
        fail("flow collections as mapping keys are not supported");
      bool quoted = false;
      key = read_scalar(false, quoted);
      skip_spaces();
      if (!(peek() == ':' && (i_ + 1 >= s_.size() || is_blank(peek(1)) || is_break(peek(1))))) {
        fail("expected ':' after the mapping key \"" + key + "\"");
      }
    }
  }

  // A value on the same line as its key (block context).
  json parse_inline_value(int indent) {
    (void)indent;
    refuse_unsupported();
    if (at_seq_entry()) fail("a block sequence cannot start on the line of its key");
    const size_t start = i_;
    if (peek() == '{' || peek() == '[') {
      json value = parse_flow();
      expect_line_end();
      return value;
    }
    bool quoted = false;
    std::string text = read_scalar(false, quoted);
    expect_line_end();
    return quoted ? json(text) : resolve(text, start);
  }

  json parse_block_seq(int indent) {
    json seq = json::array();
    for (;;) {
      ++i_;  // '-'
      if (at_line_end()) {
        if (skip_to_content() && column() > indent) {
          seq.push_back(parse_block(column()));
        } else {
          seq.push_back(nullptr);
        }
      } else {
        seq.push_back(parse_block(column()));
      }
      if (!skip_to_content() || at_marker("...") || at_marker("---")) return seq;
      const int col = column();
      if (col < indent) return seq;
      if (col > indent || !at_seq_entry()) {
        if (col == indent) return seq;  // a mapping key after "key:\n- a" sequences
        fail("unexpected indentation in a sequence");
      }
    }
  }

  // --- flow context --------------------------------------------------------------------------

  void skip_flow_space() {
    while (!eof()) {
      const char c = peek();
      if (is_blank(c) || is_break(c)) {
        ++i_;
      } else if (c == '#') {
        while (!eof() && !is_break(peek())) ++i_;
      } else {
        return;
      }
    }
  }

  json parse_flow() {
    skip_flow_space();
    if (eof()) fail("unexpected end of input inside a flow collection");
    if (peek() == '{') return parse_flow_map();
    if (peek() == '[') return parse_flow_seq();
    refuse_unsupported();
    const size_t start = i_;
    bool quoted = false;
    std::string text = read_scalar(true, quoted);
    return quoted ? json(text) : resolve(text, start);
  }

  json parse_flow_seq() {
    const size_t open = i_;
    ++i_;
    json seq = json::array();
    for (;;) {
      skip_flow_space();
      if (eof()) fail_at(open, "this '[' is never closed");
      if (peek() == ']') {
        ++i_;
        return seq;
      }
      json item = parse_flow();
      skip_flow_space();
      if (peek() == ':') fail("single-pair mappings inside [ ] are not supported");
      seq.push_back(std::move(item));
      if (peek() == ',') {
        ++i_;
      } else if (peek() != ']') {
        if (eof()) fail_at(open, "this '[' is never closed");
        fail("expected ',' or ']' in a flow sequence");
      }
    }
  }

  json parse_flow_map() {
    const size_t open = i_;
    ++i_;
    json map = json::object();
    for (;;) {
      skip_flow_space();
      if (eof()) fail_at(open, "this '{' is never closed");
      if (peek() == '}') {
        ++i_;
        return map;
      }
      refuse_unsupported();
      if (peek() == '{' || peek() == '[')
        fail("flow collections as mapping keys are not supported");
      if (peek() == ',') fail("expected a mapping key, found ','");
      bool quoted = false;
      std::string key = read_scalar(true, quoted);
      skip_flow_space();
      json value;
      if (peek() == ':') {
        ++i_;
        skip_flow_space();
        value = (peek() == ',' || peek() == '}') ? json(nullptr) : parse_flow();
        skip_flow_space();
      }
      map[key] = std::move(value);
      if (peek() == ',') {
        ++i_;
      } else if (peek() != '}') {
        if (eof()) fail_at(open, "this '{' is never closed");
        fail("expected ',' or '}' in a flow mapping");
      }
    }
  }

  // --- scalars ---------------------------------------------------------------------------------

  std::string read_scalar(bool flow, bool& quoted) {
    quoted = peek() == '"' || peek() == '\'';
    if (peek() == '\'') return read_single_quoted();
    if (peek() == '"') return read_double_quoted();
    return read_plain(flow);
  }

  std::string read_plain(bool flow) {
    std::string out;
    while (!eof()) {
      const char c = peek();
      if (is_break(c)) break;
      if (c == '#' && (out.empty() || is_blank(out.back()))) break;
      if (c == ':' && (i_ + 1 >= s_.size() || is_blank(peek(1)) || is_break(peek(1)) ||
                       (flow && (peek(1) == ',' || peek(1) == '}' || peek(1) == ']')))) {
        break;
      }
      if (flow && (c == ',' || c == '[' || c == ']' || c == '{' || c == '}')) break;
      out += c;
      ++i_;
    }
    while (!out.empty() && is_blank(out.back())) out.pop_back();
    if (out.empty() && !flow) fail("expected a value");
    return out;
  }

  std::string read_single_quoted() {
    const size_t open = i_;
    ++i_;
    std::string out;
    for (;;) {
      if (eof()) fail_at(open, "this quoted string is never closed");
      const char c = peek();
      if (is_break(c)) fail("multi-line quoted strings are not supported");
      ++i_;
      if (c == '\'') {
        if (peek() == '\'') {
          out += '\'';
          ++i_;
          continue;
        }
        return out;
      }
      out += c;
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string read_double_quoted() {
    const size_t open = i_;
    ++i_;
    std::string out;
    for (;;) {
      if (eof()) fail_at(open, "this quoted string is never closed");
      const char c = peek();
      if (is_break(c)) fail("multi-line quoted strings are not supported");
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c != '\\') {
        out += c;
        ++i_;
        continue;
      }
      const size_t escape = i_;
      ++i_;
      const char e = peek();
      ++i_;
      switch (e) {
        case '0':
          out += '\0';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 't':
        case '\t':
          out += '\t';
          break;
        case 'n':
          out += '\n';
          break;
        case 'v':
          out += '\v';
          break;
        case 'f':
          out += '\f';
          break;
        case 'r':
          out += '\r';
          break;
        case 'e':
          out += '\x1b';
          break;
        case ' ':
          out += ' ';
          break;
        case '"':
          out += '"';
          break;
        case '/':
          out += '/';
          break;
        case '\\':
          out += '\\';
          break;
        case 'x':
        case 'u':
        case 'U': {
          const int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < digits; ++k, ++i_) {
            const int d = digit_value(peek());
            if (d > 15)
              fail_at(escape,
                      "bad escape: expected " + std::to_string(digits) + " hexadecimal digits");
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail_at(escape, std::string("unknown escape \\") + e);
      }
    }
  }

  json resolve(const std::string& text, size_t pos) {
    if (is_null_text(text)) return nullptr;
    if (auto b = bool_text(text)) return *b;
    std::string here;
    try {
      fail_at(pos, "");
    } catch (const Error& e) {
      here = e.what();
    }
    if (auto i = int_text(text, here)) return *i;
    if (auto f = float_text(text)) return *f;
    return text;
  }
};

}  // namespace

nlohmann::json parse_yaml(std::string_view text) { return Parser(text).parse_document(); }

}  // namespace mlpress::config
