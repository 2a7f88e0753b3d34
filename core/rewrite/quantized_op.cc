#include "core/rewrite/quantized_op.h"

#include <cstring>

#include "core/io/error.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

namespace {

int data_dtype(compress::QuantDtype dtype) {
  switch (dtype) {
    case compress::QuantDtype::kInt8:
      return spec::INT8;
    case compress::QuantDtype::kUint8:
      return spec::UINT8;
    case compress::QuantDtype::kInt4:
      return spec::INT4;
    case compress::QuantDtype::kUint4:
      return spec::UINT4;
  }
  return spec::INT8;
}

template <typename Bytes>
std::span<const std::byte> as_bytes_of(const Bytes& v) {
  return std::as_bytes(std::span(v));
}

// The scale as raw little-endian bytes of the weight dtype.
std::vector<std::byte> scale_bytes(const compress::LinearQuantResult& r) {
  std::vector<std::byte> out;
  if (r.scale_type == compress::ElementType::kFloat16) {
    out.resize(r.scale_fp16.size() * 2);
    std::memcpy(out.data(), r.scale_fp16.data(), out.size());
  } else {
    out.resize(r.scale_fp32.size() * 4);
    std::memcpy(out.data(), r.scale_fp32.data(), out.size());
  }
  return out;
}

void add_output(spec::Operation& op, const std::string& name, const mil::TensorShape& weight) {
  auto* output = op.add_outputs();
  output->set_name(name);
  mil::set_tensor_type(output->mutable_type(), weight.dtype, weight.dims);
}

void add_input(spec::Operation& op, const std::string& param, spec::Value value) {
  *(*op.mutable_inputs())[param].add_arguments()->mutable_value() = std::move(value);
}

spec::Operation affine_dequantize(const compress::LinearQuantResult& r,
                                  const mil::TensorShape& weight, const std::string& name,
                                  const std::string& file, const mil::BlobAppender& append) {
  // iOS16 wants scale and zero point squeezed to rank 0 or 1 along one axis.
  int axis = -1;
  for (size_t d = 0; d < r.scale_shape.size(); ++d) {
    if (r.scale_shape[d] <= 1) continue;
    if (axis >= 0) {
      throw Error("op \"" + name + "\": constexpr_affine_dequantize holds one scale axis only");
    }
    axis = static_cast<int>(d);
  }
  std::vector<uint64_t> scale_dims;
  if (axis >= 0) scale_dims.push_back(r.scale_shape[axis]);

  spec::Operation op;
  op.set_type("constexpr_affine_dequantize");
  auto& attributes = *op.mutable_attributes();
  attributes["name"] = mil::string_scalar_value(name);
  const int dtype = data_dtype(r.dtype);
  attributes["quantized_data"] =
      mil::tensor_value(dtype, weight.dims, as_bytes_of(r.codes), file, append);
  // coremltools always writes a zero point, all zeros for signed symmetric.
  const std::vector<uint8_t> zero_point =
      r.zero_point ? *r.zero_point : std::vector<uint8_t>(r.scale_count(), 0);
  attributes["zero_point"] =
      mil::tensor_value(dtype, scale_dims, as_bytes_of(zero_point), file, append);
  attributes["scale"] = mil::tensor_value(weight.dtype, scale_dims, scale_bytes(r), file, append);
  attributes["axis"] = mil::int32_scalar_value(axis >= 0 ? axis : 0);
  add_output(op, name, weight);
  return op;
}

}  // namespace

int quantized_data_dtype(compress::QuantDtype dtype) { return data_dtype(dtype); }

ShiftScaleParams shift_scale_params(const compress::LinearQuantResult& r, int scale_dtype,
                                    const std::string& file, const mil::BlobAppender& append) {
  ShiftScaleParams params;
  params.scale = mil::tensor_value(scale_dtype, r.scale_shape, scale_bytes(r), file, append);
  if (r.zero_point) {
    params.offset = mil::tensor_value(data_dtype(r.dtype), r.scale_shape,
                                      as_bytes_of(*r.zero_point), file, append);
  }
  return params;
}

namespace {

spec::Operation blockwise_shift_scale(const compress::LinearQuantResult& r,
                                      const mil::TensorShape& weight, const std::string& name,
                                      const std::string& file, const mil::BlobAppender& append) {
  spec::Operation op;
  op.set_type("constexpr_blockwise_shift_scale");
  (*op.mutable_attributes())["name"] = mil::string_scalar_value(name);
  const int dtype = data_dtype(r.dtype);
  add_input(op, "data", mil::tensor_value(dtype, weight.dims, as_bytes_of(r.codes), file, append));
  ShiftScaleParams params = shift_scale_params(r, weight.dtype, file, append);
  add_input(op, "scale", std::move(params.scale));
  if (params.offset) add_input(op, "offset", std::move(*params.offset));
  add_output(op, name, weight);
  return op;
}

}  // namespace

spec::Operation quantized_op(const compress::LinearQuantResult& result,
                             const mil::TensorShape& weight, const std::string& name,
                             int opset_version, const std::string& blob_file_name,
                             const mil::BlobAppender& append_blob) {
  if (opset_version >= 8)
    return blockwise_shift_scale(result, weight, name, blob_file_name, append_blob);
  return affine_dequantize(result, weight, name, blob_file_name, append_blob);
}

}  // namespace mlpress::rewrite
