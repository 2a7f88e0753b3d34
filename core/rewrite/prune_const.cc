#include "core/rewrite/prune_const.h"

#include "core/blob/blob_format.h"
#include "core/compress/prune.h"
#include "core/compress/prune_int.h"
#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/mil/tensor_builder.h"
#include "core/rewrite/const_tensor.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

namespace {

void add_input(spec::Operation& op, const std::string& param, spec::Value value) {
  *(*op.mutable_inputs())[param].add_arguments()->mutable_value() = std::move(value);
}

// What constexpr_sparse_to_dense needs of a pruning result, float or integer.
struct SparseParts {
  std::span<const uint8_t> mask;         // one 0/1 byte per element
  std::span<const uint8_t> mask_packed;  // LSB-first
  uint64_t nonzero_count;
  std::vector<std::byte> nonzero_bytes;  // in the weight's dtype
};

spec::Operation sparse_to_dense(const SparseParts& r, const mil::TensorShape& weight,
                                const std::string& name, int opset_version, const std::string& file,
                                const mil::BlobAppender& append) {
  spec::Operation op;
  op.set_type("constexpr_sparse_to_dense");
  (*op.mutable_attributes())["name"] = mil::string_scalar_value(name);
  auto* output = op.add_outputs();
  output->set_name(name);
  mil::set_tensor_type(output->mutable_type(), weight.dtype, weight.dims);

  const std::vector<uint64_t> nonzero_dims = {r.nonzero_count};
  spec::Value nonzero =
      mil::tensor_value(weight.dtype, nonzero_dims, r.nonzero_bytes, file, append);
  if (opset_version >= 8) {
    // iOS18: a uint1 mask in the weight's shape; the mask fixes the output shape.
    add_input(op, "mask",
              mil::tensor_value(spec::UINT1, weight.dims, std::as_bytes(r.mask), file, append));
    add_input(op, "nonzero_data", std::move(nonzero));
    return op;
  }
  // iOS16: nonzero values, the mask packed by hand into uint8, and the shape as uint32.
  auto& attributes = *op.mutable_attributes();
  attributes["nonzero_data"] = std::move(nonzero);
  const std::vector<uint64_t> mask_dims = {r.mask_packed.size()};
  attributes["mask"] =
      mil::tensor_value(spec::UINT8, mask_dims, std::as_bytes(r.mask_packed), file, append);
  std::vector<uint32_t> shape(weight.dims.begin(), weight.dims.end());
  const std::vector<uint64_t> shape_dims = {shape.size()};
  attributes["shape"] =
      mil::tensor_value(spec::UINT32, shape_dims, std::as_bytes(std::span(shape)), file, append);
  return op;
}

// int8 / uint8 consts: prune_int's integer semantics, the nonzero values kept in their dtype.
std::optional<Replacement> prune_int_const(const ConstTensor& weight, const PrunerConfig& config,
                                           const ConstContext& context, WeightOutcome& outcome) {
  const auto values =
      std::span(reinterpret_cast<const uint8_t*>(weight.bytes.data()), weight.bytes.size());
  const bool is_signed = weight.shape.dtype == spec::INT8;
  std::variant<compress::IntPruneResult, compress::PruneSkip> pruned;
  if (const auto* threshold = std::get_if<config::OpThresholdPrunerConfig>(&config)) {
    pruned = compress::prune_threshold_int(
        values, is_signed, weight.shape.dims,
        {threshold->threshold, threshold->minimum_sparsity_percentile});
  } else {
    const auto& magnitude = std::get<config::OpMagnitudePrunerConfig>(config);
    pruned = compress::prune_magnitude_int(values, is_signed, weight.shape.dims,
                                           magnitude_prune_spec(magnitude));
  }
  if (auto* skip = std::get_if<compress::PruneSkip>(&pruned)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& result = std::get<compress::IntPruneResult>(pruned);
  const auto nonzero = std::as_bytes(std::span(result.nonzero));
  SparseParts parts{result.mask, result.mask_packed, result.nonzero_count,
                    std::vector<std::byte>(nonzero.begin(), nonzero.end())};
  PayloadSink payloads(context, weight.file_name);
  Replacement ops;
  ops.push_back(sparse_to_dense(parts, weight.shape,
                                context.unique_name(context.const_name + "_sparsified"),
                                context.opset_version, weight.file_name, payloads.appender()));
  record_compressed(outcome, ops, payloads.stored_bytes(), result.error);
  return ops;
}

}  // namespace

compress::MagnitudePruneSpec magnitude_prune_spec(const config::OpMagnitudePrunerConfig& config) {
  return {config.target_sparsity, config.block_size, config.n_m_ratio, config.dim};
}

std::optional<Replacement> prune_const(const spec::Operation& const_op, const PrunerConfig& config,
                                       const ConstContext& context, WeightOutcome& outcome) {
  const ConstTensor weight = read_const_tensor(const_op, *context.blobs, context.where);
  if (weight.shape.dtype == spec::INT8 || weight.shape.dtype == spec::UINT8) {
    return prune_int_const(weight, config, context, outcome);
  }
  if (!weight.view) {
    outcome.reason = mil::dtype_name(weight.shape.dtype) + " weights are not pruned by mlpress yet";
    return std::nullopt;
  }
  std::variant<compress::PruneResult, compress::PruneSkip> pruned;
  if (const auto* threshold = std::get_if<config::OpThresholdPrunerConfig>(&config)) {
    pruned = compress::prune_threshold(
        *weight.view, {threshold->threshold, threshold->minimum_sparsity_percentile});
  } else {
    const auto& magnitude = std::get<config::OpMagnitudePrunerConfig>(config);
    pruned = compress::prune_magnitude(*weight.view, magnitude_prune_spec(magnitude));
  }
  if (auto* skip = std::get_if<compress::PruneSkip>(&pruned)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& result = std::get<compress::PruneResult>(pruned);
  PayloadSink payloads(context, weight.file_name);
  const mil::BlobAppender append = payloads.appender();
  Replacement ops;
  SparseParts parts{result.mask, result.mask_packed, result.nonzero_count,
                    float_bytes(result.nonzero_fp16, result.nonzero_fp32)};
  ops.push_back(sparse_to_dense(parts, weight.shape,
                                context.unique_name(context.const_name + "_sparsified"),
                                context.opset_version, weight.file_name, append));
  record_compressed(outcome, ops, payloads.stored_bytes(), result.error);
  return ops;
}

}  // namespace mlpress::rewrite
