#include "core/mil/value_walk.h"

#include <algorithm>
#include <vector>

#include "core/mil/op_access.h"

namespace mlpress::mil {
namespace {

template <typename Map>
std::vector<std::string> sorted_keys(const Map& map) {
  std::vector<std::string> keys;
  for (const auto& entry : map) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  return keys;
}

void visit_value(spec::Value& value, const std::string& where, const ValueVisitor& visit) {
  visit(value, where);
  if (!value.has_immediatevalue()) return;
  auto* immediate = value.mutable_immediatevalue();
  if (immediate->has_tuple()) {
    for (auto& v : *immediate->mutable_tuple()->mutable_values()) visit_value(v, where, visit);
  } else if (immediate->has_list()) {
    for (auto& v : *immediate->mutable_list()->mutable_values()) visit_value(v, where, visit);
  } else if (immediate->has_dictionary()) {
    for (auto& kv : *immediate->mutable_dictionary()->mutable_values()) {
      visit_value(*kv.mutable_key(), where, visit);
      visit_value(*kv.mutable_value(), where, visit);
    }
  }
}

template <typename Map>
void visit_map(Map& map, const std::string& where, const ValueVisitor& visit) {
  for (const auto& key : sorted_keys(map))
    visit_value(map.at(key), where + ", \"" + key + "\"", visit);
}

void visit_op(spec::Operation& op, const std::string& op_where, const ValueVisitor& visit) {
  visit_map(*op.mutable_attributes(), op_where, visit);
  auto& inputs = *op.mutable_inputs();
  for (const auto& key : sorted_keys(inputs)) {
    for (auto& binding : *inputs.at(key).mutable_arguments()) {
      if (binding.has_value()) {
        visit_value(*binding.mutable_value(), op_where + ", \"" + key + "\"", visit);
      }
    }
  }
}

}  // namespace

void for_each_attribute_value(google::protobuf::Map<std::string, spec::Value>& attributes,
                              const std::string& where, const ValueVisitor& visit) {
  visit_map(attributes, where, visit);
}

void for_each_value_in_op(spec::Operation& op, const std::string& where,
                          const ValueVisitor& visit) {
  visit_op(op, where, visit);
}

}  // namespace mlpress::mil
