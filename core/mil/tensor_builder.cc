#include "core/mil/tensor_builder.h"

#include <cstring>

#include "core/blob/subbyte.h"
#include "core/io/error.h"
#include "core/mil/dtype.h"

namespace mlpress::mil {

void set_tensor_type(spec::ValueType* type, int dtype, std::span<const uint64_t> dims) {
  auto* tensor = type->mutable_tensortype();
  tensor->set_datatype(static_cast<spec::DataType>(dtype));
  tensor->set_rank(static_cast<int64_t>(dims.size()));
  tensor->clear_dimensions();
  for (uint64_t d : dims) tensor->add_dimensions()->mutable_constant()->set_size(d);
}

spec::Value string_scalar_value(const std::string& text) {
  spec::Value value;
  set_tensor_type(value.mutable_type(), spec::STRING, {});
  value.mutable_immediatevalue()->mutable_tensor()->mutable_strings()->add_values(text);
  return value;
}

spec::Value int32_scalar_value(int32_t v) {
  spec::Value value;
  set_tensor_type(value.mutable_type(), spec::INT32, {});
  value.mutable_immediatevalue()->mutable_tensor()->mutable_ints()->add_values(v);
  return value;
}

spec::Value tensor_value(int dtype, std::span<const uint64_t> dims,
                         std::span<const std::byte> elements, const std::string& blob_file_name,
                         const BlobAppender& append_blob) {
  spec::Value value;
  set_tensor_type(value.mutable_type(), dtype, dims);
  uint64_t count = 1;
  for (uint64_t d : dims) count *= d;
  const int bits = dtype_bits(dtype).value_or(0);
  if (bits == 0) throw Error("cannot store a " + dtype_name(dtype) + " tensor");

  // Sub-byte types arrive one byte per element and are packed LSB-first (pack_bits keeps the
  // low `bits` bits of each byte, so no masked copy of the elements is needed).
  std::vector<std::byte> packed;
  std::span<const std::byte> stored = elements;
  if (bits < 8) {
    if (elements.size() < count) throw Error("tensor_value: fewer elements than the shape holds");
    packed.resize(blob::packed_size_in_bytes(count, bits));
    blob::pack_bits({reinterpret_cast<const uint8_t*>(elements.data()), size_t(count)}, bits,
                    {reinterpret_cast<uint8_t*>(packed.data()), packed.size()});
    stored = packed;
  }

  const auto blob_dtype = blob_dtype_for(dtype);
  if (count >= 10 && blob_dtype) {
    auto* blob = value.mutable_blobfilevalue();
    blob->set_filename(blob_file_name);
    blob->set_offset(
        append_blob(*blob_dtype, stored, bits < 8 ? blob::padding_bits(count, bits) : 0));
    return value;
  }
  auto* tensor = value.mutable_immediatevalue()->mutable_tensor();
  switch (dtype) {
    case spec::FLOAT32: {
      auto* floats = tensor->mutable_floats();
      for (uint64_t i = 0; i < count; ++i) {
        float f;
        std::memcpy(&f, stored.data() + 4 * i, 4);
        floats->add_values(f);
      }
      break;
    }
    case spec::INT32: {
      auto* ints = tensor->mutable_ints();
      for (uint64_t i = 0; i < count; ++i) {
        int32_t v;
        std::memcpy(&v, stored.data() + 4 * i, 4);
        ints->add_values(v);
      }
      break;
    }
    default:  // fp16, int8, uint8 and packed sub-byte types are inline bytes
      tensor->mutable_bytes()->set_values(reinterpret_cast<const char*>(stored.data()),
                                          stored.size());
      break;
  }
  return value;
}

}  // namespace mlpress::mil
