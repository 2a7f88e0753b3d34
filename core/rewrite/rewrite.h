#pragma once
// Rewrites a package: every weight carried over into a fresh weight.bin, and the weights a
// compression config selects replaced by constexpr ops. The CLI and the wasm module both call
// this one orchestrator.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config.h"

namespace mlpress {

// One coremltools call: linear_quantize_weights(model, config) and so on.
struct CompressionStep {
  config::Api api = config::Api::linear_quantize_weights;
  config::OptimizationConfig config;
  // coremltools' joint_compression argument (iOS18+): recompress what earlier steps wrote
  // (shared/spec/COMPRESSION.md §6) instead of leaving compressed weights alone.
  bool joint_compression = false;
  // Beyond coremltools: when palettizing or quantizing a pruned weight, fit the LUT or the
  // quantization parameters to the nonzero values only (the pruned zeros stay exact anyway).
  bool nonzero_only = false;
};

// Where a rewrite is: `done` of `total` weights compressed, and the weight about to be
// compressed next (empty once all are done and the output is being written).
struct RewriteProgress {
  uint64_t done = 0;
  uint64_t total = 0;
  std::string weight;
};

struct RewriteOptions {
  // Applied in order, each step seeing what the previous one wrote (as separate coremltools
  // calls would); empty = lossless rewrite.
  std::vector<CompressionStep> steps;
  // Called before each weight is compressed and once before the output is written. Returning
  // false cancels: the rewrite throws Cancelled and leaves no output behind.
  std::function<bool(const RewriteProgress&)> on_progress;
};

// What happened to one weight that a compression step looked at.
struct WeightOutcome {
  size_t step = 0;  // 1-based index of the step that produced this outcome (0: none)
  std::string program;
  std::string function;
  std::string name;     // the const's (or compressed chain's) output var
  std::string op_name;  // the const op
  std::vector<uint64_t> shape;
  std::string dtype;
  bool compressed = false;
  std::string op_type;      // the constexpr op written, when compressed
  std::string reason;       // why it was skipped, when not compressed
  std::string config_from;  // which config entry applied ("global_config", ...)
  uint64_t dense_bytes = 0;
  uint64_t stored_bytes = 0;  // payload bytes of the compressed form
  double snr_db = 0;
  double cosine = 0;
};

struct RewriteReport {
  uint64_t blobs_written = 0;          // across all blob files
  uint64_t blob_bytes_written = 0;     // total size of the new blob files
  uint64_t output_bytes = 0;           // size of the output zip, or of the directory's files
  std::vector<WeightOutcome> weights;  // every weight a step considered (not tiny constants)
};

// Reads `in_path` (zip or package directory; never modified) and writes `out_path`: a zip
// holding one NAME.mlpackage/ folder when it ends in ".zip", a package directory when it ends
// in ".mlpackage". Written to a temporary name first and renamed only when complete; refuses
// out_path == in_path. Throws mlpress::Error naming what is wrong; every invalid request is
// refused before any output is written.
RewriteReport rewrite_package(const std::string& in_path, const std::string& out_path,
                              const RewriteOptions& options = {});

}  // namespace mlpress
