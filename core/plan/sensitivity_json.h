#pragma once
// The sensitivity report as JSON (schema: docs/sensitivity.md) and as the CLI's text table.
#include <nlohmann/json.hpp>
#include <string>

#include "core/plan/sensitivity.h"

namespace mlpress::plan {

// Non-finite numbers (an exact copy's SNR, an unknown sensitivity) become null.
nlohmann::json choice_result_json(const ChoiceResult& result);
nlohmann::json sensitivity_json(const SensitivityReport& report);

// One row per weight, most sensitive first.
std::string format_sensitivity_text(const SensitivityReport& report);

}  // namespace mlpress::plan
