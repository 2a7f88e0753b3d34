#include "core/compress/linear_quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/compress/fp16_convert.h"
#include "core/compress/linear_quantize_kernels.h"
#include "core/compress/parallel_chunks.h"

namespace mlpress::compress {

int bit_width(QuantDtype dtype) {
  return dtype == QuantDtype::kInt4 || dtype == QuantDtype::kUint4 ? 4 : 8;
}

bool is_signed(QuantDtype dtype) {
  return dtype == QuantDtype::kInt8 || dtype == QuantDtype::kInt4;
}

QuantRange quant_range(QuantMode mode, QuantDtype dtype) {
  const int32_t levels = int32_t(1) << bit_width(dtype);
  const bool symmetric = mode == QuantMode::kLinearSymmetric;
  if (is_signed(dtype)) return {-levels / 2 + (symmetric ? 1 : 0), levels / 2 - 1};
  return {0, levels - 1 - (symmetric ? 1 : 0)};
}

bool is_hard_error(QuantSkipReason reason) { return reason == QuantSkipReason::kBlockRankMismatch; }

float LinearQuantResult::scale_at(size_t block) const {
  return scale_type == ElementType::kFloat16 ? fp16_to_float(scale_fp16[block]) : scale_fp32[block];
}

namespace {

std::string join(std::span<const uint64_t> values) {
  std::string s = "(";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(values[i]);
  }
  return s + ")";
}

// The blocked layout of one weight: the innermost axis forms rows, cut into segments that each
// lie in one block; the other axes pick the row's first block.
class BlockGeometry {
 public:
  BlockGeometry(std::span<const uint64_t> shape, std::span<const uint64_t> block_sizes) {
    if (shape.empty()) {
      dims_ = {1};
      blocks_ = {1};
    } else {
      dims_.assign(shape.begin(), shape.end());
      for (size_t d = 0; d < dims_.size(); ++d) {
        blocks_.push_back(block_sizes[d] ? block_sizes[d] : dims_[d]);
      }
    }
    for (size_t d = 0; d < dims_.size(); ++d) counts_.push_back(dims_[d] / blocks_[d]);
    strides_.assign(dims_.size(), 1);
    for (size_t d = dims_.size() - 1; d > 0; --d) strides_[d - 1] = strides_[d] * counts_[d];
    block_count_ = strides_[0] * counts_[0];
    row_count_ = 1;
    for (size_t d = 0; d + 1 < dims_.size(); ++d) row_count_ *= dims_[d];
  }

  size_t inner() const { return size_t(dims_.back()); }
  size_t segment() const { return size_t(blocks_.back()); }
  size_t block_count() const { return size_t(block_count_); }
  uint64_t row_count() const { return row_count_; }
  // Whether every block lies in one row, so rows can be folded into their ranges independently.
  bool rows_own_blocks() const {
    for (size_t d = 0; d + 1 < dims_.size(); ++d) {
      if (blocks_[d] != 1) return false;
    }
    return true;
  }
  // The first block index of `row` (what for_each_row passes).
  size_t first_block(uint64_t row) const {
    uint64_t base = 0;
    for (size_t d = dims_.size() - 1; d-- > 0;) {
      base += ((row % dims_[d]) / blocks_[d]) * strides_[d];
      row /= dims_[d];
    }
    return size_t(base);
  }
  const std::vector<uint64_t>& scale_shape() const { return counts_; }

  // Calls fn(row index, first block index of the row) for every row in order.
  template <typename Fn>
  void for_each_row(Fn fn) const {
    const size_t outer = dims_.size() - 1;
    std::vector<uint64_t> index(outer, 0);
    for (uint64_t row = 0; row < row_count_; ++row) {
      uint64_t base = 0;
      for (size_t d = 0; d < outer; ++d) base += (index[d] / blocks_[d]) * strides_[d];
      fn(size_t(row), size_t(base));
      for (size_t d = outer; d-- > 0;) {
        if (++index[d] < dims_[d]) break;
        index[d] = 0;
      }
    }
  }

 private:
  std::vector<uint64_t> dims_;
  std::vector<uint64_t> blocks_;
  std::vector<uint64_t> counts_;
  std::vector<uint64_t> strides_;
  uint64_t block_count_ = 0;
  uint64_t row_count_ = 0;
};

bool has_infinity(const TensorView& weight) {
  if (weight.type() == ElementType::kFloat16) {
    for (uint16_t h : weight.fp16_bits()) {
      if ((h & 0x7FFFu) == 0x7C00u) return true;
    }
    return false;
  }
  for (float f : weight.fp32_values()) {
    if (std::isinf(f)) return true;
  }
  return false;
}

QuantSkip infinity_skip() {
  return {QuantSkipReason::kInfiniteValue,
          "the weight has inf/-inf, which is not supported by quantization; skipped"};
}

float identity(float x) { return x; }

struct BlockParams {
  float scale;        // exactly representable in the weight dtype
  float zero;         // what the codes add: an integer, or NaN for a degenerate block
  uint8_t zero_byte;  // the stored zero point
};

// One block's scale and zero point, every operation rounded to the weight dtype as numpy does
// (COMPRESSION.md §3.3-§3.5). `round_t` is round_to_fp16 for fp16 weights, identity for fp32.
BlockParams block_params(float lo, float hi, bool any_nan, QuantMode mode, QuantDtype dtype,
                         float (*round_t)(float)) {
  const QuantRange range = quant_range(mode, dtype);
  const bool symmetric = mode == QuantMode::kLinearSymmetric;
  const float shift = float(range.qmax / 2);  // unsigned symmetric: floor(qmax / 2)
  const bool shifted = symmetric && !is_signed(dtype);
  if (any_nan) {
    // NaN propagates through min/max into scale and codes; codes and zero points cast to 0.
    return {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::quiet_NaN(),
            uint8_t(shifted ? int32_t(shift) : 0)};
  }
  // numpy may return either zero from min/max; +0 gives its scale bits for all-zero blocks.
  if (lo == 0) lo = 0.0f;
  if (hi == 0) hi = 0.0f;
  if (symmetric) {
    const float lo_abs = std::fabs(lo);
    const float hi_abs = std::fabs(hi);
    const float r = lo_abs > hi_abs ? lo_abs : hi_abs;
    lo = -r;
    hi = r;
  } else {
    lo = lo < 0.0f ? lo : 0.0f;
    hi = hi > 0.0f ? hi : 0.0f;
  }
  const float span = round_t(hi - lo);
  const float scale = round_t(span / float(range.qmax - range.qmin));
  if (symmetric) {
    if (!shifted) return {scale, 0.0f, 0};
    return {scale, shift, uint8_t(int32_t(shift))};
  }
  const float a = round_t(float(range.qmin) * hi);
  const float b = round_t(float(range.qmax) * lo);
  const float numerator = round_t(a - b);
  float zero = std::nearbyint(round_t(numerator / span));
  if (zero != zero) return {scale, zero, 0};
  zero = zero < float(range.qmin) ? float(range.qmin) : zero;
  zero = zero > float(range.qmax) ? float(range.qmax) : zero;
  return {scale, zero, uint8_t(int32_t(zero))};
}

const kernels::RowKernels& row_kernels(KernelPath path) {
  switch (path) {
    case KernelPath::kScalar:
      return kernels::scalar_kernels();
    case KernelPath::kSimdPortable:
      return kernels::portable_simd_kernels();
    default:
      return kernels::best_simd_kernels();
  }
}

// Rows are handled in groups of about kGroupElements elements. The grouping depends on the
// shape alone, and the error sums add rows in order within a group and groups in order, so the
// metrics do not depend on the thread count.
constexpr uint64_t kGroupElements = uint64_t(1) << 16;
constexpr uint64_t kThreadedElements = uint64_t(1) << 18;

struct RowGroups {
  uint64_t rows_per_group;
  size_t count;
  RowGroups(uint64_t rows, size_t inner) {
    rows_per_group = std::max<uint64_t>(1, kGroupElements / std::max<size_t>(inner, 1));
    count = size_t((rows + rows_per_group - 1) / rows_per_group);
  }
};

}  // namespace

std::optional<QuantSkip> check_block_sizes(std::span<const uint64_t> shape,
                                           std::span<const uint64_t> block_sizes) {
  if (block_sizes.size() != shape.size()) {
    return QuantSkip{QuantSkipReason::kBlockRankMismatch,
                     "block_size " + join(block_sizes) +
                         " must have one element for each axis of "
                         "the weight, whose shape is " +
                         join(shape)};
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (block_sizes[d] > 0 && shape[d] % block_sizes[d] != 0) {
      return QuantSkip{QuantSkipReason::kBlockNotDivisible,
                       "Invalid block_sizes; on axis " + std::to_string(d) + ", the dim size " +
                           std::to_string(shape[d]) + " is not divisible by block size " +
                           std::to_string(block_sizes[d])};
    }
  }
  return std::nullopt;
}

std::variant<std::vector<uint64_t>, QuantSkip> infer_block_sizes(std::span<const uint64_t> shape,
                                                                 const GranularityRequest& request,
                                                                 const ChannelAxes& axes) {
  std::vector<uint64_t> sizes(shape.size(), 0);
  if (request.granularity == QuantGranularity::kPerBlock && request.block_size_per_axis) {
    sizes = *request.block_size_per_axis;
  } else {
    if (!axes.output_axis || !axes.input_axis) {
      return QuantSkip{QuantSkipReason::kUndecidableAxes,
                       "cannot decide the output/input channel axes of the weight (its consumers "
                       "disagree); skipped"};
    }
    uint64_t output_block = 0;
    uint64_t input_block = 0;
    if (request.granularity == QuantGranularity::kPerChannel) {
      output_block = 1;
    } else if (request.granularity == QuantGranularity::kPerBlock) {
      output_block = 1;
      input_block = request.block_size;
    }
    // Input first, as coremltools: when both axes coincide the output setting wins.
    if (*axes.input_axis < sizes.size()) sizes[*axes.input_axis] = input_block;
    if (*axes.output_axis < sizes.size()) sizes[*axes.output_axis] = output_block;
  }
  if (auto skip = check_block_sizes(shape, sizes)) return *skip;
  return sizes;
}

std::variant<LinearQuantResult, QuantSkip> quantize_linear(const TensorView& weight,
                                                           const LinearQuantSpec& spec,
                                                           KernelPath path, unsigned threads) {
  const std::vector<uint64_t>& shape = weight.shape();
  if (auto skip = check_block_sizes(shape, spec.block_sizes)) {
    if (skip->reason != QuantSkipReason::kBlockRankMismatch && has_infinity(weight)) {
      return infinity_skip();
    }
    return *skip;
  }
  if (weight.size() == 0) {
    return QuantSkip{QuantSkipReason::kEmptyTensor, "the weight has no elements; skipped"};
  }

  const BlockGeometry geometry(shape, spec.block_sizes);
  const size_t inner = geometry.inner();
  const size_t segment = geometry.segment();
  const size_t nblocks = geometry.block_count();
  const uint64_t rows = geometry.row_count();
  const bool half = weight.type() == ElementType::kFloat16;
  const kernels::RowKernels& k = row_kernels(path);
  const RowGroups groups(rows, inner);
  if (threads == 0) threads = weight.size() >= kThreadedElements ? 0 : 1;
  auto for_each_group = [&](auto&& fn) {
    run_chunks(groups.count, threads, [&](size_t g) {
      const uint64_t first = uint64_t(g) * groups.rows_per_group;
      fn(g, first, std::min(rows, first + groups.rows_per_group));
    });
  };

  std::vector<float> lo(nblocks, std::numeric_limits<float>::infinity());
  std::vector<float> hi(nblocks, -std::numeric_limits<float>::infinity());
  std::vector<uint8_t> any_nan(nblocks, 0);
  auto fold_row = [&](uint64_t row, size_t base) {
    if (half) {
      k.minmax_fp16(weight.fp16_bits().data() + row * inner, inner, segment, &lo[base], &hi[base],
                    &any_nan[base]);
    } else {
      k.minmax_fp32(weight.fp32_values().data() + row * inner, inner, segment, &lo[base], &hi[base],
                    &any_nan[base]);
    }
  };
  if (geometry.rows_own_blocks()) {
    for_each_group([&](size_t, uint64_t first, uint64_t end) {
      for (uint64_t row = first; row < end; ++row) fold_row(row, geometry.first_block(row));
    });
  } else {
    geometry.for_each_row(fold_row);  // rows share blocks: one thread folds them in turn
  }
  // lo and hi start at +inf / -inf, so only a real infinity can show up on the far side.
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t b = 0; b < nblocks; ++b) {
    if (lo[b] == -inf || hi[b] == inf) return infinity_skip();
  }

  LinearQuantResult result;
  result.mode = spec.mode;
  result.dtype = spec.dtype;
  result.scale_type = weight.type();
  result.shape = shape;
  result.block_sizes = spec.block_sizes;
  result.scale_shape = shape.empty() ? std::vector<uint64_t>{} : geometry.scale_shape();

  std::vector<float> scale(nblocks);
  std::vector<float> zero(nblocks);
  std::vector<float> stored_zero(nblocks);
  std::vector<uint8_t> zero_bytes(nblocks);
  float (*round_t)(float) = half ? round_to_fp16 : identity;
  const bool signed_codes = is_signed(spec.dtype);
  for (size_t b = 0; b < nblocks; ++b) {
    const BlockParams p =
        block_params(lo[b], hi[b], any_nan[b] != 0, spec.mode, spec.dtype, round_t);
    scale[b] = p.scale;
    zero[b] = p.zero;
    zero_bytes[b] = p.zero_byte;
    stored_zero[b] = float(signed_codes ? int32_t(int8_t(p.zero_byte)) : int32_t(p.zero_byte));
  }
  if (half) {
    result.scale_fp16.resize(nblocks);
    for (size_t b = 0; b < nblocks; ++b) result.scale_fp16[b] = float_to_fp16(scale[b]);
  } else {
    result.scale_fp32 = scale;
  }
  if (!(spec.mode == QuantMode::kLinearSymmetric && signed_codes)) {
    result.zero_point = std::move(zero_bytes);
  }

  const kernels::CodeRange range{quant_range(spec.mode, spec.dtype).qmin,
                                 quant_range(spec.mode, spec.dtype).qmax};
  result.codes.resize(weight.size());
  std::vector<ErrorSums> group_sums(groups.count);
  for_each_group([&](size_t g, uint64_t first, uint64_t end) {
    ErrorSums sums;
    for (uint64_t row = first; row < end; ++row) {
      const size_t base = geometry.first_block(row);
      const kernels::SegmentParams params{&scale[base], &zero[base], &stored_zero[base]};
      uint8_t* out = result.codes.data() + row * inner;
      add_error_sums(sums, half ? k.quantize_fp16(weight.fp16_bits().data() + row * inner, inner,
                                                  segment, params, range, out)
                                : k.quantize_fp32(weight.fp32_values().data() + row * inner, inner,
                                                  segment, params, range, out));
    }
    group_sums[g] = sums;
  });
  ErrorSums total;
  for (const ErrorSums& sums : group_sums) add_error_sums(total, sums);
  result.metrics = metrics_from_sums(total, weight.size());
  return result;
}

std::vector<float> dequantize_linear(const LinearQuantResult& result) {
  const BlockGeometry geometry(result.shape, result.block_sizes);
  const size_t inner = geometry.inner();
  const size_t segment = geometry.segment();
  const bool half = result.scale_type == ElementType::kFloat16;
  std::vector<float> out(result.codes.size());
  const bool signed_codes = is_signed(result.dtype);
  // Block parameters are hoisted out of each run of `segment` elements that share them.
  geometry.for_each_row([&](size_t row, size_t base) {
    const size_t start = row * inner;
    for (size_t first = 0; first < inner; first += segment) {
      const size_t block = base + first / segment;
      const float zero_point = float(result.zero_point_at(block));
      const float scale = result.scale_at(block);
      const size_t end = std::min(inner, first + segment);
      for (size_t i = start + first; i < start + end; ++i) {
        const int32_t code = signed_codes ? int32_t(int8_t(result.codes[i])) : result.codes[i];
        const float value = (float(code) - zero_point) * scale;
        out[i] = half ? round_to_fp16(value) : value;
      }
    }
  });
  return out;
}

}  // namespace mlpress::compress
