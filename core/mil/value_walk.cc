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

void visit_block(spec::Block& block, const std::string& where, const ValueVisitor& visit) {
  visit_map(*block.mutable_attributes(), where, visit);
  for (auto& op : *block.mutable_operations()) {
    const std::string op_where = where + ", op \"" + op_name(op) + "\" (" + op.type() + ")";
    visit_map(*op.mutable_attributes(), op_where, visit);
    auto& inputs = *op.mutable_inputs();
    for (const auto& key : sorted_keys(inputs)) {
      for (auto& binding : *inputs.at(key).mutable_arguments()) {
        if (binding.has_value())
          visit_value(*binding.mutable_value(), op_where + ", \"" + key + "\"", visit);
      }
    }
    for (auto& nested : *op.mutable_blocks()) visit_block(nested, op_where, visit);
  }
}

}  // namespace

void for_each_value(spec::Program& program, const ValueVisitor& visit) {
  visit_map(*program.mutable_attributes(), "program attributes", visit);
  auto& functions = *program.mutable_functions();
  for (const auto& name : sorted_keys(functions)) {
    auto& function = functions.at(name);
    const std::string where = "function \"" + name + "\"";
    visit_map(*function.mutable_attributes(), where, visit);
    auto& blocks = *function.mutable_block_specializations();
    for (const auto& key : sorted_keys(blocks)) visit_block(blocks.at(key), where, visit);
  }
}

}  // namespace mlpress::mil
