#pragma once
// A small YAML reader for configuration files: the subset coremltools users write for
// OptimizationConfig.from_yaml. Scalars resolve the way PyYAML's safe_load does (YAML 1.1:
// yes/no/on/off are booleans, "1e-3" without a dot is a string, 0o/0x/0b and leading-zero
// octal integers, "~" and "" are null).
//
// Supported: block mappings and sequences (including "- key: value" items), flow mappings
// {a: 1} and flow sequences [3, 4] (nested, may span lines), plain, single- and double-quoted
// scalars, comments, a leading "---" and a trailing "...". Anchors, aliases, tags, block
// scalars (| and >), multi-line plain scalars and complex keys are refused with an error.
// Every error names the line and column (1-based), e.g. "YAML line 3, column 5: ...".
#include <nlohmann/json.hpp>
#include <string_view>

namespace mlpress::config {

// Parses one YAML document. Mapping keys become JSON object keys (their text); duplicate keys
// keep the last value, as PyYAML does. An empty document gives null. Throws mlpress::Error.
nlohmann::json parse_yaml(std::string_view text);

}  // namespace mlpress::config
