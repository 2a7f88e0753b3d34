#pragma once
// Turns `mlpress compress` flags into rewrite options: `--config FILE` (coremltools-style YAML
// or JSON; its config_type picks the call; or a job document of several steps) or shorthands
// such as `--quantize int4 --granularity per_block --block-size 32`. Repeated --config and
// shorthands form steps in the order given, every step after the first joint
// (`--prune 0.5 --palettize 4`); `--joint` makes every step joint (e.g. prune an already
// quantized model) and `--nonzero-only` fits LUTs of pruned weights to their nonzeros.
#include <string>
#include <vector>

#include "core/rewrite/rewrite.h"

namespace mlpress::cli {

struct CompressArgs {
  std::vector<std::string> paths;  // IN OUT
  RewriteOptions options;
  bool json = false;
};

// Throws mlpress::Error for bad values (naming the flag), std::invalid_argument for usage.
CompressArgs parse_compress_args(const std::vector<std::string>& args);

}  // namespace mlpress::cli
