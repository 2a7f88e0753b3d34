#pragma once
// How far a reconstructed weight is from its source, for reports and the verify stage.
#include <cstdint>
#include <span>

#include "core/compress/tensor_view.h"

namespace mlpress::compress {

struct ErrorMetrics {
  // 10 * log10(sum w^2 / sum (w - w')^2): +inf when the reconstruction is exact, -inf when the
  // source is all zeros but the reconstruction is not.
  double snr_db = 0;
  // <w, w'> / (|w| |w'|); 1 when both are all zeros, 0 when only one is.
  double cosine = 0;
  double max_abs_error = 0;
  double rmse = 0;
};

// The running sums behind ErrorMetrics, in double: w and w' widened from float, e = w - w'.
struct ErrorSums {
  double signal = 0;        // sum w^2
  double noise = 0;         // sum e^2
  double dot = 0;           // sum w w'
  double recon_energy = 0;  // sum w'^2
  double max_abs = 0;       // max |e|; NaN once any |e| is NaN
};

// Adds `part` into `total` (one fixed order of additions, so callers control determinism).
void add_error_sums(ErrorSums& total, const ErrorSums& part);

// The metrics of `count` elements from their sums.
ErrorMetrics metrics_from_sums(const ErrorSums& sums, uint64_t count);

// `reconstructed` holds one float per source element, row-major. Sums are in double, in element
// order. NaN elements propagate into the metrics. Throws std::invalid_argument on a size
// mismatch.
ErrorMetrics compute_error_metrics(const TensorView& source, std::span<const float> reconstructed);

}  // namespace mlpress::compress
