#include "core/rewrite/weight_histogram.h"

#include <algorithm>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/mil/dtype.h"
#include "core/mil/model_file.h"
#include "core/mil/op_access.h"
#include "core/mil/opened_model.h"
#include "core/package/package_reader.h"
#include "core/rewrite/constexpr_graph.h"
#include "core/rewrite/value_tensor.h"

namespace mlpress {
namespace spec = CoreML::Specification::MILSpec;

namespace {

// The op of `block` (or of a nested block) with an output named `name`.
const spec::Operation* find_output(const spec::Block& block, const std::string& name) {
  for (const auto& op : block.operations()) {
    for (int i = 0; i < op.outputs_size(); ++i)
      if (op.outputs(i).name() == name) return &op;
    for (const auto& nested : op.blocks()) {
      if (const spec::Operation* found = find_output(nested, name)) return found;
    }
  }
  return nullptr;
}

template <class Map>
std::vector<std::string> sorted_keys(const Map& map) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : map) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

using mil::OpenedModel;

// Calls fn(program, function name, specialization key, block) for every block of `opened` in
// order: programs in pipeline order, functions and specializations by name; stops at the first
// call that returns true.
template <class Fn>
bool find_block(const OpenedModel& opened, Fn&& fn) {
  for (const auto& program : opened.programs) {
    const auto& functions = program.program->functions();
    for (const auto& function_name : sorted_keys(functions)) {
      const auto& specializations = functions.at(function_name).block_specializations();
      for (const auto& key : sorted_keys(specializations)) {
        if (fn(program, function_name, key, specializations.at(key))) return true;
      }
    }
  }
  return false;
}

// The first op of `block` (nested blocks included) other than a constexpr that binds `name`:
// {op name, parameter}; empty when none.
std::pair<std::string, std::string> first_consumer(const spec::Block& block,
                                                   const std::string& name) {
  for (const auto& op : block.operations()) {
    if (!op.type().starts_with("constexpr_")) {
      for (const auto& param : sorted_keys(op.inputs())) {
        for (const auto& binding : op.inputs().at(param).arguments())
          if (binding.has_name() && binding.name() == name) return {mil::op_name(op), param};
      }
    }
    for (const auto& nested : op.blocks()) {
      auto found = first_consumer(nested, name);
      if (!found.first.empty()) return found;
    }
  }
  return {};
}

// The op of `block` (nested blocks included) named `op_name`.
const spec::Operation* find_op(const spec::Block& block, const std::string& op_name) {
  for (const auto& op : block.operations()) {
    if (mil::op_name(op) == op_name) return &op;
    for (const auto& nested : op.blocks())
      if (const spec::Operation* found = find_op(nested, op_name)) return found;
  }
  return nullptr;
}

bool has_output(const OpenedModel& opened, const std::string& name) {
  return find_block(opened, [&](const mil::ProgramRef&, const std::string&, const std::string&,
                                const spec::Block& block) { return find_output(block, name); });
}

// What the weight `name` of `from_path` is called in `to_path`: the same name when that has
// it; else (compression renames it, e.g. NAME_palettized) what the first op consuming it in
// `from_path` binds the same parameter to in `to_path`.
std::string name_in(const std::string& from_path, const std::string& to_path,
                    const std::string& name) {
  const OpenedModel after(to_path);
  if (has_output(after, name)) return name;
  const OpenedModel before(from_path);
  std::string program_id, function, key, op_name, param;
  find_block(before, [&](const mil::ProgramRef& program, const std::string& f, const std::string& k,
                         const spec::Block& block) {
    if (!find_output(block, name)) return false;
    std::tie(op_name, param) = first_consumer(block, name);
    program_id = program.id;
    function = f;
    key = k;
    return true;
  });
  if (op_name.empty()) {
    throw Error(after.origin + ": no const or constexpr output named \"" + name +
                "\", and no op consumes it in " + before.origin);
  }
  std::string bound;
  find_block(after, [&](const mil::ProgramRef& program, const std::string& f, const std::string& k,
                        const spec::Block& block) {
    if (program.id != program_id || f != function || k != key) return false;
    if (const spec::Operation* op = find_op(block, op_name))
      bound = mil::param_binding_name(*op, param);
    return true;
  });
  if (bound.empty()) {
    throw Error(after.origin + ": no const or constexpr output named \"" + name + "\", and op \"" +
                op_name + "\" binds nothing to \"" + param + "\"");
  }
  return bound;
}

}  // namespace

WeightValues read_weight_values(const std::string& path, const std::string& name) {
  const OpenedModel opened(path);
  mil::BlobFiles blobs(*opened.package);
  WeightValues found;
  const bool any = find_block(opened, [&](const mil::ProgramRef& program,
                                          const std::string& function_name, const std::string& key,
                                          const spec::Block& block) {
    const spec::Operation* op = find_output(block, name);
    if (!op) return false;
    const auto& function = program.program->functions().at(function_name);
    found.program = program.id;
    found.function = key == function.opset() ? function_name : function_name + " (" + key + ")";
    found.op_type = op->type();
    const std::string where =
        opened.origin + " (" + program.id + "): function \"" + function_name + "\"";
    if (op->type() == "const") {
      found.values = rewrite::read_value(
          op->attributes().at("val"), blobs,
          where + ", op \"" + mil::op_name(*op) + "\" (const), attribute \"val\"");
    } else if (op->type().starts_with("constexpr_")) {
      rewrite::ConstexprGraph graph(block, blobs, where);
      rewrite::ConstexprGraph::Cache cache;  // the chain, dropped when this returns
      const auto [recorded, output] = graph.producer(name);
      found.values = std::move(graph.evaluate(*recorded, cache).at(static_cast<size_t>(output)));
    } else {
      throw Error(where + ": \"" + name + "\" is the output of a " + op->type() +
                  " op, not a weight");
    }
    return true;
  });
  if (!any) throw Error(opened.origin + ": no const or constexpr output named \"" + name + "\"");
  return found;
}

WeightHistogram weight_histogram(const std::string& path, const std::string& name, size_t bins,
                                 std::optional<compress::HistogramRange> range) {
  WeightValues values = read_weight_values(path, name);
  WeightHistogram out;
  out.weight = name;
  out.program = std::move(values.program);
  out.function = std::move(values.function);
  out.op_type = std::move(values.op_type);
  out.dtype = mil::dtype_name(rewrite::mil_dtype_of(values.values.type));
  out.shape = values.values.dims;
  try {
    out.histogram = compress::histogram(
        values.values, range.value_or(compress::default_histogram_range(values.values)), bins);
  } catch (const std::invalid_argument& e) {
    throw Error(std::string("histogram of \"") + name + "\": " + e.what());
  }
  return out;
}

std::pair<WeightHistogram, WeightHistogram> weight_histograms(
    const std::string& before_path, const std::string& after_path, const std::string& name,
    size_t bins, std::optional<compress::HistogramRange> range) {
  // A joint job's report names a later step's weight by the earlier step's output name, which
  // only the output has: then the input's name is found from the output's side.
  const std::string before_name = name_in(after_path, before_path, name);
  WeightHistogram before = weight_histogram(before_path, before_name, bins, range);
  WeightHistogram after = weight_histogram(
      after_path, name_in(before_path, after_path, before_name), bins, before.histogram.range);
  return {std::move(before), std::move(after)};
}

nlohmann::json histogram_json(const WeightHistogram& h) {
  nlohmann::json out;
  out["weight"] = h.weight;
  out["program"] = h.program;
  out["function"] = h.function;
  out["op_type"] = h.op_type;
  out["dtype"] = h.dtype;
  out["shape"] = h.shape;
  out["bins"] = h.histogram.counts.size();
  out["range"] = {h.histogram.range.lo, h.histogram.range.hi};
  out["counts"] = h.histogram.counts;
  out["below"] = h.histogram.below;
  out["above"] = h.histogram.above;
  out["nan"] = h.histogram.nan;
  out["total"] = h.histogram.total;
  return out;
}

nlohmann::json histograms_json(const std::pair<WeightHistogram, WeightHistogram>& histograms,
                               const std::string& before_path, const std::string& after_path) {
  nlohmann::json out;
  out["before"] = histogram_json(histograms.first);
  out["before"]["package"] = before_path;
  out["after"] = histogram_json(histograms.second);
  out["after"]["package"] = after_path;
  return out;
}

}  // namespace mlpress
