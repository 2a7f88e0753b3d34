#pragma once
// Palettization (COMPRESSION.md §4): a weight in; a look-up table per channel group, one index
// per weight (or per vector of `cluster_dim` weights along the channel axis) and an optional
// per-channel scale out, laid out for the iOS18 `constexpr_lut_to_dense` (+
// `constexpr_blockwise_shift_scale`) ops. Pure numerics.
//
// - uniform and unique decompress to exactly coremltools 9.0's values (same LUT and indices).
// - kmeans is better than coremltools: scalar LUTs always come from the globally optimal 1-D
//   k-means (kmeans1d.h) over the group's distinct values, where coremltools uses it only for
//   fp16 groups of >= 10 000 elements and scikit-learn's Lloyd otherwise; vector LUTs from
//   k-means++ with restarts (kmeans_vector.h). The LUT is then rounded to the weight dtype and
//   every index reassigned to the nearest stored entry, so the indices are optimal for the LUT
//   actually stored.
// - With a per-channel scale, k-means weighs each normalised value by its scale squared, so it
//   minimises the error of the decompressed weight, not of the normalised one.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/compress/error_metrics.h"
#include "core/compress/kmeans_vector.h"
#include "core/compress/linear_quantize.h"
#include "core/compress/tensor_view.h"

namespace mlpress::compress {

enum class PaletteMode : uint8_t { kKmeans, kUniform, kUnique };
enum class PaletteGranularity : uint8_t { kPerTensor, kPerGroupedChannel };

struct PalettizeSpec {
  PaletteMode mode = PaletteMode::kKmeans;
  int nbits = 4;  // 1, 2, 3, 4, 6 or 8; unique ignores it and picks the smallest that fits
  PaletteGranularity granularity = PaletteGranularity::kPerTensor;
  uint64_t group_size = 32;  // per_grouped_channel: channels per group; 0 = the whole axis
  // The resolved, non-negative channel axis: it carries the groups, the vectors and the
  // per-channel scale's reduction (coremltools' axis, from the consumer or `channel_axis`).
  size_t channel_axis = 0;
  uint64_t cluster_dim = 1;  // > 1: vector palettization along the channel axis
  bool per_channel_scale = false;
  VectorKMeansOptions vector_kmeans;  // kmeans with cluster_dim > 1
  // Beyond coremltools (mlpress's nonzero_only): when set (one byte per element), scalar
  // k-means fits each LUT to the elements whose byte is nonzero only, e.g. a pruned weight's
  // kept values; every element still gets the index of its nearest entry.
  const std::vector<uint8_t>* fit_mask = nullptr;
};

enum class PaletteSkipReason : uint8_t {
  kInvalidAxis,             // rank-0 weight or channel axis out of range
  kInvalidNbits,            // not one of 1, 2, 3, 4, 6, 8
  kInvalidClusterDim,       // cluster_dim 0
  kUniformVector,           // uniform with cluster_dim > 1 (NotImplementedError in coremltools)
  kEmptyTensor,             // a zero-sized dimension
  kGroupNotDivisible,       // channel count % group_size != 0
  kClusterDimNotDivisible,  // group size (or channel count) % cluster_dim != 0
  kNonFiniteValue,          // NaN anywhere, or inf for kmeans / uniform
  kTooManyUnique,           // unique: more than 256 distinct values (vectors) in a group
};

struct PaletteSkip {
  PaletteSkipReason reason;
  std::string message;
};

// Errors that abort the whole coremltools call rather than skip the one weight.
bool is_hard_error(PaletteSkipReason reason);

// The checks palettize() makes before it reads a value, in its order (rank and channel axis,
// nbits, cluster_dim, UNIFORM with vectors, no elements, channels by group size, group size by
// cluster_dim): the hard error or skip `spec` meets on a weight of `shape`, or nullopt when the
// values decide (NaN / inf, unique mode's distinct values). palettize() starts with it; the
// page's plan (rewrite/write_refusal.h) asks it so that it refuses and skips as the run does.
std::optional<PaletteSkip> palettize_skip_for_shape(const std::vector<uint64_t>& shape,
                                                    const PalettizeSpec& spec);

// The kernel's skip for the values themselves: a NaN anywhere, or an infinity outside unique
// mode. palettize() asks it of the values it clusters (the fp16 k-means path finds the same
// from its pattern histogram); so does the page's plan.
std::optional<PaletteSkip> palettize_skip_for_values(std::span<const float> values,
                                                     PaletteMode mode);

struct PalettizeResult {
  PaletteMode mode;
  ElementType lut_type;  // the weight's element type
  int nbits;
  uint64_t cluster_dim;
  size_t channel_axis;                // as in the spec
  std::optional<size_t> vector_axis;  // the channel axis, when cluster_dim > 1
  std::vector<uint64_t> shape;        // weight shape

  // Rank r + 2: [G_0, ..., G_{r-1}, 2^nbits, cluster_dim], G = group count on the channel axis
  // and 1 elsewhere; row-major. Entries past a group's clusters are 0. Exactly one of the two
  // vectors is filled, per lut_type (fp16 bit patterns or floats).
  std::vector<uint64_t> lut_shape;
  std::vector<uint16_t> lut_fp16;
  std::vector<float> lut_fp32;

  // The weight shape with the channel axis divided by cluster_dim; one index per byte,
  // row-major (pack to uint{nbits} when writing).
  std::vector<uint64_t> indices_shape;
  std::vector<uint8_t> indices;

  // coremltools' per-channel scale: max |w| over the channel axis (keepdims, so the weight shape
  // with that axis 1), zeros replaced by 1, in the weight dtype. The LUT decodes the weight
  // divided by it.
  struct ChannelScale {
    std::vector<uint64_t> shape;
    std::vector<uint16_t> fp16;
    std::vector<float> fp32;
  };
  std::optional<ChannelScale> per_channel_scale;

  ErrorMetrics metrics;  // of depalettize() against the source weight

  float lut_at(size_t flat) const;
  float scale_at(size_t flat) const;
};

std::variant<PalettizeResult, PaletteSkip> palettize(const TensorView& weight,
                                                     const PalettizeSpec& spec,
                                                     KernelPath path = KernelPath::kSimd);

// The dense weight the ops decode, row-major: lut[group][index][position in the vector], times
// the per-channel scale rounded to the weight dtype when there is one.
std::vector<float> depalettize(const PalettizeResult& result);

}  // namespace mlpress::compress
