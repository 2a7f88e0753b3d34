#pragma once
// The rewrite report as JSON, shared by `mlpress compress --json` and the wasm module.
#include <nlohmann/json.hpp>

#include "core/rewrite/rewrite.h"

namespace mlpress {

nlohmann::json report_json(const RewriteReport& report);

}  // namespace mlpress
