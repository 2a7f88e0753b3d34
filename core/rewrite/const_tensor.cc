#include "core/rewrite/const_tensor.h"

#include <cstring>

#include "core/mil/tensor_values.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

ConstTensor read_const_tensor(const spec::Operation& const_op, mil::BlobFiles& blobs,
                              const std::string& where) {
  const spec::Value& val = const_op.attributes().at("val");
  ConstTensor t;
  t.shape = mil::tensor_shape_of(val.type(), where);
  t.bytes = mil::read_tensor_bytes(val, t.shape, blobs, where);
  t.file_name =
      val.has_blobfilevalue() ? val.blobfilevalue().filename() : "@model_path/weights/weight.bin";
  if (t.shape.dtype == spec::FLOAT16) {
    t.fp16.resize(t.bytes.size() / 2);
    std::memcpy(t.fp16.data(), t.bytes.data(), t.bytes.size());
    t.view = compress::TensorView::fp16(t.fp16, t.shape.dims);
  } else if (t.shape.dtype == spec::FLOAT32) {
    t.fp32.resize(t.bytes.size() / 4);
    std::memcpy(t.fp32.data(), t.bytes.data(), t.bytes.size());
    t.view = compress::TensorView::fp32(t.fp32, t.shape.dims);
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
