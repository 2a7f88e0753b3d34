#include "core/package/manifest.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "core/io/error.h"

namespace mlpress {
namespace {

std::string required_string(const nlohmann::json& object, const char* key,
                            const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) throw Error(where + ": missing \"" + key + "\"");
  if (!it->is_string()) throw Error(where + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

// A manifest path must stay inside Data/: no absolute paths, no "..", no empty components.
void check_item_path(const std::string& path, const std::string& where) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string::npos) {
    throw Error(where + ": path \"" + path + "\" is not a relative '/'-separated path");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == ".." || part == ".") {
      throw Error(where + ": path \"" + path + "\" leaves the package's Data folder");
    }
    start = end + 1;
  }
}

bool is_scanf_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// One "%d" of scanf at text[i]: white space, an optional sign, one or more decimal digits.
// Moves i past it; false when there is no number. Values past a billion are held at a
// billion (every such version is refused as newer than 1.0.0 either way).
bool scan_decimal(std::string_view text, size_t& i, int64_t& value) {
  while (i < text.size() && is_scanf_space(text[i])) ++i;
  const bool negative = i < text.size() && text[i] == '-';
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  const size_t first = i;
  value = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
    value = std::min<int64_t>(value * 10 + (text[i] - '0'), 1000000000);
  if (negative) value = -value;
  return i > first;
}

// The three numbers of "major.minor.patch" as sscanf(version, "%d.%d.%d%c") reads them when it
// reads exactly three (nothing may follow the patch number). Written out rather than calling
// sscanf, which brings libc's whole scanf into the wasm module for this one string.
std::optional<std::array<int64_t, 3>> version_numbers(std::string_view text) {
  std::array<int64_t, 3> parts{};
  size_t i = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0 && (i >= text.size() || text[i++] != '.')) return std::nullopt;
    if (!scan_decimal(text, i, parts[k])) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  return parts;
}

void check_format_version(const std::string& version, const std::string& origin) {
  // sscanf stopped at the string's end, the first NUL.
  const auto parts = version_numbers(std::string_view(version.c_str()));
  if (!parts || std::any_of(parts->begin(), parts->end(), [](int64_t n) { return n < 0; })) {
    throw Error(origin + ": fileFormatVersion \"" + version + "\" is not major.minor.patch");
  }
  const auto [major, minor, patch] = *parts;
  if (major > 1 || (major == 1 && (minor > 0 || patch > 0))) {
    throw Error(origin + ": fileFormatVersion " + version +
                " is newer than 1.0.0, the only version Core ML packages use");
  }
}

}  // namespace

Manifest parse_manifest(std::span<const std::byte> bytes, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                reinterpret_cast<const char*>(bytes.data()) + bytes.size());
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(origin + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  }
  if (!doc.is_object()) throw Error(origin + ": not a JSON object");

  Manifest manifest;
  manifest.file_format_version = required_string(doc, "fileFormatVersion", origin);
  check_format_version(manifest.file_format_version, origin);
  manifest.root_model_identifier = required_string(doc, "rootModelIdentifier", origin);

  auto entries = doc.find("itemInfoEntries");
  if (entries == doc.end() || !entries->is_object()) {
    throw Error(origin + ": missing \"itemInfoEntries\" object");
  }
  for (const auto& [identifier, info] : entries->items()) {
    const std::string where = origin + ": item " + identifier;
    if (!info.is_object()) throw Error(where + ": not a JSON object");
    ManifestItem item;
    item.identifier = identifier;
    item.author = required_string(info, "author", where);
    item.description = required_string(info, "description", where);
    item.name = required_string(info, "name", where);
    item.path = required_string(info, "path", where);
    check_item_path(item.path, where);
    manifest.items.emplace(identifier, std::move(item));
  }
  manifest.root_model(origin);
  return manifest;
}

const ManifestItem& Manifest::root_model(const std::string& origin) const {
  auto it = items.find(root_model_identifier);
  if (it == items.end()) {
    throw Error(origin + ": rootModelIdentifier \"" + root_model_identifier +
                "\" names no entry of itemInfoEntries");
  }
  return it->second;
}

const ManifestItem* Manifest::find(const std::string& name, const std::string& author) const {
  for (const auto& [id, item] : items) {
    if (item.name == name && item.author == author) return &item;
  }
  return nullptr;
}

}  // namespace mlpress
