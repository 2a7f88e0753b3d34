#include "core/compress/prune.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/compress/fp16_convert.h"
#include "core/compress/prune_kernels.h"
#include "core/compress/prune_nm_groups.h"
#include "core/compress/prune_select.h"

namespace mlpress::compress {
namespace {

using Result = std::variant<PruneResult, PruneSkip>;

PruneSkip skip(PruneSkipReason reason, std::string message) { return {reason, std::move(message)}; }

std::string num(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool is_fp16(const TensorView& w) { return w.type() == ElementType::kFloat16; }

// |w[i]| as a key: its bits with the sign cleared (fp16 bits widened), ordered like the values.
uint32_t abs_key(const TensorView& w, size_t i) {
  return is_fp16(w) ? uint32_t(w.fp16_bits()[i] & 0x7FFFu)
                    : float_bits(w.fp32_values()[i]) & 0x7FFFFFFFu;
}

float value_at(const TensorView& w, size_t i) {
  return is_fp16(w) ? fp16_to_float(w.fp16_bits()[i]) : w.fp32_values()[i];
}

// The value in the weight's dtype as its key bits (non-negative values only).
uint32_t key_of(const TensorView& w, float v) {
  if (v == 0) return 0;  // never -0
  return is_fp16(w) ? uint32_t(float_to_fp16(v)) : float_bits(v);
}

// A working copy of the weight in its own dtype, pruned in place.
struct Dense {
  std::vector<uint16_t> h;
  std::vector<float> f;

  explicit Dense(const TensorView& w) {
    if (is_fp16(w)) {
      h.assign(w.fp16_bits().begin(), w.fp16_bits().end());
    } else {
      f.assign(w.fp32_values().begin(), w.fp32_values().end());
    }
  }
  // coremltools' `val * 0`: +-0 for finite values, NaN for inf and NaN.
  void multiply_by_zero(size_t i) {
    if (!h.empty()) {
      h[i] = float_to_fp16(fp16_to_float(h[i]) * 0.0f);
    } else {
      f[i] = f[i] * 0.0f;
    }
  }
  void set_zero(size_t i) {
    if (!h.empty()) {
      h[i] = 0;
    } else {
      f[i] = 0.0f;
    }
  }
};

// np.where(|w| <= t, 0, w) with t a non-negative value of the dtype given by its key bits.
void prune_abs_le(const TensorView& w, uint32_t threshold_key, Dense& dense, KernelPath path) {
  const size_t n = size_t(w.size());
  const bool simd = path == KernelPath::kSimd;
  if (is_fp16(w)) {
    const uint16_t t = uint16_t(threshold_key);
    (simd ? kernels::prune_abs_le_fp16_simd : kernels::prune_abs_le_fp16_scalar)(
        w.fp16_bits().data(), n, t, dense.h.data());
  } else {
    (simd ? kernels::prune_abs_le_fp32_simd : kernels::prune_abs_le_fp32_scalar)(
        w.fp32_values().data(), n, threshold_key, dense.f.data());
  }
}

// Mask, nonzero data, the +0 fill of the reconstruction, sparsity and error metrics.
PruneResult finish(const TensorView& w, Dense dense, KernelPath path) {
  const size_t n = size_t(w.size());
  const bool simd = path == KernelPath::kSimd;
  PruneResult r;
  r.type = w.type();
  r.shape = w.shape();
  r.mask_packed.resize((n + 7) / 8);
  if (is_fp16(w)) {
    r.nonzero_count =
        (simd ? kernels::pack_nonzero_mask_fp16_simd : kernels::pack_nonzero_mask_fp16_scalar)(
            dense.h.data(), n, r.mask_packed.data());
  } else {
    r.nonzero_count =
        (simd ? kernels::pack_nonzero_mask_fp32_simd : kernels::pack_nonzero_mask_fp32_scalar)(
            dense.f.data(), n, r.mask_packed.data());
  }
  r.mask.resize(n);
  for (size_t i = 0; i < n; ++i) r.mask[i] = (r.mask_packed[i / 8] >> (i % 8)) & 1u;

  if (is_fp16(w)) {
    r.nonzero_fp16.reserve(r.nonzero_count);
    for (size_t i = 0; i < n; ++i) {
      if (r.mask[i]) {
        r.nonzero_fp16.push_back(dense.h[i]);
      } else {
        dense.h[i] = 0;
      }
    }
    r.dense_fp16 = std::move(dense.h);
  } else {
    r.nonzero_fp32.reserve(r.nonzero_count);
    for (size_t i = 0; i < n; ++i) {
      if (r.mask[i]) {
        r.nonzero_fp32.push_back(dense.f[i]);
      } else {
        dense.f[i] = 0.0f;
      }
    }
    r.dense_fp32 = std::move(dense.f);
  }
  r.sparsity = double(n - r.nonzero_count) / double(n);

  std::vector<float> reconstructed(n);
  for (size_t i = 0; i < n; ++i) reconstructed[i] = r.dense_at(i);
  r.error = compute_error_metrics(w, reconstructed);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Block norms (§5.3), with numpy's rounding: each square and each partial sum is rounded to the
// dtype when the block axis is an outer loop of the reduction; when it is the innermost axis in
// memory numpy sums the block with a binary32 accumulator (pairwise_sum) and rounds once.

float pairwise_sum(const float* a, size_t n) {
  if (n < 8) {
    float res = 0.0f;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

float identity(float x) { return x; }

// One key per element: the norm of its block.
std::vector<uint32_t> block_norm_keys(const TensorView& w, size_t dim, size_t block) {
  const auto& shape = w.shape();
  const size_t channels = size_t(shape[dim]);
  size_t outer = 1;
  for (size_t d = 0; d < dim; ++d) outer *= size_t(shape[d]);
  size_t inner = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= size_t(shape[d]);
  // dim 0: [C/B, B, rest] is C-contiguous. dim 1: the transposed view (or np.pad's F-ordered
  // copy of it) keeps the block axis directly outside the kernel axes. Either way the block
  // axis is innermost exactly when nothing lies inside it.
  const bool pairwise = inner == 1;
  float (*const round)(float) = is_fp16(w) ? &round_to_fp16 : &identity;

  std::vector<uint32_t> keys(size_t(w.size()));
  std::vector<float> squares(block);
  for (size_t o = 0; o < outer; ++o) {
    for (size_t c0 = 0; c0 < channels; c0 += block) {
      for (size_t i = 0; i < inner; ++i) {
        for (size_t b = 0; b < block; ++b) {
          const size_t c = c0 + b;
          const float a = c < channels ? std::fabs(value_at(w, (o * channels + c) * inner + i)) : 0;
          squares[b] = round(a * a);
        }
        float sum;
        if (pairwise) {
          sum = round(pairwise_sum(squares.data(), block));
        } else {
          sum = squares[0];
          for (size_t b = 1; b < block; ++b) sum = round(sum + squares[b]);
        }
        const float norm = round(std::sqrt(sum));
        const uint32_t key =
            std::isnan(norm) ? (is_fp16(w) ? 0x7E00u : 0x7FC00000u) : key_of(w, norm);
        for (size_t c = c0; c < c0 + block && c < channels; ++c) {
          keys[(o * channels + c) * inner + i] = key;
        }
      }
    }
  }
  return keys;
}

// Beyond this many fp16 values numpy 2's fp16 index arithmetic (n - 1) overflows.
constexpr size_t kFp16PercentileLimit = 65520;

PruneSkip percentile_index_error(size_t count, double percent) {
  return skip(PruneSkipReason::kPercentileIndexError, "np.percentile raises IndexError for " +
                                                          std::to_string(count) +
                                                          " fp16 values at q = " + num(percent));
}

// The key threshold for "magnitude <= percentile", or the reason there is none.
std::variant<uint32_t, PruneSkip> percentile_key(const TensorView& w, std::vector<uint32_t> keys,
                                                 double percent) {
  if (is_fp16(w) && keys.size() > kFp16PercentileLimit) {
    // coremltools under numpy 2 computes this percentile's index in fp16, where n - 1
    // overflows: the threshold is NaN and nothing is pruned. mlpress prunes as documented (and
    // as coremltools does under numpy 1, or on the same weight in fp32): the percentile of the
    // same magnitudes in fp32 arithmetic, then every magnitude <= it (the largest fp16 value
    // not above the fp32 threshold).
    for (auto& key : keys) key = float_bits(fp16_to_float(uint16_t(key)));
    const auto t32 = numpy_percentile_linear(keys, percent, PercentileArithmetic::kFloat32);
    if (!t32 || std::isnan(*t32)) return 0u;
    uint16_t h = float_to_fp16(*t32);
    if (fp16_to_float(h) > *t32) --h;  // positive: the previous pattern is the next lower value
    return uint32_t(h);
  }
  const auto t = numpy_percentile_linear(
      keys, percent, is_fp16(w) ? PercentileArithmetic::kFloat16 : PercentileArithmetic::kFloat32);
  if (!t) return percentile_index_error(keys.size(), percent);  // magnitude_prune_skip_for_shape
  // NaN compares false: only zeros (already zero) are "pruned".
  return std::isnan(*t) ? 0u : key_of(w, *t);
}

// ---------------------------------------------------------------------------------------------
// The three magnitude modes.

Result prune_unstructured(const TensorView& w, double sparsity, KernelPath path) {
  Dense dense(w);
  const double percent = sparsity * 100;
  if (percent == 100) {
    for (size_t i = 0; i < size_t(w.size()); ++i) dense.multiply_by_zero(i);
  } else if (percent != 0) {
    std::vector<uint32_t> keys(size_t(w.size()));
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = abs_key(w, i);
    auto t = percentile_key(w, std::move(keys), percent);
    if (auto* s = std::get_if<PruneSkip>(&t)) return *s;
    prune_abs_le(w, std::get<uint32_t>(t), dense, path);
  }
  return finish(w, std::move(dense), path);
}

Result prune_block(const TensorView& w, double sparsity, size_t block, size_t dim,
                   KernelPath path) {
  Dense dense(w);
  const double percent = sparsity * 100;
  if (percent == 100) {
    for (size_t i = 0; i < size_t(w.size()); ++i) dense.multiply_by_zero(i);
  } else if (percent != 0) {
    std::vector<uint32_t> keys = block_norm_keys(w, dim, block);
    auto t = percentile_key(w, keys, percent);
    if (auto* s = std::get_if<PruneSkip>(&t)) return *s;
    const uint32_t threshold = std::get<uint32_t>(t);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] <= threshold) dense.set_zero(i);
    }
  }
  return finish(w, std::move(dense), path);
}

Result prune_n_m(const TensorView& w, size_t n, size_t m, size_t dim, KernelPath path) {
  Dense dense(w);
  const NmTieOrder ties = is_fp16(w) ? NmTieOrder::kByPosition : NmTieOrder::kNumpyAvx2Float32;
  zero_n_smallest_of_m<uint32_t>(
      w.shape(), n, m, dim, ties, [&](size_t i) { return abs_key(w, i); },
      [&](size_t i) { dense.multiply_by_zero(i); });
  return finish(w, std::move(dense), path);
}

}  // namespace

bool is_hard_error(PruneSkipReason reason) {
  switch (reason) {
    case PruneSkipReason::kBelowMinimumSparsity:
    case PruneSkipReason::kBlockTooLarge:
    case PruneSkipReason::kGroupTooLarge:
      return false;
    case PruneSkipReason::kUnsupportedRank:
    case PruneSkipReason::kInvalidConfig:
    case PruneSkipReason::kPercentileIndexError:
    case PruneSkipReason::kEmptyTensor:
      return true;
  }
  return true;
}

float PruneResult::dense_at(size_t i) const {
  return type == ElementType::kFloat16 ? fp16_to_float(dense_fp16[i]) : dense_fp32[i];
}

std::variant<PruneResult, PruneSkip> prune_threshold(const TensorView& weight,
                                                     const ThresholdPruneSpec& spec,
                                                     KernelPath path) {
  if (!(spec.threshold >= 0)) {
    return skip(PruneSkipReason::kInvalidConfig, "threshold must be >= 0");
  }
  if (!(spec.minimum_sparsity_percentile >= 0 && spec.minimum_sparsity_percentile <= 1)) {
    return skip(PruneSkipReason::kInvalidConfig, "minimum_sparsity_percentile must be in [0, 1]");
  }
  if (weight.size() == 0) return skip(PruneSkipReason::kEmptyTensor, "weight has no elements");
  // numpy 2 compares the fp16/fp32 array with the threshold rounded to that dtype.
  const uint32_t t = spec.threshold == 0 ? 0u  // also for -0.0
                     : is_fp16(weight)   ? uint32_t(double_to_fp16(spec.threshold))
                                         : float_bits(float(spec.threshold));
  Dense dense(weight);
  prune_abs_le(weight, t, dense, path);
  PruneResult r = finish(weight, std::move(dense), path);
  if (r.sparsity < spec.minimum_sparsity_percentile) {
    return skip(PruneSkipReason::kBelowMinimumSparsity,
                "weight value has sparsity of " + num(r.sparsity) +
                    " < minimum_sparsity_percentile " + num(spec.minimum_sparsity_percentile) +
                    ". Skipped.");
  }
  return r;
}

std::optional<PruneSkip> magnitude_prune_skip_for_shape(const std::vector<uint64_t>& shape,
                                                        bool fp16_percentile,
                                                        const MagnitudePruneSpec& spec) {
  if (spec.target_sparsity.has_value() == spec.n_m_ratio.has_value()) {
    return skip(PruneSkipReason::kInvalidConfig,
                "Either \"target_sparsity\" or \"n_m_ratio\" need to be set. They cannot be set at "
                "the same time.");
  }
  if (spec.target_sparsity && !(*spec.target_sparsity >= 0 && *spec.target_sparsity <= 1)) {
    return skip(PruneSkipReason::kInvalidConfig, "target_sparsity must be in [0, 1]");
  }
  if (spec.block_size && (spec.n_m_ratio || *spec.block_size <= 1)) {
    return skip(PruneSkipReason::kInvalidConfig,
                "block_size must be > 1 and cannot be combined with n_m_ratio");
  }
  if (spec.n_m_ratio && (spec.n_m_ratio->first < 0 || spec.n_m_ratio->second < 1 ||
                         spec.n_m_ratio->first > spec.n_m_ratio->second)) {
    return skip(PruneSkipReason::kInvalidConfig, "n_m_ratio must satisfy 0 <= n <= m, m >= 1");
  }
  const bool structural = spec.block_size || spec.n_m_ratio;
  if (spec.dim && (!structural || (*spec.dim != 0 && *spec.dim != 1))) {
    return skip(PruneSkipReason::kInvalidConfig,
                "dim must be 0 or 1, and only set with block_size or n_m_ratio");
  }
  const uint64_t count = element_count(shape);
  if (count == 0) return skip(PruneSkipReason::kEmptyTensor, "weight has no elements");
  if (structural) {
    if (shape.size() < 2 || shape.size() > 5) {
      return skip(PruneSkipReason::kUnsupportedRank,
                  "structural pruning only supports weights of rank [2, 3, 4, 5], got rank " +
                      std::to_string(shape.size()));
    }
    const uint64_t channels = shape[size_t(spec.dim.value_or(spec.block_size ? 0 : 1))];
    if (spec.n_m_ratio) {
      const int64_t m = spec.n_m_ratio->second;
      if (double(m) > double(channels) / 2) {
        return skip(PruneSkipReason::kGroupTooLarge,
                    "m > channel / 2 is not applicable for n:m pruning. Got m = " +
                        std::to_string(m) + ", channel = " + std::to_string(channels) + ".");
      }
      return std::nullopt;  // n:m takes no percentile
    }
    const int64_t block = *spec.block_size;
    if (double(block) > double(channels) / 2) {
      return skip(
          PruneSkipReason::kBlockTooLarge,
          "block_size > channel / 2 is not applicable for block sparsity. Got block_size = " +
              std::to_string(block) + ", channel = " + std::to_string(channels) + ".");
    }
  }
  // numpy's fp16 index arithmetic depends on the count and q only (larger fp16 weights take
  // the fp32 percentile, see percentile_key).
  const double percent = *spec.target_sparsity * 100;
  if (fp16_percentile && percent != 0 && percent != 100 && count <= kFp16PercentileLimit &&
      numpy_percentile_raises_index_error(size_t(count), percent, PercentileArithmetic::kFloat16)) {
    return percentile_index_error(size_t(count), percent);
  }
  return std::nullopt;
}

std::variant<PruneResult, PruneSkip> prune_magnitude(const TensorView& weight,
                                                     const MagnitudePruneSpec& spec,
                                                     KernelPath path) {
  if (auto skipped = magnitude_prune_skip_for_shape(weight.shape(), is_fp16(weight), spec)) {
    return *skipped;
  }
  const bool structural = spec.block_size || spec.n_m_ratio;
  if (!structural) return prune_unstructured(weight, *spec.target_sparsity, path);
  if (spec.block_size) {
    return prune_block(weight, *spec.target_sparsity, size_t(*spec.block_size),
                       size_t(spec.dim.value_or(0)), path);
  }
  return prune_n_m(weight, size_t(spec.n_m_ratio->first), size_t(spec.n_m_ratio->second),
                   size_t(spec.dim.value_or(1)), path);
}

}  // namespace mlpress::compress
