#pragma once
// The constexpr op that replaces a linearly quantized const, encoded for the program's opset
// as coremltools writes it (shared/spec/COMPRESSION.md §3.6, FORMAT.md §5.3, §6.1, §6.5):
// constexpr_affine_dequantize (attributes) before CoreML8, constexpr_blockwise_shift_scale
// (inputs) from CoreML8 on.
#include <optional>
#include <string>

#include "MIL.pb.h"
#include "core/compress/linear_quantize.h"
#include "core/mil/tensor_builder.h"
#include "core/mil/tensor_type.h"

namespace mlpress::rewrite {

// `opset_version` is 6 for "CoreML6" etc. `name` becomes the op name and its output var.
CoreML::Specification::MILSpec::Operation quantized_op(const compress::LinearQuantResult& result,
                                                       const mil::TensorShape& weight,
                                                       const std::string& name, int opset_version,
                                                       const std::string& blob_file_name,
                                                       const mil::BlobAppender& append_blob);

// The MIL dtype of the quantized codes (INT8, UINT8, INT4, UINT4).
int quantized_data_dtype(compress::QuantDtype dtype);

// The iOS18 `scale` and `offset` inputs (no offset for signed symmetric), shaped as the
// result's scale_shape; `scale_dtype` is the weight's float dtype.
struct ShiftScaleParams {
  CoreML::Specification::MILSpec::Value scale;
  std::optional<CoreML::Specification::MILSpec::Value> offset;
};
ShiftScaleParams shift_scale_params(const compress::LinearQuantResult& result, int scale_dtype,
                                    const std::string& blob_file_name,
                                    const mil::BlobAppender& append_blob);

}  // namespace mlpress::rewrite
