#include "core/rewrite/const_tensor.h"

#include <cstdint>
#include <cstring>
#include <optional>

#include "core/mil/tensor_values.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

ConstTensor read_const_tensor(const spec::Operation& const_op, mil::BlobFiles& blobs,
                              const std::string& where) {
  const spec::Value& val = const_op.attributes().at("val");
  ConstTensor t;
  t.shape = mil::tensor_shape_of(val.type(), where);
  t.file_name =
      val.has_blobfilevalue() ? val.blobfilevalue().filename() : "@model_path/weights/weight.bin";
  const bool half = t.shape.dtype == spec::FLOAT16;
  if (!half && t.shape.dtype != spec::FLOAT32) {
    t.bytes = mil::read_tensor_bytes(val, t.shape, blobs, where);
    return t;
  }
  const size_t count = size_t(t.shape.element_count());
  const size_t element_size = half ? 2 : 4;
  const size_t size = count * element_size;
  std::optional<mil::LocatedBlob> located;
  if (val.has_blobfilevalue()) {
    located = blobs.locate(val.blobfilevalue(), t.shape, where);
    // A blob's data starts on a 64-byte boundary of weight.bin, but a zip entry may start at any
    // byte of the archive: the kernels take the bytes in place only where they are aligned for
    // the element type (a misaligned uint16_t or float pointer is not valid C++).
    t.mapped = located->reader->map_data(located->record, 0, size);
    if (t.mapped && reinterpret_cast<uintptr_t>(t.mapped->bytes().data()) % element_size != 0) {
      t.mapped.reset();
    }
  }
  if (!t.mapped) {
    // new std::byte[] leaves the bytes uninitialised (the read fills them all) and is aligned for
    // any element type.
    t.float_storage.reset(new std::byte[size]);
    const std::span<std::byte> out(t.float_storage.get(), size);
    if (located) {
      located->reader->read_data(located->record, 0, out);
    } else {
      mil::read_tensor_bytes(val, t.shape, blobs, where, out);
    }
  }
  const std::byte* storage = t.mapped ? t.mapped->bytes().data() : t.float_storage.get();
  if (half) {
    const auto* bits = reinterpret_cast<const uint16_t*>(storage);
    t.view = compress::TensorView::fp16(std::span(bits, count), t.shape.dims);
  } else {
    const auto* values = reinterpret_cast<const float*>(storage);
    t.view = compress::TensorView::fp32(std::span(values, count), t.shape.dims);
  }
  return t;
}

std::vector<std::byte> float_bytes(const std::vector<uint16_t>& fp16,
                                   const std::vector<float>& fp32) {
  std::vector<std::byte> out;
  if (!fp16.empty()) {
    out.resize(fp16.size() * 2);
    std::memcpy(out.data(), fp16.data(), out.size());
  } else {
    out.resize(fp32.size() * 4);
    std::memcpy(out.data(), fp32.data(), out.size());
  }
  return out;
}

}  // namespace mlpress::rewrite
