#include "core/compress/palettize_int_codes.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/compress/error_metrics.h"

namespace mlpress::compress {
namespace {

// numpy's cast of a float64 to int8 / uint8 on x86-64: truncate to a 32-bit integer, keep the low
// byte (exact truncation toward zero inside the range).
uint8_t cast_to_code(double v) { return uint8_t(int32_t(std::trunc(v))); }

double code_value(uint8_t byte, bool is_signed) {
  return is_signed ? double(int8_t(byte)) : double(byte);
}

// The LUT group of each index of `indices_shape` (the groups are lut_shape's first rank axes).
std::vector<size_t> group_of_each(const std::vector<uint64_t>& indices_shape,
                                  const std::vector<uint64_t>& lut_shape) {
  const size_t rank = indices_shape.size();
  std::vector<size_t> out(size_t(element_count(indices_shape)), 0);
  std::vector<uint64_t> coord(rank, 0);
  for (size_t i = 0; i < out.size(); ++i) {
    size_t group = 0;
    for (size_t d = 0; d < rank; ++d) {
      group = group * size_t(lut_shape[d]) + size_t(coord[d] / (indices_shape[d] / lut_shape[d]));
    }
    out[i] = group;
    for (size_t d = rank; d-- > 0;) {
      if (++coord[d] < indices_shape[d]) break;
      coord[d] = 0;
    }
  }
  return out;
}

// Element offsets of the vector at index i: `dim` elements `inner` apart along the vector axis.
struct VectorGeometry {
  size_t axis_len, inner, dim;
  size_t first_element(size_t i) const {
    const size_t vectors = axis_len / dim;
    const size_t o = i / (vectors * inner);
    const size_t rest = i % (vectors * inner);
    const size_t v = rest / inner;
    const size_t in = rest % inner;
    return (o * axis_len + v * dim) * inner + in;
  }
};

// coremltools' compress_uniform on the integer array of one group, numpy's integer arithmetic
// included: `w - min` and `max - min` wrap around in int8 (not in int32), the quotient is
// float64.
void uniform_int(std::span<const uint8_t> codes, bool is_signed, bool wraps,
                 const std::vector<size_t>& group, size_t groups, int nbits, IntCodePalette& out) {
  const size_t entries = size_t(1) << nbits;
  const double levels = double(entries - 1);
  const auto wrap = [&](int v) { return is_signed && wraps ? int(int8_t(uint8_t(v & 0xFF))) : v; };
  std::vector<int> lo(groups, std::numeric_limits<int>::max());
  std::vector<int> hi(groups, std::numeric_limits<int>::min());
  for (size_t i = 0; i < codes.size(); ++i) {
    const int v = int(code_value(codes[i], is_signed));
    lo[group[i]] = v < lo[group[i]] ? v : lo[group[i]];
    hi[group[i]] = v > hi[group[i]] ? v : hi[group[i]];
  }
  auto& r = out.result;
  for (size_t i = 0; i < codes.size(); ++i) {
    const size_t g = group[i];
    const double a = wrap(int(code_value(codes[i], is_signed)) - lo[g]);
    const double span = wrap(hi[g] - lo[g]);
    const double q = std::nearbyint(a / span * levels);
    const uint8_t index = q == q ? uint8_t(int32_t(q)) : 0;  // 0 / 0: NaN, cast to 0 on x86-64
    if (nbits < 8 && index > entries - 1) {
      throw IntPaletteError("Value " + std::to_string(index) +
                            " is outside allowed subbyte datatype range [0, " +
                            std::to_string(entries - 1) + "].");
    }
    r.indices[i] = index;
  }
  for (size_t g = 0; g < groups; ++g) {
    const double step = double(wrap(hi[g] - lo[g])) / levels;
    for (size_t e = 0; e < entries; ++e) {
      out.lut_bytes[g * entries + e] = cast_to_code(double(e) * step + double(lo[g]));
    }
  }
}

}  // namespace

std::variant<IntCodePalette, PaletteSkip> palettize_int_codes(
    std::span<const uint8_t> codes, bool is_signed, const std::vector<uint64_t>& shape,
    const PalettizeSpec& spec, IntArithmetic arithmetic, KernelPath path) {
  const bool wraps = arithmetic == IntArithmetic::kNative;
  if (spec.per_channel_scale) {
    throw IntPaletteError(
        std::string("Cannot cast ufunc 'divide' output from dtype('float64') to dtype('") +
        (!wraps      ? "int32"
         : is_signed ? "int8"
                     : "uint8") +
        "') with casting rule 'same_kind' (coremltools cannot palettize integer values with "
        "enable_per_channel_scale)");
  }
  std::vector<float> values(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) values[i] = float(code_value(codes[i], is_signed));
  const TensorView view = TensorView::fp32(values, shape);
  auto palettized = palettize(view, spec, path);
  if (auto* skip = std::get_if<PaletteSkip>(&palettized)) return *skip;

  IntCodePalette out;
  out.is_signed = is_signed;
  out.result = std::get<PalettizeResult>(std::move(palettized));
  auto& r = out.result;
  const size_t dim = size_t(r.cluster_dim);
  const size_t entries = size_t(1) << r.nbits;
  const std::vector<size_t> group = group_of_each(r.indices_shape, r.lut_shape);
  size_t groups = 1;
  for (size_t d = 0; d < shape.size(); ++d) groups *= size_t(r.lut_shape[d]);
  out.lut_bytes.resize(r.lut_fp32.size());

  if (spec.mode == PaletteMode::kUniform) {
    uniform_int(codes, is_signed, wraps, group, groups, r.nbits, out);
  } else {
    for (size_t i = 0; i < r.lut_fp32.size(); ++i) {
      out.lut_bytes[i] = cast_to_code(double(r.lut_fp32[i]));
    }
    // Nearest stored entry (first on a tie) for every index.
    VectorGeometry geo{size_t(shape[r.channel_axis]), 1, dim};
    for (size_t d = r.channel_axis + 1; d < shape.size(); ++d) geo.inner *= size_t(shape[d]);
    for (size_t i = 0; i < r.indices.size(); ++i) {
      const size_t base = group[i] * entries;
      const size_t first = geo.first_element(i);
      size_t best = 0;
      double best_d = std::numeric_limits<double>::infinity();
      for (size_t e = 0; e < entries; ++e) {
        double dist = 0;
        for (size_t t = 0; t < dim; ++t) {
          const double diff = out.lut_at((base + e) * dim + t) - values[first + t * geo.inner];
          dist += diff * diff;
        }
        if (dist < best_d) best = e, best_d = dist;
      }
      r.indices[i] = uint8_t(best);
    }
  }
  for (size_t i = 0; i < r.lut_fp32.size(); ++i) r.lut_fp32[i] = float(out.lut_at(i));
  r.metrics = compute_error_metrics(view, depalettize(r));
  return out;
}

}  // namespace mlpress::compress
