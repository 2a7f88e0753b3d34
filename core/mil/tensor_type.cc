#include "core/mil/tensor_type.h"

#include "core/io/error.h"
#include "core/mil/dtype.h"

namespace mlpress::mil {

uint64_t TensorShape::element_count() const {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

std::string TensorShape::to_string() const {
  std::string s = "tensor<" + dtype_name(dtype) + ", [";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]>";
}

TensorShape tensor_shape_of(const CoreML::Specification::MILSpec::ValueType& type,
                            const std::string& where) {
  if (!type.has_tensortype()) throw Error(where + ": value is not a tensor");
  const auto& tensor = type.tensortype();
  if (tensor.rank() != tensor.dimensions_size()) {
    throw Error(where + ": tensor rank " + std::to_string(tensor.rank()) + " but " +
                std::to_string(tensor.dimensions_size()) + " dimensions");
  }
  TensorShape shape;
  shape.dtype = tensor.datatype();
  for (const auto& dim : tensor.dimensions()) {
    if (!dim.has_constant()) throw Error(where + ": tensor has a dimension that is not constant");
    shape.dims.push_back(dim.constant().size());
  }
  return shape;
}

}  // namespace mlpress::mil
