#pragma once
// prune_weights for one const op: reads its values, prunes them (threshold or magnitude), and
// builds the constexpr_sparse_to_dense op as coremltools writes it (COMPRESSION.md §5.5,
// FORMAT.md §6.4, §6.7), or says why the const stays dense.
#include <optional>
#include <variant>

#include "core/compress/prune.h"
#include "core/config/config.h"
#include "core/rewrite/quantize_const.h"

namespace mlpress::rewrite {

using PrunerConfig = std::variant<config::OpThresholdPrunerConfig, config::OpMagnitudePrunerConfig>;

// The kernel spec a magnitude pruner config asks for.
compress::MagnitudePruneSpec magnitude_prune_spec(const config::OpMagnitudePrunerConfig& config);

std::optional<Replacement> prune_const(const CoreML::Specification::MILSpec::Operation& const_op,
                                       const PrunerConfig& config, const ConstContext& context,
                                       WeightOutcome& outcome);

}  // namespace mlpress::rewrite
