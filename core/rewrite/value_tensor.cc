#include "core/rewrite/value_tensor.h"

#include <cstring>

#include "core/blob/subbyte.h"
#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/mil/tensor_type.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;
using compress::DenseTensor;
using compress::ElemType;

namespace {

// Bit width of a sub-byte type, 0 for the others.
int sub_byte_bits(int dtype) {
  const int bits = mil::dtype_bits(dtype).value_or(0);
  return bits > 0 && bits < 8 ? bits : 0;
}

}  // namespace

std::optional<ElemType> elem_type_of(int dtype) {
  switch (dtype) {
    case spec::FLOAT16:
      return ElemType::kFp16;
    case spec::FLOAT32:
      return ElemType::kFp32;
    case spec::INT8:
      return ElemType::kInt8;
    case spec::UINT8:
      return ElemType::kUint8;
    case spec::INT4:
      return ElemType::kInt4;
    case spec::UINT4:
      return ElemType::kUint4;
    case spec::UINT1:
      return ElemType::kUint1;
    case spec::UINT2:
      return ElemType::kUint2;
    case spec::UINT3:
      return ElemType::kUint3;
    case spec::UINT6:
      return ElemType::kUint6;
    case spec::INT32:
      return ElemType::kInt32;
    case spec::UINT32:
      return ElemType::kUint32;
    default:
      return std::nullopt;
  }
}

int mil_dtype_of(ElemType type) {
  switch (type) {
    case ElemType::kFp16:
      return spec::FLOAT16;
    case ElemType::kFp32:
      return spec::FLOAT32;
    case ElemType::kInt8:
      return spec::INT8;
    case ElemType::kUint8:
      return spec::UINT8;
    case ElemType::kInt4:
      return spec::INT4;
    case ElemType::kUint4:
      return spec::UINT4;
    case ElemType::kUint1:
      return spec::UINT1;
    case ElemType::kUint2:
      return spec::UINT2;
    case ElemType::kUint3:
      return spec::UINT3;
    case ElemType::kUint6:
      return spec::UINT6;
    case ElemType::kInt32:
      return spec::INT32;
    case ElemType::kUint32:
      return spec::UINT32;
  }
  return spec::FLOAT32;
}

// The decoded elements of a constant value (inline or blob).
DenseTensor read_value(const spec::Value& value, mil::BlobFiles& blobs, const std::string& where) {
  const mil::TensorShape shape = mil::tensor_shape_of(value.type(), where);
  const auto type = elem_type_of(shape.dtype);
  if (!type) throw Error(where + ": cannot decode a " + shape.to_string() + " parameter");
  DenseTensor t;
  t.type = *type;
  t.dims = shape.dims;
  const uint64_t count = shape.element_count();
  const int sub_bits = sub_byte_bits(shape.dtype);
  const uint64_t stored_size =
      sub_bits ? blob::packed_size_in_bytes(count, sub_bits) : count * compress::elem_bytes(*type);
  std::vector<std::byte> stored(stored_size);
  if (value.has_blobfilevalue()) {
    const mil::LocatedBlob located = blobs.locate(value.blobfilevalue(), shape, where);
    located.reader->read_data(located.record, 0, stored);
  } else if (value.has_immediatevalue() && value.immediatevalue().has_tensor()) {
    const auto& tensor = value.immediatevalue().tensor();
    if (tensor.has_bytes() && tensor.bytes().values().size() == stored_size) {
      std::memcpy(stored.data(), tensor.bytes().values().data(), stored_size);
    } else if (tensor.has_floats() && *type == ElemType::kFp32 &&
               uint64_t(tensor.floats().values_size()) == count) {
      std::memcpy(stored.data(), tensor.floats().values().data(), stored_size);
    } else if (tensor.has_ints() && !sub_bits && !compress::is_float(*type) &&
               uint64_t(tensor.ints().values_size()) == count) {
      const size_t e = compress::elem_bytes(*type);
      for (uint64_t i = 0; i < count; ++i) {
        const int32_t v = tensor.ints().values(static_cast<int>(i));
        std::memcpy(stored.data() + i * e, &v, e);  // little-endian low bytes
      }
    } else {
      throw Error(where + ": inline value does not hold " + shape.to_string());
    }
  } else {
    throw Error(where + ": value is not a tensor");
  }
  if (!sub_bits) {
    t.data = std::move(stored);
    return t;
  }
  t.data.resize(count);
  const std::span<const uint8_t> packed(reinterpret_cast<const uint8_t*>(stored.data()),
                                        stored.size());
  if (shape.dtype == spec::INT4) {
    blob::unpack_int4(packed, {reinterpret_cast<int8_t*>(t.data.data()), t.data.size()});
  } else {
    blob::unpack_bits(packed, sub_bits, {reinterpret_cast<uint8_t*>(t.data.data()), t.data.size()});
  }
  return t;
}

}  // namespace mlpress::rewrite
