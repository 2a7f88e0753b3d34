#pragma once
// A dry run of rewrite_package: which weights a compression config will compress or skip, and
// why, with the size each compressed weight is expected to take -- without compressing
// anything or writing any output. The page shows it before a run.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/rewrite/rewrite.h"

namespace mlpress {

struct PlannedWeight {
  WeightOutcome outcome;  // as rewrite_package would report it, but for the values' statistics
  // The constexpr op to be written, when compressed; empty for an existing chain a joint step
  // recompresses (the final op depends on the chain's kind and the program's opset).
  std::string op_type;
  // Expected weight.bin bytes of the compressed payload (indices or values, LUT, scales, mask;
  // payloads of fewer than 10 elements go inline and do not count), as stored_bytes counts
  // them: exact for quantization and palettization, an upper bound for magnitude pruning
  // (kept values that are zero already are not stored); nullopt when it depends on the
  // values (threshold pruning, unique-value palettization) or is not estimated (joint
  // recompression of an existing chain).
  std::optional<uint64_t> expected_bytes;
};

struct PackagePlan {
  std::vector<PlannedWeight> weights;  // in the order rewrite_package reports them
  uint64_t dense_bytes = 0;            // of the weights to be compressed
  uint64_t expected_bytes = 0;         // their expected bytes (those with an estimate)
  uint64_t unknown = 0;                // compressed weights without an estimate
};

// Reads `in_path` (zip or package directory) and plans `options.steps` (one step: a later
// step's candidates depend on what the earlier ones wrote) the same way rewrite_package does: the
// same candidates (a joint step's existing chains too), config resolution and target checks, so
// the same errors are thrown for the same configs; what the compressors would do while writing
// is forecast by write_refusal.h. Not forecast: joint_const's errors while writing.
PackagePlan plan_package(const std::string& in_path, const RewriteOptions& options);

// {"weights": [...], "dense_bytes", "expected_bytes", "unknown"}: each weight as in
// report_json (name, op_name, program, function, shape, dtype, compressed, dense_bytes, and
// reason or op_type + config_from), with "expected_bytes" (null: depends on the values) in
// place of the measured "stored_bytes", "snr_db" and "cosine".
nlohmann::json plan_json(const PackagePlan& plan);

}  // namespace mlpress
