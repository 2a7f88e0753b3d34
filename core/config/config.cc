#include "core/config/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>

#include "core/config/yaml.h"
#include "core/io/error.h"

namespace mlpress::config {
namespace {

using nlohmann::json;

constexpr const char* kLinear = "OpLinearQuantizerConfig";
constexpr const char* kPalettizer = "OpPalettizerConfig";
constexpr const char* kThreshold = "OpThresholdPrunerConfig";
constexpr const char* kMagnitude = "OpMagnitudePrunerConfig";
constexpr const char* kConfigTypes =
    "OpLinearQuantizerConfig, OpPalettizerConfig, OpThresholdPrunerConfig, "
    "OpMagnitudePrunerConfig";

// A field-level failure; the caller adds where the config sits.
struct FieldError {
  std::string message;
};

[[noreturn]] void field_fail(const std::string& message) { throw FieldError{message}; }

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Python's repr() of a float.
std::string py_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// Python's name for the type a JSON value would have after yaml.safe_load / json.load.
std::string py_type(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "NoneType";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "float";
    case json::value_t::string:
      return "str";
    case json::value_t::array:
      return "list";
    case json::value_t::object:
      return "dict";
    default:
      return "object";
  }
}

// Python's str() of a value, for messages.
std::string py_str(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "None";
    case json::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case json::value_t::number_float:
      return py_float(v.get<double>());
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::array: {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += ", ";
        s += v[i].is_string() ? "'" + v[i].get<std::string>() + "'" : py_str(v[i]);
      }
      return s + "]";
    }
    default:
      return v.dump();
  }
}

bool py_float_text(std::string s, double& out) {
  // Python float(): surrounding whitespace, one sign, inf/infinity/nan in any case, digits with
  // single underscores between them.
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  s = s.substr(b);
  if (s.empty()) return false;
  const size_t sign = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  const std::string word = upper(s.substr(sign));
  if (word == "INF" || word == "INFINITY" || word == "NAN") {
    const double v = word == "NAN" ? std::numeric_limits<double>::quiet_NaN()
                                   : std::numeric_limits<double>::infinity();
    out = s[0] == '-' ? -v : v;
    return true;
  }
  std::string t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        return false;
      }
      continue;
    }
    const char c = s[i];
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
          c == '+' || c == '-')) {
      return false;
    }
    t += c;
  }
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end && *end == '\0' && end != t.c_str();
}

bool py_int_text(std::string s, int64_t& out) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  s = s.substr(b);
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  if (i >= s.size()) return false;
  int64_t v = 0;
  for (size_t k = i; k < s.size(); ++k) {
    if (s[k] == '_' && k > i && k + 1 < s.size() && s[k - 1] != '_' &&
        std::isdigit(static_cast<unsigned char>(s[k + 1]))) {
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return false;
    if (v > (std::numeric_limits<int64_t>::max() - (s[k] - '0')) / 10) return false;
    v = v * 10 + (s[k] - '0');
  }
  out = negative ? -v : v;
  return true;
}

// cattrs structures an int field with int(value).
int64_t to_int(const json& v, const std::string& field) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      field_fail(quoted(field) + " is too large: " + v.dump());
    return v.get<int64_t>();
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18)
      field_fail(quoted(field) + " must be an integer, got " + py_float(d));
    return static_cast<int64_t>(std::trunc(d));
  }
  if (v.is_string()) {
    int64_t out = 0;
    if (py_int_text(v.get<std::string>(), out)) return out;
    field_fail(quoted(field) + " must be an integer: invalid literal for int() with base 10: '" +
               v.get<std::string>() + "'");
  }
  field_fail(quoted(field) + " must be an integer, got " + py_type(v) + " " + py_str(v));
}

std::optional<int64_t> to_opt_int(const json& v, const std::string& field) {
  if (v.is_null()) return std::nullopt;
  return to_int(v, field);
}

// cattrs structures a float field with float(value).
double to_float(const json& v, const std::string& field) {
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    double out = 0;
    if (py_float_text(v.get<std::string>(), out)) return out;
    field_fail(quoted(field) + " must be a number: could not convert string to float: '" +
               v.get<std::string>() + "'");
  }
  field_fail(quoted(field) + " must be a number, got " + py_type(v) + " " + py_str(v));
}

std::optional<double> to_opt_float(const json& v, const std::string& field) {
  if (v.is_null()) return std::nullopt;
  return to_float(v, field);
}

Granularity to_granularity(const json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "per_tensor") return Granularity::per_tensor;
    if (s == "per_grouped_channel") return Granularity::per_grouped_channel;
    if (s == "per_channel") return Granularity::per_channel;
    if (s == "per_block") return Granularity::per_block;
  }
  field_fail("Invalid granularity=" + py_str(v) +
             " (\"granularity\" must be one of per_tensor, per_grouped_channel, per_channel, "
             "per_block)");
}

std::string to_mode(const json& v, const char* message_head) {
  if (v.is_string()) return v.get<std::string>();
  // cattrs turns anything into a string with str(); no such string is a valid mode.
  field_fail(std::string(message_head) + " Got mode: \"" + py_str(v) + "\".");
}

const char* kLinearModes =
    "Only mode ('LINEAR_SYMMETRIC', 'LINEAR') supported for weight affine "
    "quantization.";
const char* kPalettizerModes =
    "Only modes ('KMEANS', 'UNIFORM', 'UNIQUE', 'CUSTOM') are "
    "supported for weight palettization.";

std::string to_dtype(const json& v) {
  if (!v.is_string()) {
    field_fail("dtype=" + py_str(v) +
               " is unsupported for OpLinearQuantizerConfig (\"dtype\" must be one of \"int8\", "
               "\"uint8\", \"int4\", \"uint4\").");
  }
  const std::string s = v.get<std::string>();
  static const std::set<std::string> ok = {"int8", "uint8", "int4", "uint4"};
  static const std::set<std::string> other_known = {
      "bool",   "complex128", "complex64", "fp16",  "fp32",  "fp64",   "int16", "int32", "int64",
      "string", "uint1",      "uint16",    "uint2", "uint3", "uint32", "uint6", "uint64"};
  if (ok.count(s)) return s;
  if (other_known.count(s)) {
    field_fail("Invalid dtype. Should be int4/8 or uint4/8, but got " + s +
               " (\"dtype\" must be one of \"int8\", \"uint8\", \"int4\", \"uint4\").");
  }
  field_fail("Invalid dtype " + s + ". Only support int8/uint8/int4/uint4.");
}

std::variant<int64_t, std::vector<int64_t>> to_block_size(const json& v) {
  // Python bools are ints, so True passes as 1.
  if (v.is_boolean()) return int64_t{v.get<bool>() ? 1 : 0};
  if (v.is_number_integer()) return to_int(v, "block_size");
  if (v.is_array()) {
    std::vector<int64_t> out;
    for (const auto& item : v) {
      if (item.is_boolean()) {
        out.push_back(item.get<bool>() ? 1 : 0);
      } else if (item.is_number_integer()) {
        out.push_back(to_int(item, "block_size"));
      } else {
        field_fail("All values in block_size must be non-negative values. (\"block_size\" got " +
                   py_str(v) + ")");
      }
    }
    return out;
  }
  field_fail("\"block_size\" must be int or list/tuple of int. Got " + py_type(v) + " " +
             py_str(v));
}

std::pair<int64_t, int64_t> to_n_m_ratio(const json& v) {
  if (!v.is_array()) {
    // cattrs would split a string into characters ("12" -> (1, 2)); mlpress refuses.
    field_fail("\"n_m_ratio\" must be a list of two integers (n, m), got " + py_type(v) + " " +
               py_str(v));
  }
  if (v.size() < 2)
    field_fail("\"n_m_ratio\": Not enough values in " + py_str(v) + " to structure as (n, m)");
  if (v.size() > 2)
    field_fail("\"n_m_ratio\": Too many values in " + py_str(v) + " to structure as (n, m)");
  return {to_int(v[0], "n_m_ratio"), to_int(v[1], "n_m_ratio")};
}

bool to_bool(const json& v, const std::string& field) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1))
    return v.get<int64_t>() == 1;
  // cattrs applies bool(), so the string "false" would mean True; mlpress refuses.
  field_fail(quoted(field) + " must be true or false, got " + py_type(v) + " " + py_str(v));
}

void check_weight_threshold(const std::optional<int64_t>& w) {
  if (w && *w < 0)
    field_fail("\"weight_threshold\" must be a non-negative integer. Got " + std::to_string(*w) +
               ".");
}

void check_keys(const json& dict, const char* type, const std::vector<std::string>& allowed) {
  std::vector<std::string> extra;
  for (const auto& [key, value] : dict.items()) {
    (void)value;
    if (key == "lut_function" && std::string(type) == kPalettizer) {
      field_fail(
          "\"lut_function\": a custom lut_function cannot be expressed in a config file "
          "(coremltools: _from_dict method does not support lut_function)");
    }
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) extra.push_back(key);
  }
  if (extra.empty()) return;
  std::sort(extra.begin(), extra.end());
  std::string list, allowed_list;
  for (const auto& k : extra) list += (list.empty() ? "" : ", ") + k;
  for (const auto& k : allowed) allowed_list += (allowed_list.empty() ? "" : ", ") + k;
  field_fail("Extra fields in constructor for " + std::string(type) + ": " + list +
             " (allowed: " + allowed_list + ")");
}

OpConfig structure(const std::string& type, const json& dict) {
  if (type == kLinear) {
    check_keys(dict, kLinear, {"mode", "dtype", "granularity", "block_size", "weight_threshold"});
    OpLinearQuantizerConfig c;
    if (dict.contains("mode")) c.mode = to_mode(dict["mode"], kLinearModes);
    if (dict.contains("dtype")) c.dtype = to_dtype(dict["dtype"]);
    if (dict.contains("granularity")) c.granularity = to_granularity(dict["granularity"]);
    if (dict.contains("block_size")) c.block_size = to_block_size(dict["block_size"]);
    if (dict.contains("weight_threshold"))
      c.weight_threshold = to_opt_int(dict["weight_threshold"], "weight_threshold");
    return c;
  }
  if (type == kPalettizer) {
    check_keys(dict, kPalettizer,
               {"mode", "nbits", "granularity", "group_size", "channel_axis", "cluster_dim",
                "enable_per_channel_scale", "num_kmeans_workers", "weight_threshold"});
    OpPalettizerConfig c;
    if (dict.contains("mode")) c.mode = to_mode(dict["mode"], kPalettizerModes);
    if (dict.contains("nbits")) c.nbits = to_opt_int(dict["nbits"], "nbits");
    if (dict.contains("granularity")) c.granularity = to_granularity(dict["granularity"]);
    if (dict.contains("group_size")) c.group_size = to_int(dict["group_size"], "group_size");
    if (dict.contains("channel_axis"))
      c.channel_axis = to_opt_int(dict["channel_axis"], "channel_axis");
    if (dict.contains("cluster_dim")) c.cluster_dim = to_int(dict["cluster_dim"], "cluster_dim");
    if (dict.contains("enable_per_channel_scale"))
      c.enable_per_channel_scale =
          to_bool(dict["enable_per_channel_scale"], "enable_per_channel_scale");
    if (dict.contains("num_kmeans_workers"))
      c.num_kmeans_workers = to_int(dict["num_kmeans_workers"], "num_kmeans_workers");
    if (dict.contains("weight_threshold"))
      c.weight_threshold = to_opt_int(dict["weight_threshold"], "weight_threshold");
    return c;
  }
  if (type == kThreshold) {
    check_keys(dict, kThreshold, {"threshold", "minimum_sparsity_percentile", "weight_threshold"});
    OpThresholdPrunerConfig c;
    if (dict.contains("threshold")) c.threshold = to_float(dict["threshold"], "threshold");
    if (dict.contains("minimum_sparsity_percentile"))
      c.minimum_sparsity_percentile =
          to_float(dict["minimum_sparsity_percentile"], "minimum_sparsity_percentile");
    if (dict.contains("weight_threshold"))
      c.weight_threshold = to_opt_int(dict["weight_threshold"], "weight_threshold");
    return c;
  }
  check_keys(dict, kMagnitude,
             {"target_sparsity", "block_size", "n_m_ratio", "dim", "weight_threshold"});
  OpMagnitudePrunerConfig c;
  if (dict.contains("target_sparsity"))
    c.target_sparsity = to_opt_float(dict["target_sparsity"], "target_sparsity");
  if (dict.contains("block_size")) c.block_size = to_opt_int(dict["block_size"], "block_size");
  if (dict.contains("n_m_ratio") && !dict["n_m_ratio"].is_null())
    c.n_m_ratio = to_n_m_ratio(dict["n_m_ratio"]);
  if (dict.contains("dim")) c.dim = to_opt_int(dict["dim"], "dim");
  if (dict.contains("weight_threshold"))
    c.weight_threshold = to_opt_int(dict["weight_threshold"], "weight_threshold");
  return c;
}

// --- validation (attrs validators in field order, then __attrs_post_init__) ------------------

void validate_one(OpLinearQuantizerConfig& c) {
  if (upper(c.mode) != "LINEAR_SYMMETRIC" && upper(c.mode) != "LINEAR")
    field_fail(std::string(kLinearModes) + " Got mode: \"" + c.mode + "\".");
  if (c.dtype != "int8" && c.dtype != "uint8" && c.dtype != "int4" && c.dtype != "uint4")
    field_fail("Invalid dtype " + c.dtype + ". Only support int8/uint8/int4/uint4.");
  if (c.granularity == Granularity::per_grouped_channel)
    field_fail("\"granularity\" must be one of (per_tensor, per_channel, per_block), but got " +
               granularity_name(c.granularity));
  if (const auto* i = std::get_if<int64_t>(&c.block_size); i && *i < 0)
    field_fail("The block_size must be non-negative values, but got " + std::to_string(*i));
  if (const auto* v = std::get_if<std::vector<int64_t>>(&c.block_size)) {
    for (int64_t b : *v)
      if (b < 0) field_fail("All values in block_size must be non-negative values.");
  }
  check_weight_threshold(c.weight_threshold);
  c.mode = upper(c.mode);
}

void validate_one(OpPalettizerConfig& c) {
  const std::string mode = upper(c.mode);
  if (mode != "KMEANS" && mode != "UNIFORM" && mode != "UNIQUE" && mode != "CUSTOM")
    field_fail(std::string(kPalettizerModes) + " Got \"mode\": \"" + c.mode + "\".");
  if (!c.nbits && (mode == "KMEANS" || mode == "UNIFORM"))
    field_fail("\"nbits\" must be provided for " + lower(c.mode) + " mode");
  if (c.nbits && (mode == "UNIQUE" || mode == "CUSTOM"))
    field_fail("\"nbits\" must NOT be provided for " + lower(c.mode) + " mode");
  if (c.nbits) {
    const int64_t n = *c.nbits;
    if (n != 1 && n != 2 && n != 3 && n != 4 && n != 6 && n != 8)
      field_fail("Invalid value of \"nbits\" (" + std::to_string(n) +
                 ") for palettization. Supported \"nbits\" are (1, 2, 3, 4, 6, 8)");
  }
  if (mode == "CUSTOM")
    field_fail(
        "\"lut_function\" can not be None, if \"mode\" is \"custom\": a custom lut_function "
        "cannot be expressed in a config file");
  if (c.granularity != Granularity::per_tensor && c.granularity != Granularity::per_grouped_channel)
    field_fail("\"granularity\" must be one of (per_tensor, per_grouped_channel), but got " +
               granularity_name(c.granularity));
  // mlpress's own checks: coremltools accepts these and misbehaves later (COMPRESSION.md §1.4).
  if (c.group_size < 0)
    field_fail("\"group_size\" must be >= 0 (0 means one group). Got " +
               std::to_string(c.group_size) + ".");
  if (c.cluster_dim < 1)
    field_fail("\"cluster_dim\" must be >= 1. Got " + std::to_string(c.cluster_dim) + ".");
  check_weight_threshold(c.weight_threshold);
  c.mode = mode;
}

void validate_one(OpThresholdPrunerConfig& c) {
  if (c.threshold < 0)
    field_fail("Invalid value of \"threshold\": " + py_float(c.threshold) +
               ". Needs to be in [0, inf)");
  if (c.minimum_sparsity_percentile < 0 || c.minimum_sparsity_percentile > 1)
    field_fail("Invalid value of \"minimum_sparsity_percentile\": " +
               py_float(c.minimum_sparsity_percentile) + ". Needs to be in [0, 1]");
  check_weight_threshold(c.weight_threshold);
}

void validate_one(OpMagnitudePrunerConfig& c) {
  if (c.target_sparsity.has_value() == c.n_m_ratio.has_value())
    field_fail(
        "Either \"target_sparsity\" or \"n_m_ratio\" need to be set. They cannot be set at the "
        "same time.");
  if (c.target_sparsity && (*c.target_sparsity < 0 || *c.target_sparsity > 1))
    field_fail("Invalid value of \"target_sparsity\": " + py_float(*c.target_sparsity) +
               ". Needs to be in [0, 1].");
  if (c.block_size && c.n_m_ratio)
    field_fail("\"block_size\" and \"n_m_ratio\" cannot be set at the same time.");
  if (c.block_size && *c.block_size <= 1)
    field_fail("\"block_size\" must be an integer > 1. Got " + std::to_string(*c.block_size) + ".");
  if (c.n_m_ratio) {
    const auto [n, m] = *c.n_m_ratio;
    const std::string got = "(" + std::to_string(n) + ", " + std::to_string(m) + ")";
    if (n > m)
      field_fail("\"n_m_ratio\" must be a tuple of two integers (n, m). n <= m. Got " + got);
    // mlpress's own check: coremltools accepts negative n and m == 0.
    if (n < 0 || m < 1)
      field_fail("\"n_m_ratio\" must be two integers (n, m) with 0 <= n <= m and m >= 1. Got " +
                 got);
  }
  if (c.dim) {
    if (!c.is_structural())
      field_fail("\"dim\" can only be set along with \"block_size\" or \"n_m_ratio\".");
    if (*c.dim != 0 && *c.dim != 1)
      field_fail("\"dim\" must be 1 or 0. Got " + std::to_string(*c.dim) + ".");
  }
  check_weight_threshold(c.weight_threshold);
  if (c.block_size && !c.dim) c.dim = 0;
  if (c.n_m_ratio && !c.dim) c.dim = 1;
}

void validate_op_type(const OpConfig& config, const std::string& op_type) {
  if (const auto* m = std::get_if<OpMagnitudePrunerConfig>(&config);
      m && m->is_structural() && op_type != "conv" && op_type != "linear") {
    throw Error("op_type_configs[\"" + op_type +
                "\"]: block sparsity or n:m pruning does not support op type " + op_type +
                ". (a structural OpMagnitudePrunerConfig, with \"block_size\" or \"n_m_ratio\", "
                "is only for op types conv and linear)");
  }
}

MaybeOpConfig build_entry(const std::string& default_type, const json& value,
                          const std::string& where) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_object()) {
    throw Error(where + ": expected a mapping of config parameters or null, got " + py_type(value) +
                " " + py_str(value));
  }
  std::string type = default_type;
  json attrs = value;
  if (auto it = attrs.find("config_type"); it != attrs.end()) {
    if (!it->is_string())
      throw Error(where + ": \"config_type\" must be a string, one of " + kConfigTypes + "; got " +
                  py_str(*it));
    type = it->get<std::string>();
    attrs.erase(it);
  }
  if (type != kLinear && type != kPalettizer && type != kThreshold && type != kMagnitude) {
    throw Error(where + ": unknown config_type \"" + type + "\" (expected one of " + kConfigTypes +
                ")");
  }
  try {
    OpConfig config = structure(type, attrs);
    std::visit([](auto& c) { validate_one(c); }, config);
    return config;
  } catch (const FieldError& e) {
    throw Error(where + " (" + type + "): " + e.message);
  }
}

}  // namespace

// --- public ------------------------------------------------------------------------------------

std::string granularity_name(Granularity g) {
  switch (g) {
    case Granularity::per_tensor:
      return "per_tensor";
    case Granularity::per_grouped_channel:
      return "per_grouped_channel";
    case Granularity::per_channel:
      return "per_channel";
    case Granularity::per_block:
      return "per_block";
  }
  return "per_tensor";
}

int OpLinearQuantizerConfig::nbits() const { return dtype.ends_with('4') ? 4 : 8; }
bool OpLinearQuantizerConfig::is_signed() const { return !dtype.starts_with('u'); }

std::string config_type_name(const OpConfig& config) {
  static const char* const names[] = {kLinear, kPalettizer, kThreshold, kMagnitude};
  return names[config.index()];
}

const std::optional<int64_t>& weight_threshold_of(const OpConfig& config) {
  return std::visit(
      [](const auto& c) -> const std::optional<int64_t>& { return c.weight_threshold; }, config);
}

void validate(OpConfig& config) {
  try {
    std::visit([](auto& c) { validate_one(c); }, config);
  } catch (const FieldError& e) {
    throw Error(config_type_name(config) + ": " + e.message);
  }
}

void OptimizationConfig::set_global(MaybeOpConfig config) { global_config = std::move(config); }

void OptimizationConfig::set_op_type(const std::string& op_type, MaybeOpConfig config) {
  if (config) validate_op_type(*config, op_type);
  op_type_configs[op_type] = std::move(config);
}

void OptimizationConfig::set_op_name(const std::string& op_name, MaybeOpConfig config) {
  op_name_configs[op_name] = std::move(config);
}

OptimizationConfig OptimizationConfig::from_dict(const json& dict) {
  if (!dict.is_object()) {
    throw Error(
        "a config must be a mapping with the keys config_type, global_config, "
        "op_type_configs, op_name_configs; got " +
        py_type(dict) + (dict.is_null() ? " (an empty document)" : ""));
  }
  for (const auto& [key, value] : dict.items()) {
    (void)value;
    if (key != "config_type" && key != "global_config" && key != "op_name_configs" &&
        key != "op_type_configs") {
      throw Error("Invalid key " + key +
                  " to construct an OptimizationConfig object. Supported keys are "
                  "(config_type, global_config, op_name_configs, op_type_configs).");
    }
  }
  auto type_it = dict.find("config_type");
  if (type_it == dict.end() || !type_it->is_string())
    throw Error("config_type must be provided with type of string. (one of " +
                std::string(kConfigTypes) + ")");
  const std::string type = type_it->get<std::string>();
  // coremltools only looks the class up when an entry needs it; mlpress checks it always.
  if (type != kLinear && type != kPalettizer && type != kThreshold && type != kMagnitude)
    throw Error("config_type: unknown config_type \"" + type + "\" (expected one of " +
                kConfigTypes + ")");

  OptimizationConfig config;
  if (auto it = dict.find("global_config"); it != dict.end() && !it->is_null())
    config.global_config = build_entry(type, *it, "global_config");
  for (const char* key : {"op_type_configs", "op_name_configs"}) {
    auto it = dict.find(key);
    if (it == dict.end() || it->is_null()) continue;
    if (!it->is_object())
      throw Error(std::string(key) + " must be type of dict. Got " + py_type(*it));
    auto& target =
        std::string(key) == "op_type_configs" ? config.op_type_configs : config.op_name_configs;
    for (const auto& [name, value] : it->items()) {
      target[name] = build_entry(type, value, std::string(key) + "[\"" + name + "\"]");
    }
  }
  for (const auto& [op_type, entry] : config.op_type_configs)
    if (entry) validate_op_type(*entry, op_type);
  return config;
}

OptimizationConfig OptimizationConfig::from_json_text(std::string_view text) {
  json dict;
  try {
    dict = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    throw Error(std::string("config is not valid JSON: ") + e.what());
  }
  return from_dict(dict);
}

OptimizationConfig OptimizationConfig::from_yaml(std::string_view text) {
  return from_dict(parse_yaml(text));
}

json to_json(const OpConfig& config) {
  auto opt_int = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  auto num = [](double d) {
    if (std::isnan(d)) return json("nan");
    if (std::isinf(d)) return json(d < 0 ? "-inf" : "inf");
    return json(d);
  };
  json j;
  j["config_type"] = config_type_name(config);
  if (const auto* c = std::get_if<OpLinearQuantizerConfig>(&config)) {
    j["mode"] = c->mode;
    j["dtype"] = c->dtype;
    j["granularity"] = granularity_name(c->granularity);
    if (const auto* i = std::get_if<int64_t>(&c->block_size)) {
      j["block_size"] = *i;
    } else {
      j["block_size"] = std::get<std::vector<int64_t>>(c->block_size);
    }
    j["weight_threshold"] = opt_int(c->weight_threshold);
  } else if (const auto* p = std::get_if<OpPalettizerConfig>(&config)) {
    j["mode"] = p->mode;
    j["nbits"] = opt_int(p->nbits);
    j["granularity"] = granularity_name(p->granularity);
    j["group_size"] = p->group_size;
    j["channel_axis"] = opt_int(p->channel_axis);
    j["cluster_dim"] = p->cluster_dim;
    j["enable_per_channel_scale"] = p->enable_per_channel_scale;
    j["num_kmeans_workers"] = p->num_kmeans_workers;
    j["weight_threshold"] = opt_int(p->weight_threshold);
  } else if (const auto* t = std::get_if<OpThresholdPrunerConfig>(&config)) {
    j["threshold"] = num(t->threshold);
    j["minimum_sparsity_percentile"] = num(t->minimum_sparsity_percentile);
    j["weight_threshold"] = opt_int(t->weight_threshold);
  } else {
    const auto& m = std::get<OpMagnitudePrunerConfig>(config);
    j["target_sparsity"] = m.target_sparsity ? num(*m.target_sparsity) : json(nullptr);
    j["block_size"] = opt_int(m.block_size);
    j["n_m_ratio"] =
        m.n_m_ratio ? json::array({m.n_m_ratio->first, m.n_m_ratio->second}) : json(nullptr);
    j["dim"] = opt_int(m.dim);
    j["weight_threshold"] = opt_int(m.weight_threshold);
  }
  return j;
}

json to_json(const MaybeOpConfig& config) { return config ? to_json(*config) : json(nullptr); }

json to_json(const OptimizationConfig& config) {
  json j;
  j["global_config"] = to_json(config.global_config);
  j["op_type_configs"] = json::object();
  for (const auto& [k, v] : config.op_type_configs) j["op_type_configs"][k] = to_json(v);
  j["op_name_configs"] = json::object();
  for (const auto& [k, v] : config.op_name_configs) j["op_name_configs"][k] = to_json(v);
  return j;
}

std::string to_repr(const MaybeOpConfig& config) {
  if (!config) return "None";
  const json j = to_json(*config);
  std::string s = j["config_type"].get<std::string>() + "(";
  bool first = true;
  for (const auto& [key, value] : j.items()) {
    if (key == "config_type") continue;
    if (!first) s += ", ";
    first = false;
    std::string v;
    if (value.is_string()) {
      v = "'" + value.get<std::string>() + "'";
    } else if (value.is_number_float()) {
      v = py_float(value.get<double>());
    } else {
      v = py_str(value);
    }
    s += key + "=" + v;
  }
  return s + ")";
}

void check_config_for(const OptimizationConfig& config, Api api) {
  auto check = [&](const MaybeOpConfig& c) {
    if (!c) return;
    bool ok = false;
    std::string pass, types;
    switch (api) {
      case Api::linear_quantize_weights:
        ok = std::holds_alternative<OpLinearQuantizerConfig>(*c);
        pass = "linear_quantize_weights";
        types = kLinear;
        break;
      case Api::palettize_weights:
        ok = std::holds_alternative<OpPalettizerConfig>(*c);
        pass = "palettize_weights";
        types = kPalettizer;
        break;
      case Api::prune_weights:
        ok = std::holds_alternative<OpThresholdPrunerConfig>(*c) ||
             std::holds_alternative<OpMagnitudePrunerConfig>(*c);
        pass = "prune_weights";
        types = std::string(kThreshold) + ", " + kMagnitude;
        break;
    }
    if (!ok)
      throw Error(pass + " only accept " + types + " type config. Got " + config_type_name(*c) +
                  ".");
  };
  check(config.global_config);
  for (const auto& [k, v] : config.op_type_configs) check(v);
  for (const auto& [k, v] : config.op_name_configs) check(v);
}

}  // namespace mlpress::config
