#include "core/compress/palettize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/compress/count_below_table.h"
#include "core/compress/distinct_values.h"
#include "core/compress/fp16_convert.h"
#include "core/compress/kmeans1d.h"
#include "core/compress/palettize_fp16.h"
#include "core/compress/palettize_kernels.h"
#include "core/compress/palettize_layout.h"
#include "core/compress/palettize_lut.h"

namespace mlpress::compress {

bool is_hard_error(PaletteSkipReason reason) {
  return reason == PaletteSkipReason::kInvalidAxis || reason == PaletteSkipReason::kInvalidNbits ||
         reason == PaletteSkipReason::kUniformVector;
}

float PalettizeResult::lut_at(size_t flat) const {
  return lut_type == ElementType::kFloat16 ? fp16_to_float(lut_fp16[flat]) : lut_fp32[flat];
}

float PalettizeResult::scale_at(size_t flat) const {
  return lut_type == ElementType::kFloat16 ? fp16_to_float(per_channel_scale->fp16[flat])
                                           : per_channel_scale->fp32[flat];
}

namespace {

constexpr int kAllowedNbits[] = {1, 2, 3, 4, 6, 8};

float identity(float x) { return x; }

using Layout = PaletteLayout;

struct Work {
  const PalettizeSpec& spec;
  const Layout& layout;
  ElementType type;
  float (*round_t)(float);
  const std::vector<float>& values;  // normalised by the per-channel scale when there is one
  const std::vector<float>* scale;   // per (outer, inner) position, or null
  KernelPath path;
  size_t entries;            // 2^nbits
  std::vector<double>& lut;  // groups x entries x dim, exact values of the weight dtype
  std::vector<uint8_t>& indices;

  double weight_of(size_t scale_index) const {
    if (!scale) return 1.0;
    const double s = (*scale)[scale_index];
    return s * s;
  }
  // The nearest value of the weight dtype.
  double to_dtype(double x) const {
    return type == ElementType::kFloat16 ? double(fp16_to_float(fp16_from_double(x)))
                                         : double(float(x));
  }
  double* group_lut(size_t g) const { return lut.data() + g * entries * layout.dim; }
};

// Scalar LUT of `count` ascending entries at `entry`: index of the nearest for every value.
void assign_scalar(const Work& w, const double* entry, size_t count, const std::vector<float>& x,
                   std::vector<uint8_t>& out) {
  const std::vector<float> thresholds = midpoint_thresholds(entry, count);
  out.resize(x.size());
  // A large LUT over many values (8-bit over a big fp32 weight): the bucket table finds each
  // value's count with no search for most values; it pays for its table from here on.
  if (thresholds.size() > 32 && x.size() >= 65536) {
    CountBelowTable(thresholds).count(x.data(), x.size(), out.data());
    return;
  }
  auto* kernel =
      w.path == KernelPath::kSimd ? kernels::count_below_simd : kernels::count_below_scalar;
  kernel(x.data(), x.size(), thresholds.data(), thresholds.size(), out.data());
}

void gather_group(const Work& w, size_t g, std::vector<float>& x, std::vector<size_t>& where,
                  std::vector<double>* weights) {
  x.clear();
  where.clear();
  if (weights) weights->clear();
  const size_t count = w.layout.outer * w.layout.group * w.layout.inner;
  x.reserve(count);
  where.reserve(count);
  if (weights) weights->reserve(count);
  w.layout.for_each_element(g, [&](size_t e, size_t s) {
    x.push_back(w.values[e]);
    where.push_back(e);
    if (weights) weights->push_back(w.weight_of(s));
  });
}

void scatter(const Work& w, const std::vector<size_t>& where, const std::vector<uint8_t>& idx) {
  for (size_t j = 0; j < where.size(); ++j) w.indices[where[j]] = idx[j];
}

void kmeans_scalar_group(const Work& w, size_t g) {
  // A group spanning every channel, without a per-channel scale, is the values in element order:
  // they are clustered in place and the indices written straight out, with no gathered copy and
  // no element positions (12 bytes per element, a sixth of a large fp32 weight's peak memory).
  const bool in_place = w.layout.group == w.layout.channels && !w.scale;
  std::vector<float> gathered;
  std::vector<size_t> where;
  std::vector<double> weights;  // empty: all 1 (no per-channel scale)
  if (!in_place) gather_group(w, g, gathered, where, w.scale ? &weights : nullptr);
  const std::vector<float>& x = in_place ? w.values : gathered;
  // Distinct values (-0 and +0 are one) with their summed weights.
  const std::vector<uint8_t>* fit = w.spec.fit_mask;
  const auto fitted = [&](size_t j) { return (*fit)[in_place ? j : where[j]] != 0; };
  bool any_fitted = false;
  if (fit) {
    for (size_t j = 0; j < x.size() && !any_fitted; ++j) any_fitted = fitted(j);
  }
  std::vector<float> fit_x;
  std::vector<double> fit_weights;
  if (any_fitted) {
    for (size_t j = 0; j < x.size(); ++j) {
      if (fitted(j))
        fit_x.push_back(x[j]), fit_weights.push_back(weights.empty() ? 1.0 : weights[j]);
    }
  }
  const DistinctValues d = any_fitted ? distinct_weighted_values(fit_x, fit_weights)
                                      : distinct_weighted_values(x, weights);
  const KMeans1dResult km = kmeans_1d_optimal(d.values, d.weights, w.entries);
  double* entry = w.group_lut(g);
  for (size_t c = 0; c < km.centroids.size(); ++c) entry[c] = w.to_dtype(km.centroids[c]);
  if (in_place) {
    assign_scalar(w, entry, km.centroids.size(), x, w.indices);
    return;
  }
  std::vector<uint8_t> idx;
  assign_scalar(w, entry, km.centroids.size(), x, idx);
  scatter(w, where, idx);
}

void uniform_group(const Work& w, size_t g) {
  std::vector<float> x;
  std::vector<size_t> where;
  gather_group(w, g, x, where, nullptr);
  float lo = x[0];
  float hi = x[0];
  for (float v : x) {
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  // coremltools' compress_uniform, each numpy operation rounded to the weight dtype.
  const float levels = float(w.entries - 1);
  const float span = w.round_t(hi - lo);
  const float step = w.round_t(span / levels);
  std::vector<uint8_t> idx(x.size());
  for (size_t j = 0; j < x.size(); ++j) {
    const float a = w.round_t(x[j] - lo);
    const float q = w.round_t(a / span);
    const float r = std::nearbyint(w.round_t(q * levels));
    idx[j] = r == r ? uint8_t(int32_t(r)) : 0;  // max == min: 0/0, cast to 0 on x86-64
  }
  scatter(w, where, idx);
  // np.arange * step + min runs in float64, then is cast to the dtype.
  double* entry = w.group_lut(g);
  for (size_t e = 0; e < w.entries; ++e) {
    const double product = double(e) * double(step);
    const double sum = product + double(lo);
    entry[e] = w.to_dtype(sum);
  }
}

// Vectors of group g, gathered: point p's coordinates at p * dim.
void gather_vectors(const Work& w, size_t g, std::vector<float>& points, std::vector<size_t>& where,
                    std::vector<double>* weights) {
  points.clear();
  where.clear();
  if (weights) weights->clear();
  w.layout.for_each_vector(g, [&](size_t v, size_t first, size_t s) {
    for (size_t t = 0; t < w.layout.dim; ++t)
      points.push_back(w.values[first + t * w.layout.inner]);
    where.push_back(v);
    if (weights) weights->push_back(w.weight_of(s));
  });
}

void kmeans_vector_group(const Work& w, size_t g) {
  const size_t dim = w.layout.dim;
  std::vector<float> points;
  std::vector<size_t> where;
  std::vector<double> weights;
  gather_vectors(w, g, points, where, w.scale ? &weights : nullptr);
  const VectorKMeansResult km =
      kmeans_vectors(points, weights, dim, w.entries, w.spec.vector_kmeans, w.path);
  double* entry = w.group_lut(g);
  std::vector<float> stored(km.centroids.size());
  for (size_t j = 0; j < km.centroids.size(); ++j) {
    entry[j] = w.to_dtype(km.centroids[j]);
    stored[j] = float(entry[j]);
  }
  std::vector<uint8_t> idx(where.size());
  assign_nearest_vectors(points, dim, stored, idx, w.path);
  scatter(w, where, idx);
}

// Lexicographic order of vectors, as np.unique(axis=0).
struct VectorLess {
  size_t dim;
  bool operator()(const std::vector<float>& a, const std::vector<float>& b) const {
    for (size_t t = 0; t < dim; ++t) {
      if (a[t] < b[t]) return true;
      if (b[t] < a[t]) return false;
    }
    return false;
  }
};

// The distinct vectors (dim 1: values) of each group, ascending.
std::vector<std::vector<std::vector<float>>> distinct_vectors(const Work& w) {
  std::vector<std::vector<std::vector<float>>> out(w.layout.groups);
  const VectorLess less{w.layout.dim};
  for (size_t g = 0; g < w.layout.groups; ++g) {
    std::vector<float> points;
    std::vector<size_t> where;
    gather_vectors(w, g, points, where, nullptr);
    auto& rows = out[g];
    for (size_t p = 0; p < where.size(); ++p) {
      rows.emplace_back(points.begin() + p * w.layout.dim, points.begin() + (p + 1) * w.layout.dim);
    }
    std::sort(rows.begin(), rows.end(), less);
    rows.erase(
        std::unique(rows.begin(), rows.end(),
                    [&](const auto& a, const auto& b) { return !less(a, b) && !less(b, a); }),
        rows.end());
  }
  return out;
}

void unique_group(const Work& w, size_t g, const std::vector<std::vector<float>>& rows) {
  const size_t dim = w.layout.dim;
  const VectorLess less{dim};
  double* entry = w.group_lut(g);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t t = 0; t < dim; ++t) entry[r * dim + t] = rows[r][t];
  }
  std::vector<float> points;
  std::vector<size_t> where;
  gather_vectors(w, g, points, where, nullptr);
  std::vector<float> row(dim);
  for (size_t p = 0; p < where.size(); ++p) {
    row.assign(points.begin() + p * dim, points.begin() + (p + 1) * dim);
    w.indices[where[p]] =
        uint8_t(std::lower_bound(rows.begin(), rows.end(), row, less) - rows.begin());
  }
}

std::string to_str(uint64_t v) { return std::to_string(v); }

PaletteSkip non_finite_skip() {
  return PaletteSkip{PaletteSkipReason::kNonFiniteValue,
                     "the weight has NaN or inf values, which palettization does not support; "
                     "skipped"};
}

// The LUT (as the weight dtype), the indices and their shapes into `result`.
void store_lut_and_indices(PalettizeResult& result, const Layout& layout, size_t entries,
                           const std::vector<double>& lut, std::vector<uint8_t>&& indices) {
  const auto& shape = result.shape;
  const size_t axis = result.channel_axis;
  result.lut_shape.assign(shape.size() + 2, 1);
  result.lut_shape[axis] = layout.groups;
  result.lut_shape[shape.size()] = entries;
  result.lut_shape[shape.size() + 1] = layout.dim;
  if (result.lut_type == ElementType::kFloat16) {
    result.lut_fp16.reserve(lut.size());
    for (double v : lut) result.lut_fp16.push_back(float_to_fp16(float(v)));
  } else {
    result.lut_fp32.reserve(lut.size());
    for (double v : lut) result.lut_fp32.push_back(float(v));
  }
  result.indices_shape = shape;
  result.indices_shape[axis] /= layout.dim;
  result.indices = std::move(indices);
}

// The layout of `spec`'s groups and vectors on `shape`, or the skip (or hard error) it meets
// before any value is read.
std::variant<Layout, PaletteSkip> layout_or_skip(const std::vector<uint64_t>& shape,
                                                 const PalettizeSpec& spec) {
  const size_t axis = spec.channel_axis;
  if (shape.empty() || axis >= shape.size()) {
    return PaletteSkip{
        PaletteSkipReason::kInvalidAxis,
        "Invalid channel_axis " + to_str(axis) + " for a weight of rank " + to_str(shape.size())};
  }
  if (spec.mode != PaletteMode::kUnique &&
      std::find(std::begin(kAllowedNbits), std::end(kAllowedNbits), spec.nbits) ==
          std::end(kAllowedNbits)) {
    return PaletteSkip{
        PaletteSkipReason::kInvalidNbits,
        "Invalid nbits. Support (1, 2, 3, 4, 6, 8), but got " + std::to_string(spec.nbits)};
  }
  if (spec.cluster_dim == 0) {
    return PaletteSkip{PaletteSkipReason::kInvalidClusterDim, "cluster_dim must be at least 1"};
  }
  if (spec.mode == PaletteMode::kUniform && spec.cluster_dim > 1) {
    return PaletteSkip{PaletteSkipReason::kUniformVector,
                       "Vector palettization (cluster_dim > 1) doesn't support UNIFORM mode."};
  }
  if (element_count(shape) == 0) {
    return PaletteSkip{PaletteSkipReason::kEmptyTensor, "the weight has no elements; skipped"};
  }

  Layout layout;
  layout.channels = size_t(shape[axis]);
  for (size_t d = 0; d < axis; ++d) layout.outer *= size_t(shape[d]);
  for (size_t d = axis + 1; d < shape.size(); ++d) layout.inner *= size_t(shape[d]);
  layout.group = spec.granularity == PaletteGranularity::kPerGroupedChannel && spec.group_size
                     ? size_t(spec.group_size)
                     : layout.channels;
  layout.dim = size_t(spec.cluster_dim);
  if (layout.channels % layout.group != 0) {
    return PaletteSkip{PaletteSkipReason::kGroupNotDivisible,
                       "Can't perform palettization: The number of channels at " + to_str(axis) +
                           "th axis (" + to_str(layout.channels) +
                           ") is not divisible by channel_group_size (" + to_str(layout.group) +
                           ")."};
  }
  if (layout.group % layout.dim != 0) {
    return PaletteSkip{PaletteSkipReason::kClusterDimNotDivisible,
                       "Can't perform palettization: The channel_group_size at " + to_str(axis) +
                           "th axis (" + to_str(layout.group) +
                           ") is not divisible by cluster_dim (" + to_str(layout.dim) + ")."};
  }
  layout.groups = layout.channels / layout.group;
  return layout;
}

}  // namespace

std::optional<PaletteSkip> palettize_skip_for_shape(const std::vector<uint64_t>& shape,
                                                    const PalettizeSpec& spec) {
  auto checked = layout_or_skip(shape, spec);
  if (auto* skip = std::get_if<PaletteSkip>(&checked)) return std::move(*skip);
  return std::nullopt;
}

std::optional<PaletteSkip> palettize_skip_for_values(std::span<const float> values,
                                                     PaletteMode mode) {
  for (float v : values) {
    if (std::isnan(v) || (std::isinf(v) && mode != PaletteMode::kUnique)) return non_finite_skip();
  }
  return std::nullopt;
}

std::variant<PalettizeResult, PaletteSkip> palettize(const TensorView& weight,
                                                     const PalettizeSpec& spec, KernelPath path) {
  const auto& shape = weight.shape();
  const size_t axis = spec.channel_axis;
  auto checked = layout_or_skip(shape, spec);
  if (auto* skip = std::get_if<PaletteSkip>(&checked)) return std::move(*skip);
  const Layout& layout = std::get<Layout>(checked);

  const size_t n = size_t(weight.size());
  const ElementType type = weight.type();

  PalettizeResult result;
  result.mode = spec.mode;
  result.lut_type = type;
  result.cluster_dim = spec.cluster_dim;
  result.channel_axis = axis;
  if (layout.dim > 1) result.vector_axis = axis;
  result.shape = shape;

  // Scalar k-means of fp16 without per-channel scale: by bit pattern (palettize_fp16.h).
  if (type == ElementType::kFloat16 && spec.mode == PaletteMode::kKmeans && layout.dim == 1 &&
      !spec.per_channel_scale && layout.group_elements() <= std::numeric_limits<uint32_t>::max()) {
    const size_t entries = size_t(1) << spec.nbits;
    std::vector<double> lut(layout.groups * entries, 0.0);
    std::vector<uint8_t> indices(n);
    ErrorSums sums;
    if (!palettize_fp16_kmeans(weight.fp16_bits(), layout, entries, spec.fit_mask, lut, indices,
                               sums)) {
      return non_finite_skip();
    }
    result.nbits = spec.nbits;
    store_lut_and_indices(result, layout, entries, lut, std::move(indices));
    result.metrics = metrics_from_sums(sums, n);
    return result;
  }

  std::vector<float> values(n);
  if (type == ElementType::kFloat16) {
    const auto bits = weight.fp16_bits();
    for (size_t i = 0; i < n; ++i) values[i] = fp16_to_float(bits[i]);
  } else {
    const auto src = weight.fp32_values();
    std::copy(src.begin(), src.end(), values.begin());
  }
  if (auto skip = palettize_skip_for_values(values, spec.mode)) return std::move(*skip);
  float (*round_t)(float) = type == ElementType::kFloat16 ? round_to_fp16 : identity;

  // Per-channel scale (§4.7): max |w| over the channel axis, 0 -> 1; w / scale in the dtype.
  std::vector<float> scale;
  if (spec.per_channel_scale) {
    scale.assign(layout.outer * layout.inner, 0.0f);
    for (size_t o = 0; o < layout.outer; ++o) {
      for (size_t c = 0; c < layout.channels; ++c) {
        for (size_t i = 0; i < layout.inner; ++i) {
          const float a = std::fabs(values[(o * layout.channels + c) * layout.inner + i]);
          float& s = scale[o * layout.inner + i];
          s = a > s ? a : s;
        }
      }
    }
    for (float& s : scale) s = s == 0 ? 1.0f : s;
    for (size_t o = 0; o < layout.outer; ++o) {
      for (size_t c = 0; c < layout.channels; ++c) {
        for (size_t i = 0; i < layout.inner; ++i) {
          float& v = values[(o * layout.channels + c) * layout.inner + i];
          v = round_t(v / scale[o * layout.inner + i]);
        }
      }
    }
    PalettizeResult::ChannelScale cs;
    cs.shape = shape;
    cs.shape[axis] = 1;
    if (type == ElementType::kFloat16) {
      for (float s : scale) cs.fp16.push_back(float_to_fp16(s));
    } else {
      cs.fp32 = scale;
    }
    result.per_channel_scale = std::move(cs);
  }

  // Unique picks nbits from the largest group (§4.4).
  std::vector<std::vector<std::vector<float>>> unique_rows;
  int nbits = spec.nbits;
  std::vector<double> lut;
  std::vector<uint8_t> indices(n / layout.dim, 0);
  if (spec.mode == PaletteMode::kUnique) {
    Work probe{spec, layout, type, round_t, values, nullptr, path, 0, lut, indices};
    unique_rows = distinct_vectors(probe);
    size_t most = 0;
    for (const auto& rows : unique_rows) most = rows.size() > most ? rows.size() : most;
    nbits = 0;
    for (int b : kAllowedNbits) {
      if (most <= (size_t(1) << b)) {
        nbits = b;
        break;
      }
    }
    if (nbits == 0) {
      return PaletteSkip{PaletteSkipReason::kTooManyUnique,
                         "Can't perform palettization:Unique values in weight cannot be "
                         "represented by 8 bits palettization."};
    }
  }
  result.nbits = nbits;
  const size_t entries = size_t(1) << nbits;
  lut.assign(layout.groups * entries * layout.dim, 0.0);
  const Work work{spec, layout,  type, round_t, values, spec.per_channel_scale ? &scale : nullptr,
                  path, entries, lut,  indices};
  for (size_t g = 0; g < layout.groups; ++g) {
    switch (spec.mode) {
      case PaletteMode::kKmeans:
        if (layout.dim == 1) {
          kmeans_scalar_group(work, g);
        } else {
          kmeans_vector_group(work, g);
        }
        break;
      case PaletteMode::kUniform:
        uniform_group(work, g);
        break;
      case PaletteMode::kUnique:
        unique_group(work, g, unique_rows[g]);
        break;
    }
  }

  store_lut_and_indices(result, layout, entries, lut, std::move(indices));
  result.metrics = compute_error_metrics(weight, depalettize(result));
  return result;
}

std::vector<float> depalettize(const PalettizeResult& result) {
  const auto& shape = result.shape;
  const size_t ch = result.channel_axis;
  Layout layout;
  layout.channels = size_t(shape[ch]);
  for (size_t d = 0; d < ch; ++d) layout.outer *= size_t(shape[d]);
  for (size_t d = ch + 1; d < shape.size(); ++d) layout.inner *= size_t(shape[d]);
  layout.groups = size_t(result.lut_shape[ch]);
  layout.group = layout.channels / layout.groups;
  layout.dim = size_t(result.cluster_dim);
  const size_t entries = size_t(1) << result.nbits;
  float (*round_t)(float) = result.lut_type == ElementType::kFloat16 ? round_to_fp16 : identity;
  std::vector<float> out(size_t(element_count(shape)));
  for (size_t g = 0; g < layout.groups; ++g) {
    layout.for_each_vector(g, [&](size_t v, size_t first, size_t s) {
      const size_t base = (g * entries + result.indices[v]) * layout.dim;
      for (size_t t = 0; t < layout.dim; ++t) {
        float x = result.lut_at(base + t);
        if (result.per_channel_scale) x = round_t(x * result.scale_at(s));
        out[first + t * layout.inner] = x;
      }
    });
  }
  return out;
}

}  // namespace mlpress::compress
