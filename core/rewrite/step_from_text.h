#pragma once
// A coremltools OptimizationConfig given as text (YAML or JSON, told apart by the first
// character), with the compression call its config types select.
#include <string>
#include <string_view>
#include <vector>

#include "core/rewrite/rewrite.h"

namespace mlpress {

// Throws mlpress::Error naming `origin` when the text is invalid or mixes quantizer,
// palettizer and pruner configs (coremltools applies those in separate calls).
CompressionStep step_from_config_text(std::string_view text, const std::string& origin);

// A job: either one coremltools config (one step, as step_from_config_text) or a job document
// (JSON or YAML) listing steps in order:
//   {"steps": [{"config": {...coremltools config...}},
//              {"config": {...}, "joint_compression": true, "nonzero_only": false}]}
// joint_compression (coremltools' argument) and nonzero_only default to false. Throws
// mlpress::Error naming `origin` and the step.
std::vector<CompressionStep> steps_from_job_text(std::string_view text, const std::string& origin);

}  // namespace mlpress
