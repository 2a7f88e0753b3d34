#pragma once
// A MIL tensor value (inline or in a blob file) decoded into a compress::DenseTensor, and the
// MIL dtypes matching DenseTensor element types: what decompress and joint compression read
// constexpr payloads with.
#include <optional>
#include <string>

#include "MIL.pb.h"
#include "core/compress/decompress_ops.h"
#include "core/mil/blob_files.h"

namespace mlpress::rewrite {

std::optional<compress::ElemType> elem_type_of(int mil_dtype);
int mil_dtype_of(compress::ElemType type);

// The decoded elements of a constant value; throws naming `where` when it holds no tensor.
compress::DenseTensor read_value(const CoreML::Specification::MILSpec::Value& value,
                                 mil::BlobFiles& blobs, const std::string& where);

}  // namespace mlpress::rewrite
