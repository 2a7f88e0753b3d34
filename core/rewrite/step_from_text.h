#pragma once
// A coremltools OptimizationConfig given as text (YAML or JSON, told apart by the first
// character), with the compression call its config types select.
#include <string>
#include <string_view>

#include "core/rewrite/rewrite.h"

namespace mlpress {

// Throws mlpress::Error naming `origin` when the text is invalid or mixes quantizer,
// palettizer and pruner configs (coremltools applies those in separate calls).
CompressionStep step_from_config_text(std::string_view text, const std::string& origin);

}  // namespace mlpress
