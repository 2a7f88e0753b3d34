#include "core/mil/op_access.h"

namespace mlpress::mil {

std::string string_scalar(const spec::Value& value) {
  if (!value.has_immediatevalue() || !value.immediatevalue().has_tensor()) return "";
  const auto& tensor = value.immediatevalue().tensor();
  if (!tensor.has_strings() || tensor.strings().values_size() != 1) return "";
  return tensor.strings().values(0);
}

std::string op_name(const spec::Operation& op) {
  auto it = op.attributes().find("name");
  if (it != op.attributes().end()) return string_scalar(it->second);
  // Older converters (spec 6) wrote ops without a "name" attribute; their first output names
  // them just as well.
  return op.outputs_size() > 0 ? op.outputs(0).name() : "";
}

const spec::Value* param_value(const spec::Operation& op, const std::string& param) {
  if (auto it = op.attributes().find(param); it != op.attributes().end()) return &it->second;
  if (auto it = op.inputs().find(param); it != op.inputs().end()) {
    if (it->second.arguments_size() == 1 && it->second.arguments(0).has_value()) {
      return &it->second.arguments(0).value();
    }
  }
  return nullptr;
}

std::string param_binding_name(const spec::Operation& op, const std::string& param) {
  auto it = op.inputs().find(param);
  if (it == op.inputs().end() || it->second.arguments_size() != 1) return "";
  const auto& binding = it->second.arguments(0);
  return binding.has_name() ? binding.name() : "";
}

std::string op_location(const std::string& origin, const std::string& function,
                        const std::string& op, const std::string& type) {
  return origin + ": function \"" + function + "\", op \"" + op + "\" (" + type + ")";
}

}  // namespace mlpress::mil
