#pragma once
// Automatic mixed precision: one choice per weight from a sensitivity report.
//
// - With a target size: the least total squared weight error sum ||w - w'||^2 whose weight
//   files fit the target (knapsack.h: exact DP on 64-byte units when the budget allows).
// - With a minimum SNR: only choices keeping every weight at that SNR or above; without a
//   target, the smallest such choice per weight (ties: the smaller error).
// - Keep first and last (default): the first and the last planned weight in program order
//   may only stay dense or take an 8-bit choice (int8, 8-bit palettization).
// Weights sharing a const op name (one const in several functions) are one item: an
// op_name_configs entry applies to all of them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/plan/sensitivity.h"

namespace mlpress::plan {

struct PlanRequest {
  std::optional<uint64_t> target_bytes;  // of the weight files (see SensitivityReport)
  std::optional<double> min_snr_db;
  bool keep_first_last = true;
};

struct PlanItem {
  std::string op_name;
  std::vector<size_t> weights;       // indices into SensitivityReport::weights
  size_t choice = 0;                 // index into SensitivityReport::choices
  bool kept_high_precision = false;  // first or last, restricted to 8-bit choices
  uint64_t file_bytes = 0;           // the weight-file bytes of the chosen form
  double sq_error = 0;
};

struct Plan {
  std::vector<PlanItem> items;        // program order
  uint64_t predicted_file_bytes = 0;  // fixed bytes plus every item's: an upper bound
  double total_sq_error = 0;
  std::optional<uint64_t> target_bytes;
  std::string method;  // how it was found, for the report
};

// Throws mlpress::Error when nothing fits the target.
Plan make_plan(const SensitivityReport& report, const PlanRequest& request);

// "25%" (of report.weight_file_bytes), "40MB" (10^6), "38MiB" (2^20), "12KB", "1GB",
// "123456" or "123456B". Throws mlpress::Error naming the text.
uint64_t parse_target_size(const std::string& text, uint64_t weight_file_bytes);

}  // namespace mlpress::plan
