#include "core/plan/evaluate_choices.h"

#include <cmath>
#include <limits>

#include "core/compress/fp16_convert.h"
#include "core/compress/linear_quantize.h"
#include "core/compress/palettize.h"
#include "core/compress/prune.h"
#include "core/plan/parallel_for.h"

namespace mlpress::plan {
namespace {

float source_at(const compress::TensorView& w, size_t i) {
  return w.type() == compress::ElementType::kFloat16 ? compress::fp16_to_float(w.fp16_bits()[i])
                                                     : w.fp32_values()[i];
}

int weight_bits(const compress::TensorView& w) {
  return w.type() == compress::ElementType::kFloat16 ? 16 : 32;
}

ChoiceResult unavailable(std::string reason) {
  ChoiceResult r;
  r.reason = std::move(reason);
  return r;
}

ChoiceResult available(const compress::TensorView& weight, std::span<const float> decoded,
                       StoredBytes bytes) {
  ChoiceResult r;
  r.available = true;
  r.error = measure_error(weight, decoded);
  r.bytes = bytes;
  return r;
}

compress::ChannelAxes kernel_axes(const config::ChannelAxes& axes, size_t rank) {
  auto normalise = [rank](std::optional<int> axis) -> std::optional<size_t> {
    if (!axis) return std::nullopt;
    return static_cast<size_t>(*axis < 0 ? *axis + static_cast<int>(rank) : *axis);
  };
  return {normalise(axes.output), normalise(axes.input)};
}

ChoiceResult evaluate_quantize(const compress::TensorView& weight, const WeightContext& context,
                               const config::OpLinearQuantizerConfig& config) {
  compress::GranularityRequest request;
  request.granularity = config.granularity == config::Granularity::per_block
                            ? compress::QuantGranularity::kPerBlock
                            : compress::QuantGranularity::kPerChannel;
  request.block_size = static_cast<uint64_t>(std::get<int64_t>(config.block_size));
  auto blocks = compress::infer_block_sizes(weight.shape(), request,
                                            kernel_axes(context.axes, weight.rank()));
  if (auto* skip = std::get_if<compress::QuantSkip>(&blocks)) return unavailable(skip->message);
  compress::LinearQuantSpec spec;
  spec.dtype = config.dtype == "int4" ? compress::QuantDtype::kInt4 : compress::QuantDtype::kInt8;
  spec.block_sizes = std::get<std::vector<uint64_t>>(blocks);
  auto quantized = compress::quantize_linear(weight, spec);
  if (auto* skip = std::get_if<compress::QuantSkip>(&quantized)) return unavailable(skip->message);
  const auto& result = std::get<compress::LinearQuantResult>(quantized);
  return available(weight, compress::dequantize_linear(result),
                   quantized_bytes(result, context.opset_version, weight_bits(weight)));
}

ChoiceResult evaluate_palettize(const compress::TensorView& weight, const WeightContext& context,
                                const config::OpPalettizerConfig& config) {
  compress::PalettizeSpec spec;
  spec.nbits = static_cast<int>(*config.nbits);
  if (config.granularity == config::Granularity::per_grouped_channel) {
    spec.granularity = compress::PaletteGranularity::kPerGroupedChannel;
    spec.group_size = static_cast<uint64_t>(config.group_size);
  }
  // As palettize_const: the consumer's output axis (0 when there is none).
  int axis = context.axes.output.value_or(0);
  if (axis < 0) axis += static_cast<int>(weight.rank());
  spec.channel_axis = static_cast<size_t>(axis);
  auto palettized = compress::palettize(weight, spec);
  if (auto* skip = std::get_if<compress::PaletteSkip>(&palettized))
    return unavailable(skip->message);
  const auto& result = std::get<compress::PalettizeResult>(palettized);
  return available(weight, compress::depalettize(result),
                   palettized_bytes(result, context.opset_version, weight_bits(weight)));
}

ChoiceResult evaluate_prune(const compress::TensorView& weight, const WeightContext& context,
                            const config::OpMagnitudePrunerConfig& config) {
  auto pruned = compress::prune_magnitude(
      weight, {config.target_sparsity, std::nullopt, std::nullopt, config.dim});
  if (auto* skip = std::get_if<compress::PruneSkip>(&pruned)) return unavailable(skip->message);
  const auto& result = std::get<compress::PruneResult>(pruned);
  std::vector<float> decoded(weight.size());
  for (size_t i = 0; i < decoded.size(); ++i) decoded[i] = result.dense_at(i);
  return available(weight, decoded,
                   pruned_bytes(result, context.opset_version, weight_bits(weight)));
}

ChoiceResult evaluate_one(const compress::TensorView& weight, const WeightContext& context,
                          const Choice& choice) {
  if (choice.kind == ChoiceKind::kDense) {
    ChoiceResult r;
    r.available = true;
    r.error.snr_db = std::numeric_limits<double>::infinity();
    r.bytes = dense_bytes(weight.size(), weight_bits(weight));
    return r;
  }
  if (choice.needs_ios18 && context.opset_version < 8) {
    return unavailable("needs iOS18 (the program's opset is CoreML" +
                       std::to_string(context.opset_version) + ")");
  }
  if (choice.kind == ChoiceKind::kPrune) {
    return evaluate_prune(weight, context,
                          std::get<config::OpMagnitudePrunerConfig>(choice.config));
  }
  if (!context.axes.decided()) return unavailable(context.axes_problem);
  if (choice.kind == ChoiceKind::kQuantize) {
    return evaluate_quantize(weight, context,
                             std::get<config::OpLinearQuantizerConfig>(choice.config));
  }
  return evaluate_palettize(weight, context, std::get<config::OpPalettizerConfig>(choice.config));
}

}  // namespace

double sum_of_squares(const compress::TensorView& weight) {
  double sum = 0;
  for (size_t i = 0; i < weight.size(); ++i) {
    const double w = source_at(weight, i);
    sum += w * w;
  }
  return sum;
}

ChoiceError measure_error(const compress::TensorView& source, std::span<const float> decoded) {
  double sq_error = 0, sq_norm = 0, dot = 0, sq_decoded = 0;
  for (size_t i = 0; i < decoded.size(); ++i) {
    const double w = source_at(source, i);
    const double d = decoded[i];
    sq_error += (w - d) * (w - d);
    sq_norm += w * w;
    dot += w * d;
    sq_decoded += d * d;
  }
  ChoiceError e;
  e.sq_error = sq_error;
  e.rel_error = sq_error == 0 ? 0 : std::sqrt(sq_error / sq_norm);
  e.snr_db =
      sq_error == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(sq_norm / sq_error);
  if (sq_norm == 0 && sq_decoded == 0) {
    e.cosine = 1;
  } else if (sq_norm == 0 || sq_decoded == 0) {
    e.cosine = 0;
  } else {
    e.cosine = dot / std::sqrt(sq_norm * sq_decoded);
  }
  return e;
}

std::vector<ChoiceResult> evaluate_choices(const compress::TensorView& weight,
                                           const WeightContext& context,
                                           const std::vector<Choice>& choices, unsigned threads) {
  std::vector<ChoiceResult> results(choices.size());
  parallel_for(choices.size(), threads,
               [&](size_t i) { results[i] = evaluate_one(weight, context, choices[i]); });
  return results;
}

}  // namespace mlpress::plan
