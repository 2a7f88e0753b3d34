#pragma once
// One weight of a package, decoded and binned: `mlpress histogram` and the page's before/after
// histograms. The weight is named by its const (or constexpr) output name, the name the
// inspect report, the weight table and the compress report use; a dense const is read as it
// is, a constexpr chain is decoded as `mlpress decompress` decodes it (ConstexprGraph). One
// weight is in memory at a time.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/compress/decompress_ops.h"
#include "core/compress/histogram.h"

namespace mlpress {

struct WeightValues {
  std::string program;   // "main program", or the pipeline sub-model's id
  std::string function;  // the function (and block specialization when not its default)
  std::string op_type;   // "const" or the constexpr op that produces the value
  compress::DenseTensor values;
};

// The values of the const or constexpr output named `name` in the package at `path` (zip or
// folder): the first match, programs in pipeline order, functions and block specializations
// in name order. Throws when no constant has that name.
WeightValues read_weight_values(const std::string& path, const std::string& name);

struct WeightHistogram {
  std::string weight;
  std::string program;
  std::string function;
  std::string op_type;
  std::string dtype;
  std::vector<uint64_t> shape;
  compress::Histogram histogram;
};

// `bins` equal bins over `range`, or over compress::default_histogram_range of the values.
WeightHistogram weight_histogram(const std::string& path, const std::string& name, size_t bins,
                                 std::optional<compress::HistogramRange> range = std::nullopt);

// The same weight in two packages (a model and its compressed output), binned over one range
// so the bars compare: `range`, or the default range of the weight in `before_path`. `name` is
// the weight's name in either package. In the other one the weight has the same name, or
// (compression renames the output, e.g. to NAME_palettized, as coremltools does; a joint job's
// later steps keep the earlier step's name) is what the first op consuming `name` in the first
// (same program, function and op name) binds the same parameter to.
std::pair<WeightHistogram, WeightHistogram> weight_histograms(
    const std::string& before_path, const std::string& after_path, const std::string& name,
    size_t bins, std::optional<compress::HistogramRange> range = std::nullopt);

// {"weight", "program", "function", "op_type", "dtype", "shape", "bins", "range": [lo, hi],
//  "counts", "below", "above", "nan", "total"}; lo and hi print exactly (round-trip doubles).
nlohmann::json histogram_json(const WeightHistogram& histogram);

// {"before": histogram_json + "package": before_path, "after": the same for after_path}: what
// `mlpress histogram IN WEIGHT --after OUT --json` prints and the wasm `histogram` returns.
nlohmann::json histograms_json(const std::pair<WeightHistogram, WeightHistogram>& histograms,
                               const std::string& before_path, const std::string& after_path);

}  // namespace mlpress
