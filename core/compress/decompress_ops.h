#pragma once
// The values constexpr ops stand for (shared/spec/FORMAT.md §6), computed as coremltools'
// value inference does (its decompress_weights): plain tensors in, plain tensors out; no
// protobuf. Float math follows numpy's: fp32 where coremltools computes in fp32, fp16 results
// rounded from the fp32 result of each fp16 operation.
//
// Every function throws std::invalid_argument naming the broken contract.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace mlpress::compress {

enum class ElemType {
  kFp16,
  kFp32,
  kInt8,
  kUint8,
  kInt4,
  kUint4,
  kUint1,
  kUint2,
  kUint3,
  kUint6,
  kInt32,
  kUint32,
};

// Bytes per element in DenseTensor::data: 1 for 8-bit and sub-byte types, 2 for fp16, 4 for
// fp32/int32/uint32.
size_t elem_bytes(ElemType type);
bool is_float(ElemType type);

// A tensor in row-major order. Elements are little-endian; sub-byte types take one byte per
// element, unpacked (int4 sign-extended as int8, uintN as uint8 0..2^N-1).
struct DenseTensor {
  ElemType type = ElemType::kFp32;
  std::vector<uint64_t> dims;
  std::vector<std::byte> data;

  uint64_t count() const;
  // Element i converted to fp32 the way numpy's astype(np.float32) does.
  float as_float(uint64_t i) const;
  // Element i of an integer or sub-byte type as an integer.
  int64_t as_int(uint64_t i) const;
  static DenseTensor zeros(ElemType type, std::vector<uint64_t> dims);
};

// constexpr_affine_dequantize (iOS16): scale · (float(q) − float(zero_point)) in fp32, cast
// to the scale's dtype. scale/zero_point are rank 0 or rank 1 along `axis` (may be negative).
DenseTensor affine_dequantize(const DenseTensor& quantized, const DenseTensor& zero_point,
                              const DenseTensor& scale, int64_t axis);

// constexpr_cast: fp16 -> fp32.
DenseTensor cast_fp16_to_fp32(const DenseTensor& source);

// constexpr_lut_to_dense (iOS16): `indices` is the packed uint8 stream, `lut` rank 1 with
// 2^n entries, `shape` the output shape.
DenseTensor lut_to_dense_ios16(const DenseTensor& packed_indices, const DenseTensor& lut,
                               std::span<const uint64_t> shape);

// constexpr_sparse_to_dense (iOS16): `mask` is the packed uint8 bit stream.
DenseTensor sparse_to_dense_ios16(const DenseTensor& nonzero_data, const DenseTensor& packed_mask,
                                  std::span<const uint64_t> shape);

// constexpr_blockwise_shift_scale (iOS18): data.astype(scale dtype), minus the block's offset,
// times the block's scale (numpy's promotion: fp32 if scale or offset is fp32, else fp16).
DenseTensor blockwise_shift_scale(const DenseTensor& data, const DenseTensor& scale,
                                  const DenseTensor* offset);

// constexpr_lut_to_dense (iOS18): indices of rank K, lut [G.., 2^n, V], vector_axis required
// when V > 1.
DenseTensor lut_to_dense(const DenseTensor& indices, const DenseTensor& lut,
                         std::optional<int64_t> vector_axis);

// constexpr_sparse_to_dense (iOS18): the mask's shape is the output shape.
DenseTensor sparse_to_dense(const DenseTensor& nonzero_data, const DenseTensor& mask);

// constexpr_lut_to_sparse: (output mask, de-palettized nonzero values).
std::pair<DenseTensor, DenseTensor> lut_to_sparse(const DenseTensor& indices_mask,
                                                  const DenseTensor& indices_nonzero_data,
                                                  const DenseTensor& lut,
                                                  std::optional<int64_t> vector_axis);

// constexpr_sparse_blockwise_shift_scale: (mask, dequantized nonzero values).
std::pair<DenseTensor, DenseTensor> sparse_blockwise_shift_scale(const DenseTensor& data_mask,
                                                                 const DenseTensor& nonzero_data,
                                                                 const DenseTensor& scale,
                                                                 const DenseTensor* offset);

}  // namespace mlpress::compress
