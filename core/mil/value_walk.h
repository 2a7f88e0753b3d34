#pragma once
// Visits Values in a fixed order (attribute and parameter names sorted), so that output
// written from the walk is deterministic although protobuf maps have no order.
#include <functional>
#include <string>

#include "MIL.pb.h"

namespace mlpress::mil {

using ValueVisitor =
    std::function<void(CoreML::Specification::MILSpec::Value& value, const std::string& where)>;

// Every Value held by one op (attributes, then input bindings, by name), not entering its
// nested blocks.
void for_each_value_in_op(CoreML::Specification::MILSpec::Operation& op, const std::string& where,
                          const ValueVisitor& visit);

// Every Value in an attributes map (program, function or block attributes), keys in order.
void for_each_attribute_value(
    google::protobuf::Map<std::string, CoreML::Specification::MILSpec::Value>& attributes,
    const std::string& where, const ValueVisitor& visit);

}  // namespace mlpress::mil
