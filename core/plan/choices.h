#pragma once
// The compression choices the sensitivity analysis evaluates for every weight and the planner
// chooses among: keep dense, int8/int4 linear quantization (per channel, per block of 32),
// k-means palettization at 8/6/4/3/2 bits (per tensor, and grouped 16 channels per LUT) and
// magnitude pruning at 50% and 75%. Each is an ordinary coremltools op config.
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config.h"

namespace mlpress::plan {

enum class ChoiceKind : uint8_t { kDense, kQuantize, kPalettize, kPrune };

struct Choice {
  std::string id;  // "dense", "int8_channel", "int4_block32", "pal4_tensor", "pal4_group16", ...
  ChoiceKind kind = ChoiceKind::kDense;
  // Bits per weight of the payload (8/4 for quantization, the index width for palettization);
  // 0 for dense and pruning. "High precision" (kept for first and last layers) means >= 8.
  int bits = 0;
  bool needs_ios18 = false;  // int4, per_block, 3-bit and grouped palettization
  config::OpConfig config;   // unused for dense
};

// The choices in their fixed order; index 0 is "dense". `weight_threshold` goes into every
// config, so a written config selects the same weights the analysis looked at.
std::vector<Choice> standard_choices(int64_t weight_threshold = 2048);

// The config call a kind belongs to; `kDense` has none.
config::Api api_of(ChoiceKind kind);
std::string kind_name(ChoiceKind kind);  // "dense", "quantize", "palettize", "prune"

}  // namespace mlpress::plan
