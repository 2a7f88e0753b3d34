#include "core/rewrite/prune_const.h"

#include "core/blob/blob_format.h"
#include "core/compress/prune.h"
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

spec::Operation sparse_to_dense(const compress::PruneResult& r, const mil::TensorShape& weight,
                                const std::string& name, int opset_version, const std::string& file,
                                const mil::BlobAppender& append) {
  spec::Operation op;
  op.set_type("constexpr_sparse_to_dense");
  (*op.mutable_attributes())["name"] = mil::string_scalar_value(name);
  auto* output = op.add_outputs();
  output->set_name(name);
  mil::set_tensor_type(output->mutable_type(), weight.dtype, weight.dims);

  const std::vector<uint64_t> nonzero_dims = {r.nonzero_count};
  spec::Value nonzero = mil::tensor_value(
      weight.dtype, nonzero_dims, float_bytes(r.nonzero_fp16, r.nonzero_fp32), file, append);
  if (opset_version >= 8) {
    // iOS18: a uint1 mask in the weight's shape; the mask fixes the output shape.
    add_input(op, "mask",
              mil::tensor_value(spec::UINT1, weight.dims, std::as_bytes(std::span(r.mask)), file,
                                append));
    add_input(op, "nonzero_data", std::move(nonzero));
    return op;
  }
  // iOS16: nonzero values, the mask packed by hand into uint8, and the shape as uint32.
  auto& attributes = *op.mutable_attributes();
  attributes["nonzero_data"] = std::move(nonzero);
  const std::vector<uint64_t> mask_dims = {r.mask_packed.size()};
  attributes["mask"] = mil::tensor_value(spec::UINT8, mask_dims,
                                         std::as_bytes(std::span(r.mask_packed)), file, append);
  std::vector<uint32_t> shape(weight.dims.begin(), weight.dims.end());
  const std::vector<uint64_t> shape_dims = {shape.size()};
  attributes["shape"] =
      mil::tensor_value(spec::UINT32, shape_dims, std::as_bytes(std::span(shape)), file, append);
  return op;
}

}  // namespace

std::optional<Replacement> prune_const(const spec::Operation& const_op, const PrunerConfig& config,
                                       const ConstContext& context, WeightOutcome& outcome) {
  const ConstTensor weight = read_const_tensor(const_op, *context.blobs, context.where);
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
    pruned = compress::prune_magnitude(
        *weight.view,
        {magnitude.target_sparsity, magnitude.block_size, magnitude.n_m_ratio, magnitude.dim});
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
  ops.push_back(sparse_to_dense(result, weight.shape,
                                context.unique_name(context.const_name + "_sparsified"),
                                context.opset_version, weight.file_name, append));
  record_compressed(outcome, ops, payloads.stored_bytes(), result.error);
  return ops;
}

}  // namespace mlpress::rewrite
