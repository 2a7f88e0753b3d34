#include "core/plan/choices.h"

namespace mlpress::plan {
namespace {

Choice quantize(const std::string& dtype, bool per_block, int64_t weight_threshold) {
  config::OpLinearQuantizerConfig c;
  c.dtype = dtype;
  c.granularity = per_block ? config::Granularity::per_block : config::Granularity::per_channel;
  if (per_block) c.block_size = int64_t{32};
  c.weight_threshold = weight_threshold;
  Choice choice;
  choice.id = dtype + (per_block ? "_block32" : "_channel");
  choice.kind = ChoiceKind::kQuantize;
  choice.bits = c.nbits();
  choice.needs_ios18 = per_block || c.nbits() == 4;
  choice.config = c;
  return choice;
}

Choice palettize(int nbits, bool grouped, int64_t weight_threshold) {
  config::OpPalettizerConfig c;
  c.nbits = nbits;
  if (grouped) {
    c.granularity = config::Granularity::per_grouped_channel;
    c.group_size = 16;
  }
  c.weight_threshold = weight_threshold;
  Choice choice;
  choice.id = "pal" + std::to_string(nbits) + (grouped ? "_group16" : "_tensor");
  choice.kind = ChoiceKind::kPalettize;
  choice.bits = nbits;
  choice.needs_ios18 = grouped || nbits == 3;
  choice.config = c;
  return choice;
}

Choice prune(int percent, int64_t weight_threshold) {
  config::OpMagnitudePrunerConfig c;
  c.target_sparsity = percent / 100.0;
  c.weight_threshold = weight_threshold;
  Choice choice;
  choice.id = "prune" + std::to_string(percent);
  choice.kind = ChoiceKind::kPrune;
  choice.config = c;
  return choice;
}

}  // namespace

std::vector<Choice> standard_choices(int64_t weight_threshold) {
  std::vector<Choice> choices;
  Choice dense;
  dense.id = "dense";
  choices.push_back(dense);
  for (const char* dtype : {"int8", "int4"}) {
    for (bool per_block : {false, true})
      choices.push_back(quantize(dtype, per_block, weight_threshold));
  }
  for (bool grouped : {false, true}) {
    for (int nbits : {8, 6, 4, 3, 2})
      choices.push_back(palettize(nbits, grouped, weight_threshold));
  }
  for (int percent : {50, 75}) choices.push_back(prune(percent, weight_threshold));
  return choices;
}

config::Api api_of(ChoiceKind kind) {
  switch (kind) {
    case ChoiceKind::kPalettize:
      return config::Api::palettize_weights;
    case ChoiceKind::kPrune:
      return config::Api::prune_weights;
    default:
      return config::Api::linear_quantize_weights;
  }
}

std::string kind_name(ChoiceKind kind) {
  switch (kind) {
    case ChoiceKind::kQuantize:
      return "quantize";
    case ChoiceKind::kPalettize:
      return "palettize";
    case ChoiceKind::kPrune:
      return "prune";
    default:
      return "dense";
  }
}

}  // namespace mlpress::plan
