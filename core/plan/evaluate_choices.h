#pragma once
// One weight, every choice: compress it as the choice's config would (the same kernels and
// axis rules as `mlpress compress`), decode it, and measure the error and the stored bytes.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/compress/tensor_view.h"
#include "core/config/resolve.h"
#include "core/plan/choices.h"
#include "core/plan/stored_bytes.h"

namespace mlpress::plan {

// How far a decoded weight w' is from the source w.
struct ChoiceError {
  double sq_error = 0;   // sum (w - w')^2, in double
  double rel_error = 0;  // sqrt(sq_error / sum w^2); 0 for an exact copy
  double snr_db = 0;     // 10 log10(sum w^2 / sq_error); +inf for an exact copy
  double cosine = 1;     // <w, w'> / (|w| |w'|)
};
ChoiceError measure_error(const compress::TensorView& source, std::span<const float> decoded);

// sum w^2 in double.
double sum_of_squares(const compress::TensorView& weight);

struct ChoiceResult {
  bool available = false;
  std::string reason;  // why the weight cannot take the choice, when not available
  ChoiceError error;
  StoredBytes bytes;
};

// Everything the choices need to know about the weight besides its values.
struct WeightContext {
  config::ChannelAxes axes;  // may be undecided: then quantize and palettize are unavailable
  std::string axes_problem;  // the reason given then
  int opset_version = 6;     // of the function after compression (iOS15 programs become 6)
};

// One result per choice, in order, on up to `threads` threads (0 = every core). Reads only
// `weight`; the per-choice buffers live while their choice runs.
std::vector<ChoiceResult> evaluate_choices(const compress::TensorView& weight,
                                           const WeightContext& context,
                                           const std::vector<Choice>& choices,
                                           unsigned threads = 0);

}  // namespace mlpress::plan
