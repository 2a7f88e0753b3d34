#pragma once
// The shapes of YAML 1.1 plain scalars that PyYAML's implicit resolvers turn into numbers, as
// hand-written matchers (std::regex is large code and slow to compile in WebAssembly, and these
// run on every config a compress call reads). Each accepts exactly the strings its pattern below
// matches as a whole; tests/core/yaml_scalar_test.cc checks that against std::regex.
#include <string_view>

namespace mlpress::config {

// [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ |
// [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+          (e.g. "-0b1_0", "017", "0x_FF", "1_000", "1:30:00")
bool is_yaml_int_text(std::string_view s);

// [-+]?([0-9][0-9_]*)\.[0-9_]*([eE][-+][0-9]+)? | \.[0-9][0-9_]*([eE][-+][0-9]+)?
// (e.g. "1.", "-1_0.5e+3", ".5"; not "1e5", which has no dot, nor "+.5")
bool is_yaml_float_text(std::string_view s);

// [-+]?\.(inf|Inf|INF)
bool is_yaml_inf_text(std::string_view s);

// \.(nan|NaN|NAN)
bool is_yaml_nan_text(std::string_view s);

}  // namespace mlpress::config
