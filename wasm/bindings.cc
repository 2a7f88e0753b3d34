// Embind bindings over the mlpress core: the functions the web worker (and the node tests)
// call. Every failure reaches JavaScript as a thrown `Error` whose message is the core's
// message verbatim -- never as an abort or a bare exception pointer.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>
#include <emscripten/val.h>

#include <exception>
#include <string>
#include <utility>

#include "core/inspect/inspect.h"
#include "core/io/error.h"
#include "core/rewrite/decompress.h"
#include "core/rewrite/plan_package.h"
#include "core/rewrite/report_json.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/step_from_text.h"
#include "core/rewrite/weight_histogram.h"
#include "wasm/js_errors.h"

// The EM_JS bodies are JavaScript: clang-format would split operators such as !==.
// clang-format off
// Throws `new Error(message)` into the JavaScript caller -- or, when a JS callback of the
// current call threw (and so cancelled it), that callback's own exception.
EM_JS(void, mlpress_throw_js_error, (const char* message), {
  var pending = Module["mlpressCallbackError"];
  if (pending !== undefined) {
    Module["mlpressCallbackError"] = undefined;
    throw pending;
  }
  throw new Error(UTF8ToString(message));
});

// Calls the JS progress callback `fn` with {done, total, weight}. Returns 1 to go on, 0 when
// the callback returned false. An exception from the callback must not unwind through the
// core's frames (their destructors would not run): it is caught here, kept, and returned as 0,
// so that the core cancels cleanly; mlpress_throw_js_error then rethrows it.
EM_JS(int, mlpress_call_progress,
      (emscripten::EM_VAL fn, double done, double total, const char* weight), {
        try {
          var answer =
              Emval.toValue(fn)({done : done, total : total, weight : UTF8ToString(weight)});
          return answer === false ? 0 : 1;
        } catch (e) {
          Module["mlpressCallbackError"] = e;
          return 0;
        }
      });
// clang-format on

namespace {

using mlpress::wasm::guarded;

// The JSON report of `mlpress inspect` for the package at `path` (a path in the module's FS),
// compact; with `indent` >= 0, indented like `mlpress inspect --json` (which adds a newline).
std::string inspect_indented(const std::string& path, int indent) {
  return guarded([&] { return mlpress::inspect_package(path).dump(indent); });
}

std::string inspect(const std::string& path) { return inspect_indented(path, -1); }

// What rewrite() returns to JS. Byte counts as doubles: exact below 2^53, and plain JS numbers
// (no BigInt needed).
struct RewriteResult {
  double blobs_written = 0;
  double blob_bytes_written = 0;
  double output_bytes = 0;
};

RewriteResult rewrite(const std::string& in_path, const std::string& out_path) {
  return guarded([&] {
    const mlpress::RewriteReport report = mlpress::rewrite_package(in_path, out_path);
    RewriteResult result;
    result.blobs_written = static_cast<double>(report.blobs_written);
    result.blob_bytes_written = static_cast<double>(report.blob_bytes_written);
    result.output_bytes = static_cast<double>(report.output_bytes);
    return result;
  });
}

// For tests of the error path itself: throws mlpress::Error(message) inside the core's
// exception model and lets guarded() deliver it.
// compress(in, out, configText): configText is a coremltools OptimizationConfig as YAML or
// JSON, or a job document of several steps ("" = lossless). Returns the report as JSON text, the
// same as `mlpress compress --json` without its "output" field. One coremltools config, or a job
// document of several steps ({"steps": [{"config": ...},
// ...]}, as `mlpress compress --config` reads it); blank = lossless.
mlpress::RewriteOptions options_from_config_text(const std::string& config_text) {
  mlpress::RewriteOptions options;
  if (config_text.find_first_not_of(" \t\r\n") != std::string::npos) {
    options.steps = mlpress::steps_from_job_text(config_text, "config");
  }
  return options;
}

std::string compress(const std::string& in_path, const std::string& out_path,
                     const std::string& config_text) {
  return guarded([&] {
    const mlpress::RewriteOptions options = options_from_config_text(config_text);
    return mlpress::report_json(mlpress::rewrite_package(in_path, out_path, options)).dump();
  });
}

// compress(in, out, configText, onProgress): as compress, and calls onProgress({done, total,
// weight}) synchronously before each weight is compressed (weight = the const's output name)
// and once before the output is written (weight = ""). onProgress returning false cancels:
// the call throws Error("cancelled") and leaves no output. An exception thrown by onProgress
// cancels the same way and is rethrown as it was.
std::string compress_with_progress(const std::string& in_path, const std::string& out_path,
                                   const std::string& config_text,
                                   const emscripten::val& on_progress) {
  return guarded([&] {
    mlpress::RewriteOptions options = options_from_config_text(config_text);
    if (!on_progress.isUndefined() && !on_progress.isNull()) {
      options.on_progress = [&on_progress](const mlpress::RewriteProgress& progress) {
        return mlpress_call_progress(on_progress.as_handle(), static_cast<double>(progress.done),
                                     static_cast<double>(progress.total),
                                     progress.weight.c_str()) != 0;
      };
    }
    return mlpress::report_json(mlpress::rewrite_package(in_path, out_path, options)).dump();
  });
}

// plan(in, configText): what compress(in, out, configText) would compress or skip, and why,
// with the expected payload sizes; nothing is compressed or written. JSON text (plan_json).
std::string plan(const std::string& in_path, const std::string& config_text) {
  return guarded([&] {
    return mlpress::plan_json(mlpress::plan_package(in_path, options_from_config_text(config_text)))
        .dump();
  });
}

// decompress(in, out): coremltools' decompress_weights. Returns the report as JSON text, the
// same as `mlpress decompress --json` without its "output" field.
std::string decompress(const std::string& in_path, const std::string& out_path) {
  return guarded(
      [&] { return mlpress::report_json(mlpress::decompress_package(in_path, out_path)).dump(); });
}

// histogram(in, out, weight, bins): the weight's values in `in` and in `out` (`in`
// compressed), decoded as decompress decodes them and counted in `bins` bins over the range of
// the weight in `in`. JSON text, `mlpress histogram IN WEIGHT --after OUT --bins N --json`.
std::string histogram(const std::string& in_path, const std::string& out_path,
                      const std::string& weight, double bins) {
  return guarded([&] {
    if (!(bins >= 1 && bins <= 1e6) || bins != static_cast<double>(static_cast<size_t>(bins))) {
      throw mlpress::Error("histogram: bins must be a whole number from 1 to 1000000");
    }
    const auto pair =
        mlpress::weight_histograms(in_path, out_path, weight, static_cast<size_t>(bins));
    return mlpress::histograms_json(pair, in_path, out_path).dump();
  });
}

void throw_error_for_test(const std::string& message) {
  guarded([&] { throw mlpress::Error(message); });
}

}  // namespace

EMSCRIPTEN_BINDINGS(mlpress) {
  emscripten::value_object<RewriteResult>("RewriteResult")
      .field("blobsWritten", &RewriteResult::blobs_written)
      .field("blobBytesWritten", &RewriteResult::blob_bytes_written)
      .field("outputBytes", &RewriteResult::output_bytes);
  emscripten::function("inspect", &inspect);           // inspect(path)
  emscripten::function("inspect", &inspect_indented);  // inspect(path, indent)
  emscripten::function("rewrite", &rewrite);
  emscripten::function("compress", &compress);                // compress(in, out, config)
  emscripten::function("compress", &compress_with_progress);  // ... , onProgress)
  emscripten::function("plan", &plan);
  emscripten::function("decompress", &decompress);
  emscripten::function("histogram", &histogram);
  emscripten::function("throwErrorForTest", &throw_error_for_test);
}
