// The mlpress command line: a thin layer over the core library.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/cli/compress_options.h"
#include "core/cli/plan_commands.h"
#include "core/inspect/inspect.h"
#include "core/io/error.h"
#include "core/io/mapped_file_faults.h"
#include "core/rewrite/decompress.h"
#include "core/rewrite/report_json.h"
#include "core/rewrite/rewrite.h"
#include "core/rewrite/weight_histogram.h"

namespace {

constexpr const char* kUsage = R"(usage:
  mlpress inspect PACKAGE [--json] [--all] [--weight-threshold N]
      Describe a .mlpackage (folder or .zip): model summary and every weight. The table
      leaves out constants of fewer than 10 elements unless --all is given; --json has all.
  mlpress compress IN OUT [--config FILE | SHORTHAND]... [--joint] [--nonzero-only] [--json]
      Write IN to OUT (OUT ending in .zip: a zipped package; .mlpackage: a folder) with a
      fresh weight.bin, compressing the weights a coremltools OptimizationConfig selects.
      --config FILE   the config as YAML or JSON (its config_type picks the call), or a job
                      document {"steps": [{"config": {...}, "joint_compression": true}, ...]}
      Several --config / SHORTHAND run as steps in the order given, each after the first
      joint (iOS18+: e.g. --prune 0.5 --palettize 4); --joint makes every step joint (prune
      an already quantized model); --nonzero-only fits the k-means LUT of a pruned weight
      to its nonzero values (beyond coremltools).
      SHORTHAND, one of:
        --quantize int8|uint8|int4|uint4 [--mode linear|linear_symmetric]
                   [--granularity per_tensor|per_channel|per_block] [--block-size N|N,N,..]
        --palettize 1|2|3|4|6|8|unique [--mode kmeans|uniform]
                   [--granularity per_grouped_channel --group-size N [--channel-axis A]]
                   [--cluster-dim D] [--per-channel-scale]
        --prune SPARSITY [--block-size N --dim D] | --prune 0 --n-m N,M [--dim D]
        and for all: [--weight-threshold N]
      Without a config the rewrite is lossless. Every weight left dense is listed with why.
      IN is never modified.
  mlpress decompress IN OUT [--json]
      Write IN to OUT with every constexpr_* op replaced by a plain const holding its
      value (coremltools' decompress_weights). IN is never modified.
  mlpress histogram PACKAGE WEIGHT [--bins N] [--range LO HI] [--after OUT] [--json]
      Decode one weight (a const, or a constexpr chain as decompress decodes it; WEIGHT is
      its output name, as inspect and the compress report name it) and count its values in
      N equal bins (default 64) over [LO, HI] (default: its finite min and max), with
      numpy.histogram's edges; values outside, and NaN, are counted apart. --after OUT also
      bins the same weight in OUT (PACKAGE compressed; found through its consumer when
      compression renamed it) over the same range: {"before": ..., "after": ...}.
  mlpress sensitivity PACKAGE [--json] [--weight-threshold N] [--threads N]
      Evaluate every candidate weight under every choice (int8/int4 per channel and per
      block of 32, k-means palettization at 8/6/4/3/2 bits per tensor and grouped by 16
      channels, pruning 50/75%): relative error, SNR, cosine and stored bytes; ranked by
      the relative error of 4-bit per-tensor palettization (docs/sensitivity.md).
  mlpress plan PACKAGE (--target-size SIZE | --min-snr DB | both) [--json] [-o DIR]
               [--keep-first-last | --no-keep-first-last] [--weight-threshold N]
      Choose one choice per weight: the least total squared error whose weight files fit
      SIZE (25%, 40MB, 38MiB, 1234567), or the smallest that keeps every weight's SNR at
      DB or more. -o DIR writes one coremltools config per compression kind.
  mlpress compress --auto (--target-size SIZE | --min-snr DB) [plan options] IN OUT [--json]
      Plan as above and apply the plan.
  mlpress --help | --version
)";

int usage_error(const std::string& message) {
  std::cerr << "mlpress: error: " << message << "\n\n" << kUsage;
  return 2;
}

int run_inspect(const std::vector<std::string>& args) {
  std::string path;
  bool as_json = false;
  bool all = false;
  mlpress::InspectOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      as_json = true;
    } else if (args[i] == "--all") {
      all = true;
    } else if (args[i] == "--weight-threshold" && i + 1 < args.size()) {
      options.weight_threshold = std::stoull(args[++i]);
    } else if (args[i].starts_with("--")) {
      return usage_error("unknown option " + args[i]);
    } else if (path.empty()) {
      path = args[i];
    } else {
      return usage_error("inspect takes one package");
    }
  }
  if (path.empty()) return usage_error("inspect needs a package");
  const auto report = mlpress::inspect_package(path, options);
  if (as_json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << mlpress::format_inspect_text(report, all ? 0 : 10);
  }
  return 0;
}

std::string outcome_line(const mlpress::WeightOutcome& w) {
  std::ostringstream line;
  line << (w.compressed ? "  compressed " : "  skipped    ") << w.name;
  if (w.compressed) {
    line << " -> " << w.op_type << " (" << w.dense_bytes << " -> " << w.stored_bytes
         << " bytes, SNR " << std::fixed << std::setprecision(1) << w.snr_db << " dB)";
  } else {
    line << ": " << w.reason;
  }
  return line.str();
}

int run_compress(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--auto") != args.end())
    return mlpress::cli::run_auto_compress(args, usage_error);
  mlpress::cli::CompressArgs parsed;
  try {
    parsed = mlpress::cli::parse_compress_args(args);
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  const auto report = mlpress::rewrite_package(parsed.paths[0], parsed.paths[1], parsed.options);
  if (parsed.json) {
    nlohmann::json out = mlpress::report_json(report);
    out["output"] = parsed.paths[1];
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  size_t compressed = 0;
  const bool steps = parsed.options.steps.size() > 1;
  for (const auto& w : report.weights) {
    compressed += w.compressed;
    if (steps) std::cout << "step " << w.step << ":";
    std::cout << outcome_line(w) << "\n";
  }
  std::cout << "mlpress: wrote " << parsed.paths[1] << " (" << report.output_bytes << " bytes, "
            << report.blobs_written << " blobs; " << compressed << " of " << report.weights.size()
            << " weights compressed)\n";
  return 0;
}

int run_decompress(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  bool json = false;
  for (const auto& arg : args) {
    if (arg == "--json") {
      json = true;
    } else if (arg.starts_with("--")) {
      return usage_error("unknown option " + arg);
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.size() != 2) return usage_error("decompress takes IN and OUT");
  const auto report = mlpress::decompress_package(paths[0], paths[1]);
  if (json) {
    nlohmann::json out = mlpress::report_json(report);
    out["output"] = paths[1];
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "mlpress: wrote " << paths[1] << " (" << report.output_bytes << " bytes, "
            << report.blobs_written << " blobs; " << report.weights.size()
            << " consts decompressed)\n";
  return 0;
}

void print_histogram(const mlpress::WeightHistogram& h);

int run_histogram(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  bool json = false;
  size_t bins = 64;
  std::optional<mlpress::compress::HistogramRange> range;
  std::string after;
  try {
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--json") {
        json = true;
      } else if (args[i] == "--bins" && i + 1 < args.size()) {
        const unsigned long long n = std::stoull(args[++i]);
        if (n == 0 || n > 1000000) return usage_error("--bins takes 1 to 1000000");
        bins = static_cast<size_t>(n);
      } else if (args[i] == "--after" && i + 1 < args.size()) {
        after = args[++i];
      } else if (args[i] == "--range" && i + 2 < args.size()) {
        range = mlpress::compress::HistogramRange{std::stod(args[i + 1]), std::stod(args[i + 2])};
        i += 2;
      } else if (args[i].starts_with("--")) {
        return usage_error("unknown option " + args[i]);
      } else {
        paths.push_back(args[i]);
      }
    }
  } catch (const std::logic_error&) {  // std::stoull / std::stod
    return usage_error("--bins takes a count and --range two numbers");
  }
  if (paths.size() != 2) return usage_error("histogram takes PACKAGE and WEIGHT");
  if (!after.empty()) {
    const auto pair = mlpress::weight_histograms(paths[0], after, paths[1], bins, range);
    if (json) {
      std::cout << mlpress::histograms_json(pair, paths[0], after).dump(2) << "\n";
    } else {
      print_histogram(pair.first);
      print_histogram(pair.second);
    }
    return 0;
  }
  const auto h = mlpress::weight_histogram(paths[0], paths[1], bins, range);
  if (json) {
    nlohmann::json out = mlpress::histogram_json(h);
    out["package"] = paths[0];
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  print_histogram(h);
  return 0;
}

void print_histogram(const mlpress::WeightHistogram& h) {
  const size_t bins = h.histogram.counts.size();
  const std::vector<double> edges = mlpress::compress::histogram_edges(h.histogram.range, bins);
  std::cout << h.weight << " (" << h.op_type << ", " << h.dtype << ", " << h.histogram.total
            << " values; function " << h.function << ")\n";
  std::cout << std::setprecision(9);
  for (size_t i = 0; i < bins; ++i) {
    std::cout << "  [" << edges[i] << ", " << edges[i + 1] << (i + 1 == bins ? "]" : ")") << " "
              << h.histogram.counts[i] << "\n";
  }
  std::cout << "  below " << h.histogram.below << ", above " << h.histogram.above << ", NaN "
            << h.histogram.nan << "\n";
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // One weight's buffers (MiBs) are freed and allocated again for the next weight. By default
  // glibc maps such blocks fresh each time and unmaps them on free, so every weight paid page
  // faults and zeroed pages again; kept in the heap they are reused. Peak memory is unchanged
  // (still one weight at a time), it is only not handed back before the process ends.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  // An input cut short by another program while mapped: an error naming it, not a crash.
  mlpress::install_mapped_file_fault_handler();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("no command given");
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    std::cout << "mlpress 0.1.0\n";
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "inspect") return run_inspect(args);
    if (command == "compress") return run_compress(args);
    if (command == "decompress") return run_decompress(args);
    if (command == "histogram") return run_histogram(args);
    if (command == "sensitivity") return mlpress::cli::run_sensitivity(args, usage_error);
    if (command == "plan") return mlpress::cli::run_plan(args, usage_error);
    return usage_error("unknown command " + command);
  } catch (const std::exception& e) {
    std::cerr << "mlpress: error: " << e.what() << "\n";
    return 1;
  }
}
