// Embind bindings for compressing with several workers (issue #6, "Parallel"): workers share no
// memory, so each compresses a share of the weights into a results file, and one ordinary
// compress splices them in (core/rewrite/precomputed.h). The output is the single run's bytes.
//
//   splitWeights(inPath, configText, parts) -> JSON text {"splittable", "reason", "weights":
//       [{"index", "name", "dense_bytes"}], "shares": [[index, ...], ...]}: the weights the
//       config compresses, split into `parts` shares of about equal dense size. Not splittable
//       (shares empty): a lossless rewrite, a job of several steps, a joint step.
//   precompute(inPath, resultsPath, configText, indicesJson[, onProgress]) -> JSON text
//       {"written": n}: compresses the weights of `indicesJson` (a JSON array of indices from
//       splitWeights) one at a time into the new file resultsPath. onProgress({done, total,
//       weight}) counts this share; false cancels (Error "cancelled"; discard the file).
//   compressWithResults(inPath, outPath, configText, resultsPathsJson[, onProgress]) -> as
//       compress, taking every weight found in the results files (a JSON array of paths)
//       instead of compressing it.
//
// Errors reach JavaScript as an Error with the core's message, as in bindings.cc.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/io/error.h"
#include "core/rewrite/precomputed.h"
#include "core/rewrite/report_json.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/step_from_text.h"
#include "wasm/js_errors.h"

namespace {

using mlpress::wasm::guarded;

mlpress::RewriteOptions options_for(const std::string& config_text,
                                    const emscripten::val& on_progress) {
  mlpress::RewriteOptions options;
  if (config_text.find_first_not_of(" \t\r\n") != std::string::npos) {
    options.steps = mlpress::steps_from_job_text(config_text, "config");
  }
  if (!on_progress.isUndefined() && !on_progress.isNull()) {
    options.on_progress = [&on_progress](const mlpress::RewriteProgress& progress) {
      return mlpress_call_progress(on_progress.as_handle(), static_cast<double>(progress.done),
                                   static_cast<double>(progress.total),
                                   progress.weight.c_str()) != 0;
    };
  }
  return options;
}

template <class T>
std::vector<T> json_array_of(const std::string& text, const char* what) {
  try {
    return nlohmann::json::parse(text).get<std::vector<T>>();
  } catch (const nlohmann::json::exception&) {
    throw mlpress::Error(std::string(what) + ": expected a JSON array");
  }
}

std::string split_weights(const std::string& in_path, const std::string& config_text, int parts) {
  return guarded([&] {
    if (parts < 1) throw mlpress::Error("splitWeights: parts must be at least 1");
    const auto plan =
        mlpress::precompute_candidates(in_path, options_for(config_text, emscripten::val::null()));
    nlohmann::json out = {{"splittable", plan.splittable},
                          {"reason", plan.reason},
                          {"weights", nlohmann::json::array()},
                          {"shares", nlohmann::json::array()}};
    std::vector<std::pair<uint64_t, uint64_t>> sizes;
    for (const auto& w : plan.weights) {
      out["weights"].push_back(
          {{"index", w.index}, {"name", w.name}, {"dense_bytes", w.dense_bytes}});
      sizes.emplace_back(w.index, w.dense_bytes);
    }
    if (plan.splittable) {
      for (const auto& share : mlpress::rewrite::split_by_size(sizes, size_t(parts)))
        out["shares"].push_back(share);
    }
    return out.dump();
  });
}

std::string precompute(const std::string& in_path, const std::string& results_path,
                       const std::string& config_text, const std::string& indices_json,
                       const emscripten::val& on_progress) {
  return guarded([&] {
    const auto indices = json_array_of<uint64_t>(indices_json, "precompute: indices");
    const uint64_t written = mlpress::precompute_weights(
        in_path, results_path, options_for(config_text, on_progress), indices);
    return nlohmann::json{{"written", written}}.dump();
  });
}

std::string precompute_quietly(const std::string& in_path, const std::string& results_path,
                               const std::string& config_text, const std::string& indices_json) {
  return precompute(in_path, results_path, config_text, indices_json, emscripten::val::null());
}

std::string compress_with_results(const std::string& in_path, const std::string& out_path,
                                  const std::string& config_text,
                                  const std::string& results_paths_json,
                                  const emscripten::val& on_progress) {
  return guarded([&] {
    const auto paths =
        json_array_of<std::string>(results_paths_json, "compressWithResults: results paths");
    mlpress::rewrite::PrecomputedResults results(paths);
    mlpress::RewriteOptions options = options_for(config_text, on_progress);
    options.precomputed = &results;
    return mlpress::report_json(mlpress::rewrite_package(in_path, out_path, options)).dump();
  });
}

std::string compress_with_results_quietly(const std::string& in_path, const std::string& out_path,
                                          const std::string& config_text,
                                          const std::string& results_paths_json) {
  return compress_with_results(in_path, out_path, config_text, results_paths_json,
                               emscripten::val::null());
}

}  // namespace

EMSCRIPTEN_BINDINGS(mlpress_parallel) {
  emscripten::function("splitWeights", &split_weights);
  emscripten::function("precompute", &precompute_quietly);
  emscripten::function("precompute", &precompute);  // ... , onProgress)
  emscripten::function("compressWithResults", &compress_with_results_quietly);
  emscripten::function("compressWithResults", &compress_with_results);  // ... , onProgress)
}
