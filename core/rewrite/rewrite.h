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

namespace rewrite {
class PrecomputedResults;  // precomputed.h
}

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
  // Weights compressed ahead of time by precompute_weights (with the same input and steps):
  // each is spliced in at its place instead of being compressed here, and the output is the
  // same bytes. Weights it lacks are compressed here. A single, non-joint step only.
  rewrite::PrecomputedResults* precomputed = nullptr;
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

// Splitting the compression of one rewrite between processes that share no memory: each
// compresses a share of the weights into a results file (precompute_weights), then one
// rewrite_package with `precomputed` over those files writes the package.
struct PrecomputeCandidate {
  uint64_t index = 0;  // the weight's index in the rewrite's report
  std::string name;
  uint64_t dense_bytes = 0;
};
struct PrecomputePlan {
  bool splittable = false;
  std::string reason;                        // why not, when not splittable
  std::vector<PrecomputeCandidate> weights;  // the weights the step compresses, in report order
};
// Plans `options` on `in_path` (every config error is thrown here, as rewrite_package would);
// splittable for a single step that is not joint: the weights it would compress.
PrecomputePlan precompute_candidates(const std::string& in_path, const RewriteOptions& options);

// Compresses the weights of `indices` (PrecomputeCandidate::index) one at a time, in the walk's
// order, appending each result to a new file `results_path`. options.on_progress counts this
// share; returning false cancels (Cancelled; the results file is then incomplete, and the caller
// discards it). A weight whose compressor throws is stored as that error (the rewrite throws it
// at that weight's place, as a single run would) and ends the share. Returns the results written.
uint64_t precompute_weights(const std::string& in_path, const std::string& results_path,
                            const RewriteOptions& options, const std::vector<uint64_t>& indices);

}  // namespace mlpress
