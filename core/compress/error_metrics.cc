#include "core/compress/error_metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {

void add_error_sums(ErrorSums& total, const ErrorSums& part) {
  total.signal += part.signal;
  total.noise += part.noise;
  total.dot += part.dot;
  total.recon_energy += part.recon_energy;
  const double a = part.max_abs;
  total.max_abs = (a > total.max_abs || a != a) ? a : total.max_abs;
}

ErrorMetrics metrics_from_sums(const ErrorSums& sums, uint64_t count) {
  ErrorMetrics m;
  m.max_abs_error = sums.max_abs;
  m.rmse = count == 0 ? 0.0 : std::sqrt(sums.noise / double(count));
  if (sums.noise == 0) {
    m.snr_db = std::numeric_limits<double>::infinity();
  } else if (sums.signal == 0) {
    m.snr_db = -std::numeric_limits<double>::infinity();
  } else {
    m.snr_db = 10.0 * std::log10(sums.signal / sums.noise);
  }
  if (sums.signal == 0 && sums.recon_energy == 0) {
    m.cosine = 1;
  } else if (sums.signal == 0 || sums.recon_energy == 0) {
    m.cosine = 0;
  } else {
    m.cosine = sums.dot / (std::sqrt(sums.signal) * std::sqrt(sums.recon_energy));
  }
  return m;
}

ErrorMetrics compute_error_metrics(const TensorView& source, std::span<const float> reconstructed) {
  if (reconstructed.size() != source.size()) {
    throw std::invalid_argument("compute_error_metrics: reconstruction size differs from source");
  }
  ErrorSums s;
  const bool half = source.type() == ElementType::kFloat16;
  for (size_t i = 0; i < reconstructed.size(); ++i) {
    const double w =
        half ? double(fp16_to_float(source.fp16_bits()[i])) : double(source.fp32_values()[i]);
    const double r = reconstructed[i];
    const double e = w - r;
    s.signal += w * w;
    s.noise += e * e;
    s.dot += w * r;
    s.recon_energy += r * r;
    const double a = std::fabs(e);
    s.max_abs = (a > s.max_abs || a != a) ? a : s.max_abs;
  }
  return metrics_from_sums(s, reconstructed.size());
}

}  // namespace mlpress::compress
