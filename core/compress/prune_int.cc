#include "core/compress/prune_int.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/compress/prune_nm_groups.h"
#include "core/compress/tensor_view.h"

namespace mlpress::compress {
namespace {

using Result = std::variant<IntPruneResult, PruneSkip>;

PruneSkip skip(PruneSkipReason reason, std::string message) { return {reason, std::move(message)}; }

int value_of(std::span<const uint8_t> bytes, bool is_signed, size_t i) {
  return is_signed ? int(int8_t(bytes[i])) : int(bytes[i]);
}

// numpy's abs in the weight's dtype: int8 -128 stays -128.
int wrapped_abs(int v, bool is_signed) { return is_signed && v == -128 ? -128 : std::abs(v); }

// numpy's product of two values of the weight's dtype, wrapped to that dtype.
int wrapped_square(int v, bool is_signed) {
  const int sq = (v * v) & 0xFF;
  return is_signed ? int(int8_t(uint8_t(sq))) : sq;
}

// np.percentile(keys, percent) with the default linear method: the virtual index
// n * q + (1 - q) - 1 and numpy's two-sided lerp in double; NaN if any key is NaN. numpy takes
// the difference of the two neighbours in the array's dtype: for int8 magnitudes it wraps
// (from -128 to 0 or above), which `wrap_int8_difference` reproduces.
double numpy_percentile(std::vector<double> keys, double percent, bool wrap_int8_difference) {
  for (double k : keys) {
    if (std::isnan(k)) return std::numeric_limits<double>::quiet_NaN();
  }
  std::sort(keys.begin(), keys.end());
  const double q = percent / 100;
  const double n = double(keys.size());
  const double virtual_index = n * q + (1 - q) - 1;  // alpha = beta = 1
  const double below = std::floor(virtual_index);
  const double gamma = virtual_index - below;
  const auto clamp = [&](double i) { return size_t(std::clamp(i, 0.0, n - 1)); };
  const double a = keys[clamp(below)];
  const double b = keys[clamp(below + 1)];
  double diff = b - a;
  if (wrap_int8_difference) diff = double(int8_t(uint8_t(int(diff) & 0xFF)));
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

// The pruned dense values (as ints) into the op's parameters and the error metrics.
IntPruneResult finish(std::span<const uint8_t> bytes, bool is_signed,
                      const std::vector<uint64_t>& shape, const std::vector<int>& dense) {
  IntPruneResult r;
  const size_t count = dense.size();
  r.mask.resize(count);
  r.mask_packed.assign((count + 7) / 8, 0);
  std::vector<float> source(count), pruned(count);
  for (size_t i = 0; i < count; ++i) {
    source[i] = float(value_of(bytes, is_signed, i));
    pruned[i] = float(dense[i]);
    if (dense[i] == 0) continue;
    r.mask[i] = 1;
    r.mask_packed[i / 8] = uint8_t(r.mask_packed[i / 8] | (1u << (i % 8)));
    r.nonzero.push_back(uint8_t(dense[i]));
  }
  r.nonzero_count = r.nonzero.size();
  r.sparsity = count == 0 ? 0 : double(count - r.nonzero_count) / double(count);
  r.error = compute_error_metrics(TensorView::fp32(source, shape), pruned);
  return r;
}

std::vector<int> values(std::span<const uint8_t> bytes, bool is_signed) {
  std::vector<int> v(bytes.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = value_of(bytes, is_signed, i);
  return v;
}

// Zeroes every value whose key is <= the `percent` percentile of the keys (NaN: none).
void zero_at_or_below_percentile(std::vector<int>& dense, const std::vector<double>& keys,
                                 double percent, bool wrap_int8_difference) {
  if (percent == 100) {
    std::fill(dense.begin(), dense.end(), 0);
  } else if (percent != 0) {
    const double p = numpy_percentile(keys, percent, wrap_int8_difference);
    for (size_t i = 0; i < dense.size(); ++i) {
      if (keys[i] <= p) dense[i] = 0;
    }
  }
}

// Block norms per element: sqrt of the 64-bit sum of wrapped squares of the block's magnitudes
// along `dim` (blocks of `block` channels, the last one padded with zeros).
std::vector<double> block_norms(std::span<const uint8_t> bytes, bool is_signed,
                                const std::vector<uint64_t>& shape, size_t block, size_t dim) {
  size_t inner = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= size_t(shape[d]);
  const size_t channels = size_t(shape[dim]);
  size_t outer = 1;
  for (size_t d = 0; d < dim; ++d) outer *= size_t(shape[d]);
  std::vector<double> norms(bytes.size());
  for (size_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < inner; ++k) {
      for (size_t c0 = 0; c0 < channels; c0 += block) {
        const size_t end = std::min(channels, c0 + block);
        int64_t sum = 0;
        for (size_t c = c0; c < end; ++c) {
          const size_t i = (o * channels + c) * inner + k;
          sum += wrapped_square(wrapped_abs(value_of(bytes, is_signed, i), is_signed), is_signed);
        }
        const double norm =
            sum < 0 ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(double(sum));
        for (size_t c = c0; c < end; ++c) norms[(o * channels + c) * inner + k] = norm;
      }
    }
  }
  return norms;
}

Result prune_n_m(std::span<const uint8_t> bytes, bool is_signed, const std::vector<uint64_t>& shape,
                 size_t n, size_t m, size_t dim) {
  std::vector<int> dense = values(bytes, is_signed);
  zero_n_smallest_of_m<int>(
      shape, n, m, dim, NmTieOrder::kByPosition,
      [&](size_t i) { return wrapped_abs(dense[i], is_signed); }, [&](size_t i) { dense[i] = 0; });
  return finish(bytes, is_signed, shape, dense);
}

}  // namespace

Result prune_threshold_int(std::span<const uint8_t> bytes, bool is_signed,
                           const std::vector<uint64_t>& shape, const ThresholdPruneSpec& spec) {
  if (!(spec.threshold >= 0))
    return skip(PruneSkipReason::kInvalidConfig, "threshold must be >= 0");
  if (!(spec.minimum_sparsity_percentile >= 0 && spec.minimum_sparsity_percentile <= 1)) {
    return skip(PruneSkipReason::kInvalidConfig, "minimum_sparsity_percentile must be in [0, 1]");
  }
  if (bytes.empty()) return skip(PruneSkipReason::kEmptyTensor, "weight has no elements");
  std::vector<int> dense = values(bytes, is_signed);
  for (int& v : dense) {
    if (double(wrapped_abs(v, is_signed)) <= spec.threshold) v = 0;
  }
  IntPruneResult r = finish(bytes, is_signed, shape, dense);
  if (r.sparsity < spec.minimum_sparsity_percentile) {
    return skip(PruneSkipReason::kBelowMinimumSparsity,
                "weight value has sparsity of " + std::to_string(r.sparsity) +
                    " < minimum_sparsity_percentile " +
                    std::to_string(spec.minimum_sparsity_percentile) + ". Skipped.");
  }
  return r;
}

Result prune_magnitude_int(std::span<const uint8_t> bytes, bool is_signed,
                           const std::vector<uint64_t>& shape, const MagnitudePruneSpec& spec) {
  // The config checks and skips that do not depend on the values are the float pruner's; the
  // percentile is taken in float64 here, never in fp16.
  if (auto skipped = magnitude_prune_skip_for_shape(shape, false, spec)) return *skipped;

  const bool structural = spec.block_size || spec.n_m_ratio;
  if (spec.n_m_ratio) {
    return prune_n_m(bytes, is_signed, shape, size_t(spec.n_m_ratio->first),
                     size_t(spec.n_m_ratio->second), size_t(spec.dim.value_or(1)));
  }
  std::vector<int> dense = values(bytes, is_signed);
  std::vector<double> keys;
  if (structural) {
    keys = block_norms(bytes, is_signed, shape, size_t(*spec.block_size),
                       size_t(spec.dim.value_or(0)));
  } else {
    keys.resize(dense.size());
    for (size_t i = 0; i < dense.size(); ++i) keys[i] = wrapped_abs(dense[i], is_signed);
  }
  // Block norms are float64 already; plain magnitudes are still int8 when numpy interpolates.
  zero_at_or_below_percentile(dense, keys, *spec.target_sparsity * 100, is_signed && !structural);
  return finish(bytes, is_signed, shape, dense);
}

}  // namespace mlpress::compress
