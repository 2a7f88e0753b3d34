#pragma once
// `mlpress inspect`: a model summary and a per-weight table, as text or JSON.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace mlpress {

struct InspectOptions {
  // List only weights with more elements than this (coremltools' weight_threshold idea);
  // 0 lists every numeric tensor constant of rank >= 1.
  uint64_t weight_threshold = 0;
};

// Opens the package at `path` (a .zip or a package directory) and describes it. The JSON
// schema is documented in docs/inspect-json.md.
nlohmann::json inspect_package(const std::string& path, const InspectOptions& options = {});

// The same data as a human-readable table. Constants of fewer than `min_elements` elements
// (conv strides, pads, axes: never compression candidates) are counted but not listed.
std::string format_inspect_text(const nlohmann::json& report, uint64_t min_elements = 10);

}  // namespace mlpress
