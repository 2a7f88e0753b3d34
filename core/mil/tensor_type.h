#pragma once
// The static type of a tensor value: dtype and a fully known shape.
#include <cstdint>
#include <string>
#include <vector>

#include "MIL.pb.h"

namespace mlpress::mil {

struct TensorShape {
  int dtype = 0;
  std::vector<uint64_t> dims;
  uint64_t element_count() const;
  std::string to_string() const;  // "tensor<fp16, [64, 128]>"
};

// The tensor type of `type`; throws naming `where` when it is not a tensor, its rank does not
// match its dimensions, or a dimension is not a constant.
TensorShape tensor_shape_of(const CoreML::Specification::MILSpec::ValueType& type,
                            const std::string& where);

}  // namespace mlpress::mil
