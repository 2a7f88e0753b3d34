#pragma once
// Small read helpers over MIL Operation messages, for both constexpr encodings (parameters in
// attributes for iOS16 definitions, in inputs for iOS18 ones).
#include <string>

#include "MIL.pb.h"

namespace mlpress::mil {

namespace spec = CoreML::Specification::MILSpec;

// The op's "name" attribute; its first output's name when the attribute is absent.
std::string op_name(const spec::Operation& op);

// A parameter given as a value: attributes[param], or the value binding of inputs[param].
// nullptr when absent or bound by name.
const spec::Value* param_value(const spec::Operation& op, const std::string& param);

// The name a parameter is bound to (inputs[param] bound by name), or "" when it is not.
std::string param_binding_name(const spec::Operation& op, const std::string& param);

// How error messages name an op: `origin: function "function", op "op" (type)`.
std::string op_location(const std::string& origin, const std::string& function,
                        const std::string& op, const std::string& type);

// Rank-0 string tensor value, e.g. an op's "name"; "" when the value is something else.
std::string string_scalar(const spec::Value& value);

}  // namespace mlpress::mil
