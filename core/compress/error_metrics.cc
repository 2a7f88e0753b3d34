#include "core/compress/error_metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {

ErrorMetrics compute_error_metrics(const TensorView& source, std::span<const float> reconstructed) {
  if (reconstructed.size() != source.size()) {
    throw std::invalid_argument("compute_error_metrics: reconstruction size differs from source");
  }
  double signal = 0;
  double noise = 0;
  double dot = 0;
  double recon_energy = 0;
  double max_abs = 0;
  const bool half = source.type() == ElementType::kFloat16;
  for (size_t i = 0; i < reconstructed.size(); ++i) {
    const double w =
        half ? double(fp16_to_float(source.fp16_bits()[i])) : double(source.fp32_values()[i]);
    const double r = reconstructed[i];
    const double e = w - r;
    signal += w * w;
    noise += e * e;
    dot += w * r;
    recon_energy += r * r;
    const double a = std::fabs(e);
    max_abs = (a > max_abs || a != a) ? a : max_abs;
  }
  ErrorMetrics m;
  m.max_abs_error = max_abs;
  m.rmse = reconstructed.empty() ? 0.0 : std::sqrt(noise / double(reconstructed.size()));
  if (noise == 0) {
    m.snr_db = std::numeric_limits<double>::infinity();
  } else if (signal == 0) {
    m.snr_db = -std::numeric_limits<double>::infinity();
  } else {
    m.snr_db = 10.0 * std::log10(signal / noise);
  }
  if (signal == 0 && recon_energy == 0) {
    m.cosine = 1;
  } else if (signal == 0 || recon_energy == 0) {
    m.cosine = 0;
  } else {
    m.cosine = dot / (std::sqrt(signal) * std::sqrt(recon_energy));
  }
  return m;
}

}  // namespace mlpress::compress
