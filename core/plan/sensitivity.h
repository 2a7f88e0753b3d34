#pragma once
// Sensitivity analysis: every candidate weight of a package evaluated under every choice
// (choices.h), with the error each causes and the bytes each stores, plus the byte accounting
// of the package's weight files that the planner needs. Reads the package, writes nothing.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/plan/choices.h"
#include "core/plan/evaluate_choices.h"

namespace mlpress::plan {

// The choice whose relative error defines a weight's sensitivity: 4-bit per-tensor k-means
// palettization, the one 4-bit choice every target (iOS16 and later) can take.
inline constexpr const char* kSensitivityChoice = "pal4_tensor";

struct WeightSensitivity {
  std::string program;  // "main program", "models[1]", ...
  std::string function;
  std::string name;     // the const's output var
  std::string op_name;  // the const op: the key op_name_configs use
  std::vector<uint64_t> shape;
  std::string dtype;  // fp16 or fp32
  int opset_version = 6;
  double sq_norm = 0;                 // sum w^2
  std::vector<ChoiceResult> choices;  // parallel to SensitivityReport::choices
  // Relative error under kSensitivityChoice; +inf when the weight cannot take it.
  double sensitivity = 0;
  // Whether the dense blob's slot is charged to this weight (its "dense" file bytes): false
  // when a value other than consts of the same op name shares the blob (it then stays
  // whatever the choice), and for all but the first of several consts of one op name that
  // share it (one const in several functions).
  bool owns_blob = true;
};

struct SensitivityReport {
  int64_t weight_threshold = 2048;
  std::vector<Choice> choices;
  std::vector<WeightSensitivity> weights;  // program, function and op order
  // The weight files as a lossless rewrite writes them, as an upper bound (each file's
  // header plus every blob's 64-byte-aligned slot; the real file is at most 63 bytes smaller
  // per file): the 100% of a relative target size.
  uint64_t weight_file_bytes = 0;
  // The part of weight_file_bytes that no choice changes: headers and every blob that is not
  // a candidate weight's own.
  uint64_t fixed_file_bytes = 0;

  size_t choice_index(const std::string& id) const;  // throws std::out_of_range
};

struct SensitivityProgress {
  uint64_t done = 0;
  uint64_t total = 0;
  std::string weight;  // the weight about to be evaluated; empty when done
};

struct SensitivityOptions {
  int64_t weight_threshold = 2048;  // candidates have more elements than this
  unsigned threads = 0;             // 0: every core; ignored in wasm
  // Called before each weight and once at the end; returning false throws Cancelled.
  std::function<bool(const SensitivityProgress&)> on_progress;
};

// Throws mlpress::Error on an unreadable package, Cancelled when the callback says so.
SensitivityReport analyze_sensitivity(const std::string& package_path,
                                      const SensitivityOptions& options = {});

// Weight indices, most sensitive first (ties: by op name, function, then name).
std::vector<size_t> sensitivity_ranking(const SensitivityReport& report);

}  // namespace mlpress::plan
