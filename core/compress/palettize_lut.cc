#include "core/compress/palettize_lut.h"

#include <cmath>
#include <limits>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {

// Round to odd into binary32 first, which has enough extra bits that the final rounding is not
// a double one.
uint16_t fp16_from_double(double d) {
  float f = float(d);
  if (double(f) != d && std::isfinite(f)) {
    if (std::fabs(double(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
    f = float_from_bits(float_bits(f) | 1u);
  }
  return float_to_fp16(f);
}

float float_at_or_below(double m) {
  float f = float(m);
  if (double(f) > m) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

std::vector<float> midpoint_thresholds(const double* entry, size_t count) {
  std::vector<float> thresholds;
  if (count > 1) thresholds.reserve(count - 1);
  for (size_t j = 0; j + 1 < count; ++j) {
    // Exact for values of one dtype (a sum of two floats fits a double unless their exponents
    // are > 29 apart).
    thresholds.push_back(float_at_or_below((entry[j] + entry[j + 1]) * 0.5));
  }
  return thresholds;
}

}  // namespace mlpress::compress
