#pragma once
// Manifest.json of an .mlpackage (shared/spec/FORMAT.md §1.2).
#include <cstddef>
#include <map>
#include <span>
#include <string>

namespace mlpress {

struct ManifestItem {
  std::string identifier;
  std::string author;
  std::string description;
  std::string name;
  std::string path;  // relative to <package>/Data/, '/'-separated
};

struct Manifest {
  std::string file_format_version;
  std::string root_model_identifier;
  std::map<std::string, ManifestItem> items;  // by identifier

  // The root model item; throws naming `origin` when rootModelIdentifier names no item.
  const ManifestItem& root_model(const std::string& origin) const;
  // Item found by (name, author), as coremltools looks up the weights directory.
  const ManifestItem* find(const std::string& name, const std::string& author) const;
};

// Parses and validates Manifest.json; `origin` names the file in error messages.
Manifest parse_manifest(std::span<const std::byte> bytes, const std::string& origin);

}  // namespace mlpress
