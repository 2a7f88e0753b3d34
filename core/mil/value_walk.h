#pragma once
// Visits every Value in a program in a fixed order (functions by name, ops in program order,
// parameters by name, nested blocks where they stand), so that output written from the walk
// is deterministic although protobuf maps have no order.
#include <functional>
#include <string>

#include "MIL.pb.h"

namespace mlpress::mil {

using ValueVisitor =
    std::function<void(CoreML::Specification::MILSpec::Value& value, const std::string& where)>;

// `where` names the function, op and parameter, e.g. `function "main", op "conv_0", "weight"`.
void for_each_value(CoreML::Specification::MILSpec::Program& program, const ValueVisitor& visit);

}  // namespace mlpress::mil
