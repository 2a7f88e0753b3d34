#include "core/plan/stored_bytes.h"

#include "core/blob/blob_format.h"

namespace mlpress::plan {
namespace {

uint64_t product(const std::vector<uint64_t>& dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

}  // namespace

void add_tensor(StoredBytes& bytes, uint64_t count, int bits) {
  const uint64_t data = blob::packed_size_in_bytes(count, bits);
  bytes.payload += data;
  if (count < 10) return;
  bytes.blob += data;
  bytes.file += blob::round_up_to_alignment(blob::kMetadataSize + data);
}

StoredBytes dense_bytes(uint64_t count, int weight_bits) {
  StoredBytes bytes;
  add_tensor(bytes, count, weight_bits);
  return bytes;
}

StoredBytes quantized_bytes(const compress::LinearQuantResult& r, int opset_version,
                            int weight_bits) {
  StoredBytes bytes;
  const int bits = compress::bit_width(r.dtype);
  const uint64_t scales = product(r.scale_shape);
  add_tensor(bytes, product(r.shape), bits);
  if (opset_version >= 8) {  // constexpr_blockwise_shift_scale: data, scale, offset if any
    add_tensor(bytes, scales, weight_bits);
    if (r.zero_point) add_tensor(bytes, scales, bits);
  } else {  // constexpr_affine_dequantize: data, a zero point (always) and the scale
    add_tensor(bytes, scales, bits);
    add_tensor(bytes, scales, weight_bits);
  }
  return bytes;
}

StoredBytes palettized_bytes(const compress::PalettizeResult& r, int opset_version,
                             int weight_bits) {
  StoredBytes bytes;
  if (opset_version < 8) {  // indices packed into a uint8 vector, flat LUT, uint32 shape
    add_tensor(bytes, blob::packed_size_in_bytes(product(r.shape), r.nbits), 8);
    add_tensor(bytes, uint64_t{1} << r.nbits, weight_bits);
    add_tensor(bytes, r.shape.size(), 32);
    return bytes;
  }
  add_tensor(bytes, product(r.indices_shape), r.nbits);
  add_tensor(bytes, product(r.lut_shape), weight_bits);
  return bytes;
}

StoredBytes pruned_bytes(const compress::PruneResult& r, int opset_version, int weight_bits) {
  StoredBytes bytes;
  const uint64_t count = product(r.shape);
  if (opset_version >= 8) {  // uint1 mask in the weight's shape, then the nonzero values
    add_tensor(bytes, count, 1);
    add_tensor(bytes, r.nonzero_count, weight_bits);
    return bytes;
  }
  // iOS16: nonzero values, the mask packed into uint8, the shape as uint32.
  add_tensor(bytes, r.nonzero_count, weight_bits);
  add_tensor(bytes, blob::packed_size_in_bytes(count, 1), 8);
  add_tensor(bytes, r.shape.size(), 32);
  return bytes;
}

}  // namespace mlpress::plan
