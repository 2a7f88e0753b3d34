#pragma once
// Pruning, bit-exact with coremltools 9.0 on numpy 2.2 (`optimize/coreml/_quantization_passes.py:
// prune_weights`), COMPRESSION.md §5. Pure numerics: a weight in; the pruned dense values, the
// sparse_to_dense mask and nonzero data (FORMAT.md §6.4, §6.7) out.
//
// Which consts a structural mode may touch (only the weight of conv / linear, §1.6) is decided
// by the caller; these functions prune whatever they are given.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/compress/error_metrics.h"
#include "core/compress/linear_quantize.h"  // KernelPath
#include "core/compress/tensor_view.h"

namespace mlpress::compress {

// Why a weight is left dense. coremltools logs a warning and skips the weight for
// kBelowMinimumSparsity, kBlockTooLarge and kGroupTooLarge; the others fail the whole call
// there (assertion, config validation or IndexError), see is_hard_error.
enum class PruneSkipReason : uint8_t {
  kBelowMinimumSparsity,  // threshold pruner: zeros / N < minimum_sparsity_percentile (§5.1)
  kBlockTooLarge,         // block_size > shape[dim] / 2 (§5.3)
  kGroupTooLarge,         // m > shape[dim] / 2 (§5.4)
  kUnsupportedRank,       // structural mode on a weight whose rank is not 2..5
  kInvalidConfig,         // a spec coremltools' config validation refuses
  kPercentileIndexError,  // numpy's fp16 index arithmetic points past the end (prune_select.h)
  kEmptyTensor,           // no elements
};

struct PruneSkip {
  PruneSkipReason reason;
  std::string message;
};

bool is_hard_error(PruneSkipReason reason);

// coremltools OpThresholdPrunerConfig.
struct ThresholdPruneSpec {
  double threshold = 1e-12;  // |w| <= threshold -> 0, threshold rounded to the weight's dtype
  double minimum_sparsity_percentile = 0.5;
};

// coremltools OpMagnitudePrunerConfig: exactly one of target_sparsity and n_m_ratio; block_size
// only with target_sparsity. dim defaults to 0 with block_size and to 1 with n_m_ratio.
struct MagnitudePruneSpec {
  std::optional<double> target_sparsity;
  std::optional<int64_t> block_size;
  std::optional<std::pair<int64_t, int64_t>> n_m_ratio;  // (n zeroed, out of m)
  std::optional<int64_t> dim;
};

struct PruneResult {
  ElementType type;             // the weight's element type, also of dense and nonzero values
  std::vector<uint64_t> shape;  // the weight's shape (= the iOS18 mask's shape)

  // What constexpr_sparse_to_dense reconstructs: the pruned weight, +0 wherever the mask is 0.
  // Exactly one of each pair is filled, per `type`.
  std::vector<uint16_t> dense_fp16;
  std::vector<float> dense_fp32;
  // The nonzero values in row-major order (the op's nonzero_data).
  std::vector<uint16_t> nonzero_fp16;
  std::vector<float> nonzero_fp32;

  std::vector<uint8_t> mask;         // one 0/1 byte per element: dense value != 0
  std::vector<uint8_t> mask_packed;  // ceil(N/8) bytes, LSB-first, padding bits 0 (FORMAT §4.6)
  uint64_t nonzero_count = 0;
  double sparsity = 0;  // (N - nonzero_count) / N
  ErrorMetrics error;   // dense against the source

  float dense_at(size_t i) const;
};

// The threshold pruner (§5.1), or kBelowMinimumSparsity.
std::variant<PruneResult, PruneSkip> prune_threshold(const TensorView& weight,
                                                     const ThresholdPruneSpec& spec,
                                                     KernelPath path = KernelPath::kSimd);

// The checks prune_magnitude makes before it reads a value, in its order: the spec's config
// errors, no elements, a structural mode on a weight of rank other than 2..5, a block or an n:m
// group of more than half the channels, and numpy's IndexError for an fp16 percentile index
// (`fp16_percentile`: numpy computes the percentile in fp16, as for an fp16 weight). nullopt
// when the values decide. prune_magnitude and prune_magnitude_int start with it; the page's
// plan (rewrite/write_refusal.h) asks it so that it refuses and skips as the run does.
std::optional<PruneSkip> magnitude_prune_skip_for_shape(const std::vector<uint64_t>& shape,
                                                        bool fp16_percentile,
                                                        const MagnitudePruneSpec& spec);

// The magnitude pruner: unstructured (§5.2), block (§5.3) or n:m (§5.4).
//
// Exactness notes. Unstructured and block thresholds follow numpy 2.2's fp16/fp32 percentile
// arithmetic (prune_select.h), except for fp16 weights of more than 65520 elements: numpy 2's
// fp16 index arithmetic overflows there and coremltools prunes nothing; mlpress prunes them as
// documented, by the fp32 percentile of the same magnitudes (a documented difference). Block norms
// repeat numpy's summation: squares and running sums rounded to the dtype in the order numpy's
// reduction visits them (a float accumulator when the block axis is innermost in memory). n:m
// breaks ties between equal nonzero magnitudes by position (the lower index along the axis is
// pruned first): numpy's argsort does that for fp16 (insertion sort below 16 elements) but its
// AVX2/AVX-512 float32 argsort does not, so fp32 results can differ from coremltools inside such
// tied groups only. Pruning an inf by n:m, or any inf / NaN with target_sparsity 1, gives NaN
// (coremltools multiplies by 0).
std::variant<PruneResult, PruneSkip> prune_magnitude(const TensorView& weight,
                                                     const MagnitudePruneSpec& spec,
                                                     KernelPath path = KernelPath::kSimd);

}  // namespace mlpress::compress
