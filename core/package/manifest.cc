#include "core/package/manifest.h"

#include <nlohmann/json.hpp>

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

void check_format_version(const std::string& version, const std::string& origin) {
  int major = -1, minor = -1, patch = -1;
  char tail = 0;
  if (std::sscanf(version.c_str(), "%d.%d.%d%c", &major, &minor, &patch, &tail) != 3 || major < 0 ||
      minor < 0 || patch < 0) {
    throw Error(origin + ": fileFormatVersion \"" + version + "\" is not major.minor.patch");
  }
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
