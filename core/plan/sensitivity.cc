#include "core/plan/sensitivity.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "core/blob/blob_format.h"
#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/mil/dtype.h"
#include "core/mil/model_file.h"
#include "core/mil/op_access.h"
#include "core/mil/opened_model.h"
#include "core/mil/tensor_values.h"
#include "core/mil/value_walk.h"
#include "core/mil/weight_index.h"
#include "core/package/package_reader.h"

namespace mlpress::plan {
namespace spec = CoreML::Specification::MILSpec;

namespace {

// What compressing leaves the opset at: coremltools lifts iOS15 programs to iOS16 (CoreML6).
int opset_after_compression(const std::string& opset) {
  int version = 0;
  if (opset.starts_with("CoreML")) {
    try {
      version = std::stoi(opset.substr(6));
    } catch (const std::exception&) {
    }
  }
  return std::max(version, 6);
}

// Every blob the programs reference, once each: its slot in the weight file and how many
// values point at it.
class BlobLedger {
 public:
  explicit BlobLedger(mil::BlobFiles& blobs) : blobs_(blobs) {}

  void add_program(mil::ProgramRef& program, const std::string& where) {
    auto visit = [&](spec::Value& value, const std::string& at) { add(value, at); };
    mil::for_each_attribute_value(*program.program->mutable_attributes(), where, visit);
    for (auto& [name, function] : *program.program->mutable_functions()) {
      mil::for_each_attribute_value(*function.mutable_attributes(), where, visit);
      for (auto& [key, block] : *function.mutable_block_specializations())
        add_block(block, where, visit);
    }
  }

  // The key of the blob `value` points at; empty for an inline value.
  std::string key_of(const spec::Value& value, const mil::TensorShape& shape,
                     const std::string& where) {
    if (!value.has_blobfilevalue()) return {};
    const auto located = blobs_.locate(value.blobfilevalue(), shape, where);
    return located.file + "\n" + std::to_string(located.record.metadata_offset);
  }

  uint64_t references(const std::string& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.references;
  }

  // Headers plus every slot, and the same without the slots of `owned` keys.
  uint64_t total_bytes() const {
    uint64_t total = files_.size() * blob::kHeaderSize;
    for (const auto& [key, entry] : entries_) total += entry.slot;
    return total;
  }
  uint64_t slot(const std::string& key) const { return entries_.at(key).slot; }

 private:
  struct Entry {
    uint64_t slot = 0;
    uint64_t references = 0;
  };

  void add_block(spec::Block& block, const std::string& where, const mil::ValueVisitor& visit) {
    mil::for_each_attribute_value(*block.mutable_attributes(), where, visit);
    for (auto& op : *block.mutable_operations()) {
      mil::for_each_value_in_op(op, where, visit);
      for (auto& nested : *op.mutable_blocks()) add_block(nested, where, visit);
    }
  }

  void add(const spec::Value& value, const std::string& where) {
    if (!value.has_blobfilevalue()) return;
    const auto shape = mil::tensor_shape_of(value.type(), where);
    const auto located = blobs_.locate(value.blobfilevalue(), shape, where);
    files_.insert(located.file);
    Entry& entry = entries_[located.file + "\n" + std::to_string(located.record.metadata_offset)];
    entry.slot = blob::round_up_to_alignment(blob::kMetadataSize + located.record.size_in_bytes);
    ++entry.references;
  }

  mil::BlobFiles& blobs_;
  std::map<std::string, Entry> entries_;
  std::set<std::string> files_;
};

struct Candidate {
  const mil::WeightInfo* info = nullptr;
  WeightContext context;
  std::string blob_key;
};

// The weights `mlpress compress` would consider with a config at `weight_threshold`: the
// config machinery's own candidate test, float weights only.
std::vector<Candidate> find_candidates(const mil::ProgramIndex& index,
                                       const config::ProgramFacts& facts,
                                       int64_t weight_threshold) {
  config::OptimizationConfig prune_probe;
  config::OpMagnitudePrunerConfig pruner;
  pruner.target_sparsity = 0.5;
  pruner.weight_threshold = weight_threshold;
  prune_probe.set_global(pruner);
  config::OptimizationConfig axes_probe;
  config::OpLinearQuantizerConfig quantizer;
  quantizer.weight_threshold = weight_threshold;
  axes_probe.set_global(quantizer);

  std::map<std::string, int> opsets;
  for (const auto& f : index.functions) opsets[f.name] = opset_after_compression(f.opset);
  std::vector<Candidate> out;
  for (const auto& weight : index.weights) {
    if (weight.op_type != "const" || weight.shape.element_count() < 10) continue;
    if (weight.shape.dtype != spec::FLOAT16 && weight.shape.dtype != spec::FLOAT32) continue;
    if (std::holds_alternative<config::Skipped>(
            config::resolve(prune_probe, weight, facts.lookup())))
      continue;
    Candidate c;
    c.info = &weight;
    c.context.opset_version = opsets[weight.function];
    const auto axes = config::resolve(axes_probe, weight, facts.lookup());
    if (const auto* resolved = std::get_if<config::Resolved>(&axes)) {
      c.context.axes = resolved->axes;
    } else {
      c.context.axes_problem = std::get<config::Skipped>(axes).text;
    }
    out.push_back(std::move(c));
  }
  return out;
}

compress::TensorView view_of(const std::vector<std::byte>& bytes, const mil::TensorShape& shape,
                             std::vector<uint16_t>& fp16, std::vector<float>& fp32) {
  if (shape.dtype == spec::FLOAT16) {
    fp16.resize(bytes.size() / 2);
    std::memcpy(fp16.data(), bytes.data(), bytes.size());
    return compress::TensorView::fp16(fp16, shape.dims);
  }
  fp32.resize(bytes.size() / 4);
  std::memcpy(fp32.data(), bytes.data(), bytes.size());
  return compress::TensorView::fp32(fp32, shape.dims);
}

}  // namespace

size_t SensitivityReport::choice_index(const std::string& id) const {
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i].id == id) return i;
  }
  throw std::out_of_range("no choice \"" + id + "\"");
}

SensitivityReport analyze_sensitivity(const std::string& package_path,
                                      const SensitivityOptions& options) {
  mil::OpenedModel opened(package_path);
  auto& [package, model_file, origin, model, programs] = opened;
  mil::BlobFiles blobs(*package);

  SensitivityReport report;
  report.weight_threshold = options.weight_threshold;
  report.choices = standard_choices(options.weight_threshold);
  const size_t reference = report.choice_index(kSensitivityChoice);

  BlobLedger ledger(blobs);
  std::vector<mil::ProgramIndex> indexes;
  std::vector<config::ProgramFacts> facts;
  std::vector<std::vector<Candidate>> candidates;
  uint64_t total = 0;
  for (auto& program : programs) {
    const std::string where = origin + " (" + program.id + ")";
    ledger.add_program(program, where);
    indexes.push_back(mil::index_program(program, where));
    facts.emplace_back(*program.program);
  }
  for (size_t p = 0; p < programs.size(); ++p) {
    candidates.push_back(find_candidates(indexes[p], facts[p], options.weight_threshold));
    total += candidates.back().size();
  }

  // A blob referenced only by candidates sharing one const op name (one const in several
  // functions) belongs to that op name: compressing it frees the blob. Its slot is charged to
  // the first of those weights.
  std::map<std::string, std::map<std::string, uint64_t>> candidate_refs;  // key -> op -> count
  for (size_t p = 0; p < programs.size(); ++p) {
    const std::string where = origin + " (" + programs[p].id + ")";
    for (auto& c : candidates[p]) {
      c.blob_key = ledger.key_of(*c.info->value, c.info->shape, where);
      if (!c.blob_key.empty()) ++candidate_refs[c.blob_key][c.info->op_name];
    }
  }
  std::set<std::string> charged;
  report.weight_file_bytes = ledger.total_bytes();
  report.fixed_file_bytes = report.weight_file_bytes;
  SensitivityProgress progress;
  progress.total = total;
  auto tell = [&](const std::string& weight) {
    progress.weight = weight;
    if (options.on_progress && !options.on_progress(progress)) throw Cancelled();
  };
  for (size_t p = 0; p < programs.size(); ++p) {
    const std::string where = origin + " (" + programs[p].id + ")";
    for (auto& c : candidates[p]) {
      const mil::WeightInfo& info = *c.info;
      tell(info.name);
      const std::string at = mil::op_location(where, info.function, info.op_name, "const");
      WeightSensitivity w;
      w.program = info.program;
      w.function = info.function;
      w.name = info.name;
      w.op_name = info.op_name;
      w.shape = info.shape.dims;
      w.dtype = mil::dtype_name(info.shape.dtype);
      w.opset_version = c.context.opset_version;
      const std::string& key = c.blob_key;
      w.owns_blob = !key.empty() && candidate_refs[key].size() == 1 &&
                    candidate_refs[key][info.op_name] == ledger.references(key) &&
                    charged.insert(key).second;
      if (w.owns_blob) report.fixed_file_bytes -= ledger.slot(key);
      {
        std::vector<uint16_t> fp16;
        std::vector<float> fp32;
        const auto bytes = mil::read_tensor_bytes(*info.value, info.shape, blobs, at);
        const auto view = view_of(bytes, info.shape, fp16, fp32);
        w.choices = evaluate_choices(view, c.context, report.choices, options.threads);
        w.sq_norm = sum_of_squares(view);
      }
      // A blob the weight shares (or an inline value) costs the same whatever it chooses.
      if (!w.owns_blob) w.choices[0].bytes.file = w.choices[0].bytes.blob = 0;
      const ChoiceResult& ref = w.choices[reference];
      w.sensitivity = ref.available ? ref.error.rel_error : std::numeric_limits<double>::infinity();
      report.weights.push_back(std::move(w));
      ++progress.done;
    }
  }
  tell("");
  return report;
}

}  // namespace mlpress::plan

namespace mlpress::plan {

std::vector<size_t> sensitivity_ranking(const SensitivityReport& report) {
  std::vector<size_t> order(report.weights.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto& x = report.weights[a];
    const auto& y = report.weights[b];
    if (x.sensitivity != y.sensitivity) return x.sensitivity > y.sensitivity;
    if (x.op_name != y.op_name) return x.op_name < y.op_name;
    if (x.function != y.function) return x.function < y.function;
    return x.name < y.name;
  });
  return order;
}

}  // namespace mlpress::plan
