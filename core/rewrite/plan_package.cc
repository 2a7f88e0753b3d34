#include "core/rewrite/plan_package.h"

#include <algorithm>
#include <map>

#include "core/config/resolve.h"
#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/mil/dtype.h"
#include "core/mil/model_file.h"
#include "core/mil/op_access.h"
#include "core/mil/opened_model.h"
#include "core/mil/tensor_values.h"
#include "core/mil/weight_index.h"
#include "core/package/package_reader.h"
#include "core/rewrite/joint_const.h"
#include "core/rewrite/palettize_const.h"
#include "core/rewrite/quantize_const.h"
#include "core/rewrite/write_refusal.h"

namespace mlpress {
namespace spec = CoreML::Specification::MILSpec;
namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return b == 0 ? 0 : (a + b - 1) / b; }

// Bytes a payload tensor of `count` elements of `bits` each adds to weight.bin: tensors of
// fewer than 10 elements are written inline in the program instead (FORMAT.md §5.2).
uint64_t blob_part(uint64_t count, uint64_t bits) {
  return count < 10 ? 0 : ceil_div(count * bits, 8);
}

int opset_version(const std::string& opset) {
  if (opset.starts_with("CoreML")) {
    try {
      return std::stoi(opset.substr(6));
    } catch (const std::exception&) {
    }
  }
  return 0;
}

uint64_t dim(const std::vector<uint64_t>& dims, std::optional<int> axis) {
  if (!axis || *axis < 0 || static_cast<size_t>(*axis) >= dims.size()) return 1;
  return dims[static_cast<size_t>(*axis)];
}

// Number of scales of a linear quantization: one per tensor, per output channel, or per block
// (block_size along the input axis, 1 along the output axis, whole along the others).
uint64_t scale_count(const config::OpLinearQuantizerConfig& c, const std::vector<uint64_t>& dims,
                     const config::ChannelAxes& axes) {
  switch (c.granularity) {
    case config::Granularity::per_tensor:
      return 1;
    case config::Granularity::per_channel:
      return dim(dims, axes.output);
    default:
      break;
  }
  if (const auto* sizes = std::get_if<std::vector<int64_t>>(&c.block_size)) {
    uint64_t count = 1;
    for (size_t i = 0; i < dims.size() && i < sizes->size(); ++i) {
      const auto b = static_cast<uint64_t>((*sizes)[i]);
      count *= b == 0 ? 1 : ceil_div(dims[i], b);
    }
    return count;
  }
  const auto block = static_cast<uint64_t>(std::get<int64_t>(c.block_size));
  const uint64_t in = dim(dims, axes.input);
  return dim(dims, axes.output) * (block == 0 ? 1 : ceil_div(in, block));
}

// Expected payload bytes and constexpr op of `config` for a weight of `dims`, `value_bytes`
// bytes per dense value.
std::pair<std::optional<uint64_t>, std::string> estimate(const config::OpConfig& config,
                                                         const std::vector<uint64_t>& dims,
                                                         uint64_t value_bytes,
                                                         const config::ChannelAxes& axes,
                                                         int opset) {
  uint64_t n = 1;
  for (auto d : dims) n *= d;
  const bool ios18 = opset >= 8;
  if (const auto* q = std::get_if<config::OpLinearQuantizerConfig>(&config)) {
    const uint64_t scales = scale_count(*q, dims, axes);
    const uint64_t bits = static_cast<uint64_t>(q->nbits());
    uint64_t bytes = blob_part(n, bits) + blob_part(scales, value_bytes * 8);
    // iOS16's constexpr_affine_dequantize always holds zero points (zeros when symmetric);
    // iOS18's constexpr_blockwise_shift_scale holds offsets for the asymmetric mode only.
    if (!ios18 || q->mode == "LINEAR") bytes += blob_part(scales, bits);
    return {bytes, ios18 ? "constexpr_blockwise_shift_scale" : "constexpr_affine_dequantize"};
  }
  if (const auto* p = std::get_if<config::OpPalettizerConfig>(&config)) {
    const std::string op = "constexpr_lut_to_dense";
    if (!p->nbits) return {std::nullopt, op};
    const auto nbits = static_cast<uint64_t>(*p->nbits);
    const auto cluster = static_cast<uint64_t>(std::max<int64_t>(p->cluster_dim, 1));
    uint64_t luts = 1;
    if (p->granularity == config::Granularity::per_grouped_channel) {
      const auto group = static_cast<uint64_t>(std::max<int64_t>(p->group_size, 1));
      luts = ceil_div(
          dim(dims, p->channel_axis ? std::optional<int>(static_cast<int>(*p->channel_axis))
                                    : axes.output),
          group);
    }
    uint64_t bytes = blob_part(ceil_div(n, cluster), nbits) +
                     blob_part(luts * (uint64_t{1} << nbits) * cluster, value_bytes * 8);
    if (p->enable_per_channel_scale) bytes += blob_part(dim(dims, axes.output), value_bytes * 8);
    return {bytes, op};
  }
  const std::string sparse =
      ios18 ? "constexpr_sparse_to_dense (iOS18)" : "constexpr_sparse_to_dense";
  if (const auto* m = std::get_if<config::OpMagnitudePrunerConfig>(&config)) {
    double sparsity = 0;
    if (m->n_m_ratio) {
      sparsity =
          static_cast<double>(m->n_m_ratio->first) / static_cast<double>(m->n_m_ratio->second);
    } else if (m->target_sparsity) {
      sparsity = *m->target_sparsity;
    } else {
      return {std::nullopt, sparse};
    }
    // The smallest round(n * sparsity) values become zeros; the mask has one bit per value
    // (iOS16 packs it into n/8 uint8s, iOS18 stores n uint1s). An upper bound: kept values that
    // are exactly zero already are not stored either.
    const auto zeros = static_cast<uint64_t>(static_cast<double>(n) * sparsity + 0.5);
    const uint64_t mask = ios18 ? blob_part(n, 1) : blob_part(ceil_div(n, 8), 8);
    return {mask + blob_part(n - std::min(zeros, n), value_bytes * 8), sparse};
  }
  return {std::nullopt, sparse};  // threshold pruning: how many fall under it is in the values
}

}  // namespace

PackagePlan plan_package(const std::string& in_path, const RewriteOptions& options) {
  if (options.steps.size() > 1) {
    throw Error("a plan covers one compression step; this job has " +
                std::to_string(options.steps.size()) + " (plan each step's config on its own)");
  }
  for (const auto& step : options.steps) config::check_config_for(step.config, step.api);
  mil::OpenedModel opened(in_path);
  auto& [package, model_file, origin, model, programs] = opened;

  mil::BlobFiles blobs(*package);
  // The first error a compressor would throw while writing, in the run's order: the run checks
  // every weight's target first and compresses afterwards, so this is thrown after the loop.
  std::optional<std::string> refusal;

  PackagePlan plan;
  for (const auto& step : options.steps) {
    for (const auto& program : programs) {
      const std::string program_origin = origin + " (" + program.id + ")";
      const auto index = mil::index_program(program, program_origin);
      const config::ProgramFacts facts(*program.program);
      // As rewrite_package: a joint step is refused on a program below iOS18 before anything
      // else of it is checked.
      for (const auto& fn : index.functions) {
        const int fn_opset = std::max(opset_version(fn.opset), 6);
        if (step.joint_compression && fn_opset < 8) {
          throw Error(rewrite::joint_target_refusal(program_origin, fn.name, fn_opset, 1));
        }
      }
      // Each function's ops by output var, for the chains a joint step recompresses.
      rewrite::FunctionProducers producers(*program.program);
      for (const auto& weight : index.weights) {
        // As rewrite_package: tiny constants (strides, pads, axes) are never candidates; an
        // existing constexpr chain only for a joint step.
        if (weight.shape.element_count() < 10) continue;
        const bool chain = weight.op_type != "const";
        if (chain && !(step.joint_compression && weight.compression)) continue;
        PlannedWeight planned;
        WeightOutcome& outcome = planned.outcome;
        outcome.program = weight.program;
        outcome.function = weight.function;
        outcome.name = weight.name;
        outcome.op_name = weight.op_name;
        outcome.shape = weight.shape.dims;
        outcome.dtype = mil::dtype_name(weight.shape.dtype);
        const uint64_t bits =
            static_cast<uint64_t>(mil::dtype_bits(weight.shape.dtype).value_or(0));
        outcome.dense_bytes = (weight.shape.element_count() * bits + 7) / 8;
        if (chain) {
          // As rewrite_package plans it (plan_joint_weight throws where it throws). Its op types
          // and sizes depend on the chain's kind and values: not estimated.
          const rewrite::ProducerLookup producer = producers.lookup(weight.function);
          const spec::Operation& head = *producer(weight.name);  // the chain's final op
          const rewrite::JointWeightPlan joint = rewrite::plan_joint_weight(
              weight, head, step.config, step.api, facts.lookup(), producer,
              mil::op_location(program_origin, weight.function, weight.op_name, head.type()));
          if (!joint.resolved) {
            outcome.reason = joint.reason;
          } else {
            outcome.config_from = joint.resolved->source.describe();
            if (!joint.joint.kind) {
              outcome.reason = joint.joint.reason;
            } else {
              outcome.compressed = true;
              plan.dense_bytes += outcome.dense_bytes;
              ++plan.unknown;
            }
          }
          plan.weights.push_back(std::move(planned));
          continue;
        }
        auto resolution = config::resolve(step.config, weight, facts.lookup());
        if (step.joint_compression && step.api == config::Api::prune_weights &&
            std::holds_alternative<config::Resolved>(resolution)) {
          resolution = config::Skipped{config::SkipReason::config_none,
                                       rewrite::joint_prune_const_skip_reason()};
        }
        if (const auto* skipped = std::get_if<config::Skipped>(&resolution)) {
          outcome.reason = skipped->text;
          plan.weights.push_back(std::move(planned));
          continue;
        }
        const auto& resolved = std::get<config::Resolved>(resolution);
        outcome.config_from = resolved.source.describe();
        outcome.compressed = true;
        // Compressing upgrades an iOS15 program to iOS16 (CoreML6) first.
        int opset = 0;
        for (const auto& fn : index.functions) {
          if (fn.name == weight.function) opset = std::max(opset_version(fn.opset), 6);
        }
        const std::string at =
            mil::op_location(program_origin, weight.function, weight.op_name, "const");
        const rewrite::StorageReader read = [&] {
          return mil::read_tensor_bytes(*weight.value, weight.shape, blobs, at);
        };
        // The run's outcome for the weight; once the plan refuses, the rest need not be read.
        rewrite::WriteForecast forecast;
        if (const auto* linear = std::get_if<config::OpLinearQuantizerConfig>(&resolved.config)) {
          rewrite::check_linear_quantizer_target(*linear, opset, at);
          if (!refusal) {
            forecast = rewrite::forecast_quantize(*linear, resolved.axes, weight.shape, at,
                                                  weight.op_name, read);
          }
        } else if (const auto* palette =
                       std::get_if<config::OpPalettizerConfig>(&resolved.config)) {
          rewrite::check_palettizer_target(*palette, opset, at);
          if (!refusal) {
            forecast = rewrite::forecast_palettize(*palette, resolved.axes, weight.shape, opset,
                                                   step.joint_compression, at, read);
          }
        } else if (const auto* magnitude =
                       std::get_if<config::OpMagnitudePrunerConfig>(&resolved.config)) {
          if (!refusal) forecast = rewrite::forecast_magnitude_prune(*magnitude, weight.shape, at);
        }
        if (forecast.kind == rewrite::WriteForecast::Kind::kRefuses) refusal = forecast.message;
        if (forecast.kind == rewrite::WriteForecast::Kind::kSkips) {
          outcome.compressed = false;
          outcome.reason = forecast.message;
          plan.weights.push_back(std::move(planned));
          continue;
        }
        auto [bytes, op_type] =
            estimate(resolved.config, weight.shape.dims, bits / 8, resolved.axes, opset);
        planned.expected_bytes = bytes;
        planned.op_type = op_type;
        plan.dense_bytes += outcome.dense_bytes;
        if (bytes) {
          plan.expected_bytes += *bytes;
        } else {
          ++plan.unknown;
        }
        plan.weights.push_back(std::move(planned));
      }
    }
  }
  if (refusal) throw Error(*refusal);
  return plan;
}

nlohmann::json plan_json(const PackagePlan& plan) {
  nlohmann::json weights = nlohmann::json::array();
  for (const auto& p : plan.weights) {
    const WeightOutcome& w = p.outcome;
    nlohmann::json j = {{"name", w.name},
                        {"op_name", w.op_name},
                        {"program", w.program},
                        {"function", w.function},
                        {"shape", w.shape},
                        {"dtype", w.dtype},
                        {"compressed", w.compressed},
                        {"dense_bytes", w.dense_bytes}};
    if (w.compressed) {
      j["op_type"] = p.op_type;
      j["expected_bytes"] = p.expected_bytes ? nlohmann::json(*p.expected_bytes) : nlohmann::json();
      j["config_from"] = w.config_from;
    } else {
      j["reason"] = w.reason;
    }
    weights.push_back(std::move(j));
  }
  return {{"dense_bytes", plan.dense_bytes},
          {"expected_bytes", plan.expected_bytes},
          {"unknown", plan.unknown},
          {"weights", weights}};
}

}  // namespace mlpress
