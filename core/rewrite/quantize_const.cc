#include "core/rewrite/quantize_const.h"

#include <algorithm>
#include <cstring>

#include "core/compress/linear_quantize.h"
#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/rewrite/const_tensor.h"
#include "core/rewrite/linear_quant_spec.h"
#include "core/rewrite/quantized_op.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

bool integer_values_are_mask(std::span<const std::byte> bytes, bool is_signed) {
  if (bytes.empty()) return true;
  int lo = 255, hi = -128;
  for (std::byte b : bytes) {
    const int v = is_signed ? int(int8_t(b)) : int(uint8_t(b));
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // numpy subtracts the two int8 scalars in int8; uint8's max - min cannot wrap.
  const int span = is_signed ? int(int8_t(uint8_t((hi - lo) & 0xFF))) : hi - lo;
  return span < 2;
}

std::string integer_mask_skip_reason(int dtype) {
  return mil::dtype_name(dtype) + " values whose max - min (in numpy's " + mil::dtype_name(dtype) +
         " arithmetic) is below 2: coremltools takes them for a mask and skips them";
}

std::string integer_quantize_refusal(const std::string& where, int dtype,
                                     const std::string& op_name) {
  return where +
         ": Only floating numpy arrays are supported. coremltools cannot linearly quantize a " +
         mil::dtype_name(dtype) + " weight; exclude it with op_name_configs[\"" + op_name +
         "\"]: null";
}

void check_linear_quantizer_target(const config::OpLinearQuantizerConfig& config, int opset_version,
                                   const std::string& where) {
  if (opset_version >= 8) return;
  const std::string advice =
      " Please re-convert your model with minimum_deployment_target set to at least "
      "ct.target.iOS18 (this program's opset is CoreML" +
      std::to_string(opset_version) + "), or use int8/uint8 with per_tensor or per_channel.";
  if (config.granularity == config::Granularity::per_block) {
    throw Error(where + ": The per_block quantization is supported since iOS18." + advice);
  }
  if (config.nbits() == 4) {
    throw Error(where + ": The 4-bit quantization is supported since iOS18." + advice);
  }
}

std::optional<Replacement> quantize_const(const spec::Operation& const_op,
                                          const config::OpLinearQuantizerConfig& config,
                                          const config::ChannelAxes& axes,
                                          const ConstContext& context, WeightOutcome& outcome) {
  const ConstTensor weight = read_const_tensor(const_op, *context.blobs, context.where);
  const mil::TensorShape& shape = weight.shape;
  const std::vector<std::byte>& bytes = weight.bytes;
  if (shape.dtype == spec::INT8 || shape.dtype == spec::UINT8) {
    if (integer_values_are_mask(bytes, shape.dtype == spec::INT8)) {
      outcome.reason = integer_mask_skip_reason(shape.dtype);
      return std::nullopt;
    }
    throw Error(integer_quantize_refusal(context.where, shape.dtype, outcome.op_name));
  }
  const compress::TensorView& view = *weight.view;

  const auto spec_or_skip = linear_quant_spec(config, axes, shape.dims);
  if (const auto* skip = std::get_if<compress::QuantSkip>(&spec_or_skip)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& quant_spec = std::get<compress::LinearQuantSpec>(spec_or_skip);
  auto quantized = compress::quantize_linear(view, quant_spec);
  if (auto* skip = std::get_if<compress::QuantSkip>(&quantized)) {
    if (compress::is_hard_error(skip->reason)) throw Error(context.where + ": " + skip->message);
    outcome.reason = skip->message;
    return std::nullopt;
  }
  const auto& result = std::get<compress::LinearQuantResult>(quantized);

  PayloadSink payloads(context, weight.file_name);
  const mil::BlobAppender append = payloads.appender();
  spec::Operation op =
      quantized_op(result, shape, context.unique_name(context.const_name + "_quantized"),
                   context.opset_version, weight.file_name, append);

  Replacement ops;
  ops.push_back(std::move(op));
  record_compressed(outcome, ops, payloads.stored_bytes(), result.metrics);
  return ops;
}

}  // namespace mlpress::rewrite
