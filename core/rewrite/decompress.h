#pragma once
// coremltools' decompress_weights: every constexpr_* op replaced by a plain const holding its
// materialised value, named after the op's output var, so its consumers keep their bindings.
// Chains (a constexpr bound by name to another's output) are decoded whole; constexpr ops
// whose outputs only feed other constexprs disappear.
#include <string>

#include "core/rewrite/rewrite.h"

namespace mlpress {

// Reads `in_path` (zip or package directory; never modified) and writes `out_path` (.zip or
// .mlpackage) the way rewrite_package does; spec version and opsets are kept. The report lists
// every const written in place of a constexpr output (op_type: the constexpr it came from).
RewriteReport decompress_package(const std::string& in_path, const std::string& out_path);

}  // namespace mlpress
