#include "core/mil/tensor_values.h"

#include <cmath>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "core/blob/subbyte.h"
#include "core/io/error.h"
#include "core/mil/dtype.h"
#include "core/mil/fp16.h"

namespace mlpress::mil {
namespace M = CoreML::Specification::MILSpec;

namespace {

// Bytes per streamed chunk: a multiple of 2, 4 and 3 bytes, so that chunks of every element
// width (including 3- and 6-bit packed streams) hold whole elements.
constexpr uint64_t kChunkBytes = 3 << 18;

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // blobs are little-endian, as are all our targets
  return v;
}

// Decodes `count` elements of `dtype` from `bytes` (packed for sub-byte types).
void decode_bytes(int dtype, const uint8_t* bytes, uint64_t count, std::vector<double>& out,
                  const std::string& where) {
  out.resize(count);
  const int bits = dtype_bits(dtype).value_or(0);
  if (bits < 8) {
    std::vector<uint8_t> unpacked(count);
    blob::unpack_bits({bytes, static_cast<size_t>(blob::packed_size_in_bytes(count, bits))}, bits,
                      unpacked);
    for (uint64_t i = 0; i < count; ++i) {
      int v = unpacked[i];
      if (dtype == M::INT4 && v >= 8) v -= 16;
      out[i] = v;
    }
    return;
  }
  for (uint64_t i = 0; i < count; ++i) {
    switch (dtype) {
      case M::FLOAT16:
        out[i] = fp16_bits_to_float(load_le<uint16_t>(bytes + 2 * i));
        break;
      case M::FLOAT32:
        out[i] = load_le<float>(bytes + 4 * i);
        break;
      case M::INT8:
        out[i] = static_cast<int8_t>(bytes[i]);
        break;
      case M::UINT8:
        out[i] = bytes[i];
        break;
      case M::INT16:
        out[i] = load_le<int16_t>(bytes + 2 * i);
        break;
      case M::UINT16:
        out[i] = load_le<uint16_t>(bytes + 2 * i);
        break;
      case M::INT32:
        out[i] = load_le<int32_t>(bytes + 4 * i);
        break;
      case M::UINT32:
        out[i] = load_le<uint32_t>(bytes + 4 * i);
        break;
      case M::BFLOAT16: {
        const uint32_t b = uint32_t(load_le<uint16_t>(bytes + 2 * i)) << 16;
        float f;
        std::memcpy(&f, &b, sizeof f);
        out[i] = f;
        break;
      }
      default:
        throw Error(where + ": cannot decode " + dtype_name(dtype) + " values");
    }
  }
}

void visit_immediate(const M::TensorValue& tensor, const TensorShape& shape,
                     const std::string& where, const ValueChunkVisitor& visit) {
  const uint64_t count = shape.element_count();
  std::vector<double> values;
  auto check = [&](uint64_t n) {
    if (n != count) {
      throw Error(where + ": inline value holds " + std::to_string(n) + " elements but " +
                  shape.to_string() + " needs " + std::to_string(count));
    }
  };
  switch (tensor.value_case()) {
    case M::TensorValue::kFloats:
      check(tensor.floats().values_size());
      values.assign(tensor.floats().values().begin(), tensor.floats().values().end());
      break;
    case M::TensorValue::kDoubles:
      check(tensor.doubles().values_size());
      values.assign(tensor.doubles().values().begin(), tensor.doubles().values().end());
      break;
    case M::TensorValue::kInts:
      check(tensor.ints().values_size());
      values.assign(tensor.ints().values().begin(), tensor.ints().values().end());
      break;
    case M::TensorValue::kLongInts:
      check(tensor.longints().values_size());
      for (auto v : tensor.longints().values()) values.push_back(static_cast<double>(v));
      break;
    case M::TensorValue::kBools:
      check(tensor.bools().values_size());
      values.assign(tensor.bools().values().begin(), tensor.bools().values().end());
      break;
    case M::TensorValue::kBytes: {
      const std::string& raw = tensor.bytes().values();
      const int bits = dtype_bits(shape.dtype).value_or(0);
      if (bits == 0) throw Error(where + ": " + shape.to_string() + " cannot be held as bytes");
      const uint64_t needed = blob::packed_size_in_bytes(count, bits);
      if (raw.size() != needed) {
        throw Error(where + ": inline value holds " + std::to_string(raw.size()) + " bytes but " +
                    shape.to_string() + " needs " + std::to_string(needed));
      }
      decode_bytes(shape.dtype, reinterpret_cast<const uint8_t*>(raw.data()), count, values, where);
      break;
    }
    default:
      throw Error(where + ": inline value is not numeric");
  }
  visit(values);
}

}  // namespace

void visit_tensor_values(const M::Value& value, const TensorShape& shape, BlobFiles& blobs,
                         const std::string& where, const ValueChunkVisitor& visit) {
  if (value.has_immediatevalue()) {
    if (!value.immediatevalue().has_tensor()) throw Error(where + ": value is not a tensor");
    visit_immediate(value.immediatevalue().tensor(), shape, where, visit);
    return;
  }
  if (!value.has_blobfilevalue()) throw Error(where + ": value has neither data nor a blob");
  const LocatedBlob located = blobs.locate(value.blobfilevalue(), shape, where);
  const int bits = *dtype_bits(shape.dtype);
  std::vector<std::byte> chunk;
  std::vector<double> values;
  uint64_t remaining = shape.element_count();
  uint64_t offset = 0;
  while (remaining > 0) {
    const uint64_t elements = std::min<uint64_t>(remaining, kChunkBytes * 8 / bits);
    const uint64_t bytes = blob::packed_size_in_bytes(elements, bits);
    chunk.resize(bytes);
    located.reader->read_data(located.record, offset, chunk);
    decode_bytes(shape.dtype, reinterpret_cast<const uint8_t*>(chunk.data()), elements, values,
                 where);
    visit(values);
    offset += bytes;
    remaining -= elements;
  }
}

std::vector<std::byte> read_tensor_bytes(const M::Value& value, const TensorShape& shape,
                                         BlobFiles& blobs, const std::string& where) {
  const int bits = dtype_bits(shape.dtype).value_or(0);
  if (bits < 8 || bits % 8 != 0) {
    throw Error(where + ": cannot read " + shape.to_string() + " as whole bytes");
  }
  std::vector<std::byte> bytes(shape.element_count() * (bits / 8));
  read_tensor_bytes(value, shape, blobs, where, bytes);
  return bytes;
}

void read_tensor_bytes(const M::Value& value, const TensorShape& shape, BlobFiles& blobs,
                       const std::string& where, std::span<std::byte> out) {
  const uint64_t count = shape.element_count();
  const int bits = dtype_bits(shape.dtype).value_or(0);
  if (bits < 8 || bits % 8 != 0) {
    throw Error(where + ": cannot read " + shape.to_string() + " as whole bytes");
  }
  if (out.size() != count * (bits / 8)) {
    throw Error(where + ": " + shape.to_string() + " does not fit the buffer given for it");
  }
  if (value.has_blobfilevalue()) {
    const LocatedBlob located = blobs.locate(value.blobfilevalue(), shape, where);
    located.reader->read_data(located.record, 0, out);
    return;
  }
  if (!value.has_immediatevalue() || !value.immediatevalue().has_tensor()) {
    throw Error(where + ": value is not a tensor");
  }
  const auto& tensor = value.immediatevalue().tensor();
  if (tensor.has_bytes() && tensor.bytes().values().size() == out.size()) {
    std::memcpy(out.data(), tensor.bytes().values().data(), out.size());
  } else if (tensor.has_floats() && shape.dtype == M::FLOAT32 &&
             uint64_t(tensor.floats().values_size()) == count) {
    std::memcpy(out.data(), tensor.floats().values().data(), out.size());
  } else {
    throw Error(where + ": inline value does not hold " + shape.to_string());
  }
}

ValueStats value_stats(const M::Value& value, const TensorShape& shape, BlobFiles& blobs,
                       const std::string& where) {
  ValueStats stats;
  std::unordered_set<uint64_t> distinct;
  visit_tensor_values(value, shape, blobs, where, [&](std::span<const double> values) {
    for (double v : values) {
      ++stats.count;
      if (v == 0) {
        ++stats.zeros;
        v = 0.0;  // folds -0 into +0
      }
      if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
      uint64_t key;
      std::memcpy(&key, &v, sizeof key);
      distinct.insert(key);
    }
  });
  stats.unique = distinct.size();
  return stats;
}

}  // namespace mlpress::mil
