// decompress_ops (FORMAT.md §6) on tiny hand-computed tensors: every op, both encodings'
// layouts, and the fp16 rounding coremltools' numpy math does.
#include "core/compress/decompress_ops.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/compress/fp16_convert.h"

namespace mlpress::compress {
namespace {

template <typename T>
DenseTensor make(ElemType type, std::vector<uint64_t> dims, const std::vector<T>& values) {
  DenseTensor t;
  t.type = type;
  t.dims = std::move(dims);
  t.data.resize(values.size() * sizeof(T));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

DenseTensor fp16(std::vector<uint64_t> dims, const std::vector<float>& values) {
  std::vector<uint16_t> bits;
  for (float v : values) bits.push_back(float_to_fp16(v));
  return make(ElemType::kFp16, std::move(dims), bits);
}

DenseTensor fp32(std::vector<uint64_t> dims, const std::vector<float>& values) {
  return make(ElemType::kFp32, std::move(dims), values);
}

DenseTensor u8(ElemType type, std::vector<uint64_t> dims, const std::vector<uint8_t>& values) {
  return make(type, std::move(dims), values);
}

DenseTensor i8(ElemType type, std::vector<uint64_t> dims, const std::vector<int8_t>& values) {
  return make(type, std::move(dims), values);
}

std::vector<float> floats(const DenseTensor& t) {
  std::vector<float> out;
  for (uint64_t i = 0; i < t.count(); ++i) out.push_back(t.as_float(i));
  return out;
}

TEST(DecompressOps, AffineDequantizePerChannelAxis0) {
  // q [2,3] int8, zero points [1, -2], scales [0.5, 2] along axis 0.
  const auto q = i8(ElemType::kInt8, {2, 3}, {1, 3, -1, 0, 2, -2});
  const auto zp = i8(ElemType::kInt8, {2}, {1, -2});
  const auto out = affine_dequantize(q, zp, fp16({2}, {0.5f, 2.0f}), 0);
  EXPECT_EQ(out.type, ElemType::kFp16);
  EXPECT_EQ(out.dims, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(floats(out), (std::vector<float>{0, 1, -1, 4, 8, 0}));
}

TEST(DecompressOps, AffineDequantizeNegativeAxisAndScalarZeroPoint) {
  // uint8 q [2,2], zero point 128 (scalar), scales along axis -1 = 1.
  const auto q = u8(ElemType::kUint8, {2, 2}, {129, 130, 126, 128});
  const auto zp = u8(ElemType::kUint8, {}, {128});
  const auto out = affine_dequantize(q, zp, fp32({2}, {0.25f, 3.0f}), -1);
  EXPECT_EQ(out.type, ElemType::kFp32);
  EXPECT_EQ(floats(out), (std::vector<float>{0.25f, 6.0f, -0.5f, 0.0f}));
}

TEST(DecompressOps, AffineDequantizeRoundsTheFp32ProductToFp16) {
  // 3 * 0.1 in fp32 is 0.3000000119..., then rounded once to fp16.
  const auto out = affine_dequantize(i8(ElemType::kInt8, {1}, {3}), i8(ElemType::kInt8, {}, {0}),
                                     fp16({}, {0.1f}), 0);
  const float scale = fp16_to_float(float_to_fp16(0.1f));
  EXPECT_EQ(out.as_float(0), fp16_to_float(float_to_fp16(3.0f * scale)));
}

TEST(DecompressOps, AffineDequantizeRejectsWrongVectorLength) {
  EXPECT_THROW(affine_dequantize(i8(ElemType::kInt8, {2, 3}, {0, 0, 0, 0, 0, 0}),
                                 i8(ElemType::kInt8, {}, {0}), fp16({3}, {1, 1, 1}), 0),
               std::invalid_argument);
}

TEST(DecompressOps, CastFp16ToFp32) {
  const auto out = cast_fp16_to_fp32(fp16({3}, {1.5f, -2.0f, 65504.0f}));
  EXPECT_EQ(out.type, ElemType::kFp32);
  EXPECT_EQ(floats(out), (std::vector<float>{1.5f, -2.0f, 65504.0f}));
  EXPECT_THROW(cast_fp16_to_fp32(fp32({1}, {1})), std::invalid_argument);
}

TEST(DecompressOps, LutToDenseIos16Packed2Bit) {
  // shape (5,), 2-bit indices 3,2,1,0,1: byte0 = 0b00011011, byte1 = 0b01.
  const auto indices = u8(ElemType::kUint8, {2}, {0x1B, 0x01});
  const auto lut = fp16({4}, {-1, 0, 0.5f, 2});
  const std::vector<uint64_t> shape = {5};
  const auto out = lut_to_dense_ios16(indices, lut, shape);
  EXPECT_EQ(out.dims, shape);
  EXPECT_EQ(floats(out), (std::vector<float>{2, 0.5f, 0, -1, 0}));
  // One byte too many is refused: M must be exactly ceil(n*N/8).
  EXPECT_THROW(lut_to_dense_ios16(u8(ElemType::kUint8, {3}, {0x1B, 1, 0}), lut, shape),
               std::invalid_argument);
}

TEST(DecompressOps, SparseToDenseIos16) {
  // shape [2,3]; mask bits 0b101101 -> positions 0,2,3,5.
  const auto mask = u8(ElemType::kUint8, {1}, {0x2D});
  const std::vector<uint64_t> shape = {2, 3};
  const auto out = sparse_to_dense_ios16(fp32({4}, {1, 2, 3, 4}), mask, shape);
  EXPECT_EQ(floats(out), (std::vector<float>{1, 0, 2, 3, 0, 4}));
  // Set padding bits are refused.
  EXPECT_THROW(
      sparse_to_dense_ios16(fp32({5}, {1, 2, 3, 4, 5}), u8(ElemType::kUint8, {1}, {0x6D}), shape),
      std::invalid_argument);
  // The count of ones must match the nonzero values.
  EXPECT_THROW(sparse_to_dense_ios16(fp32({3}, {1, 2, 3}), mask, shape), std::invalid_argument);
}

TEST(DecompressOps, BlockwiseShiftScalePerBlockWithOffset) {
  // data int4 [2,4], scale [2,2] -> blocks of 1x2; offset int4 [2,2].
  const auto data = i8(ElemType::kInt4, {2, 4}, {1, 2, 3, 4, -8, 7, 0, -1});
  const auto scale = fp32({2, 2}, {1, 2, 0.5f, 4});
  const auto offset = i8(ElemType::kInt4, {2, 2}, {1, 0, -2, 1});
  const auto out = blockwise_shift_scale(data, scale, &offset);
  EXPECT_EQ(out.type, ElemType::kFp32);
  EXPECT_EQ(floats(out), (std::vector<float>{0, 1, 6, 8, -3, 4.5f, -4, -8}));
}

TEST(DecompressOps, BlockwiseShiftScaleNoOffsetFp16) {
  const auto data = u8(ElemType::kUint8, {3, 1}, {1, 2, 3});
  const auto out = blockwise_shift_scale(data, fp16({1, 1}, {0.5f}), nullptr);
  EXPECT_EQ(out.type, ElemType::kFp16);
  EXPECT_EQ(floats(out), (std::vector<float>{0.5f, 1, 1.5f}));
}

TEST(DecompressOps, BlockwiseShiftScaleFp16RoundsEachStep) {
  // fp32 data is first cast to fp16 (numpy astype), then scaled with fp16 rounding.
  const float x = 1.0f + 0x1p-12f;  // not representable in fp16: rounds to 1.0
  const auto out = blockwise_shift_scale(fp32({1}, {x}), fp16({1}, {3.0f}), nullptr);
  EXPECT_EQ(out.as_float(0), 3.0f);
  // An fp32 offset promotes the result to fp32, as numpy does.
  const auto offset = fp32({1}, {0.25f});
  const auto promoted = blockwise_shift_scale(fp16({1}, {1.0f}), fp16({1}, {3.0f}), &offset);
  EXPECT_EQ(promoted.type, ElemType::kFp32);
  EXPECT_EQ(promoted.as_float(0), 2.25f);
}

TEST(DecompressOps, BlockwiseShiftScaleRejectsNonDividingScale) {
  EXPECT_THROW(
      blockwise_shift_scale(u8(ElemType::kUint8, {3}, {1, 2, 3}), fp32({2}, {1, 1}), nullptr),
      std::invalid_argument);
}

TEST(DecompressOps, LutToDenseGroupedScalar) {
  // indices uint1 [2,2]; lut [2,1,2,1]: row 0 uses {10, 11}, row 1 uses {20, 21}.
  const auto indices = u8(ElemType::kUint1, {2, 2}, {0, 1, 1, 1});
  const auto lut = fp32({2, 1, 2, 1}, {10, 11, 20, 21});
  const auto out = lut_to_dense(indices, lut, std::nullopt);
  EXPECT_EQ(out.dims, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{10, 11, 21, 21}));
}

TEST(DecompressOps, LutToDenseVectorAxis0) {
  // indices uint1 [1,2], lut [1,1,2,2] (V = 2) on axis 0 -> output [2,2]; each index fills a
  // column pair.
  const auto indices = u8(ElemType::kUint1, {1, 2}, {1, 0});
  const auto lut = fp16({1, 1, 2, 2}, {1, 2, 3, 4});
  const auto out = lut_to_dense(indices, lut, 0);
  EXPECT_EQ(out.dims, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(floats(out), (std::vector<float>{3, 1, 4, 2}));
  // Same on the last axis (-1): the vector runs along the row.
  const auto rows = lut_to_dense(indices, lut, -1);
  EXPECT_EQ(rows.dims, (std::vector<uint64_t>{1, 4}));
  EXPECT_EQ(floats(rows), (std::vector<float>{3, 4, 1, 2}));
  EXPECT_THROW(lut_to_dense(indices, lut, std::nullopt), std::invalid_argument);
}

TEST(DecompressOps, LutToDenseRejectsPaletteCountNotMatchingBits) {
  const auto indices = u8(ElemType::kUint2, {2}, {0, 1});
  EXPECT_THROW(lut_to_dense(indices, fp32({1, 2, 1}, {1, 2}), std::nullopt), std::invalid_argument);
}

TEST(DecompressOps, SparseToDense) {
  const auto mask = u8(ElemType::kUint1, {2, 2}, {0, 1, 1, 0});
  const auto out = sparse_to_dense(i8(ElemType::kInt8, {2}, {-3, 5}), mask);
  EXPECT_EQ(out.type, ElemType::kInt8);
  EXPECT_EQ(floats(out), (std::vector<float>{0, -3, 5, 0}));
}

TEST(DecompressOps, LutToSparseScalarAndVector) {
  const auto mask = u8(ElemType::kUint1, {2, 2}, {1, 0, 0, 1});
  const auto nz = u8(ElemType::kUint1, {2}, {1, 0});
  {
    const auto [out_mask, values] = lut_to_sparse(mask, nz, fp32({1, 1, 2, 1}, {7, 9}), {});
    EXPECT_EQ(out_mask.dims, mask.dims);
    EXPECT_EQ(out_mask.data, mask.data);
    EXPECT_EQ(floats(values), (std::vector<float>{9, 7}));
  }
  {
    // V = 2 along axis 1: the mask doubles along the axis, each nonzero gives two values.
    const auto [out_mask, values] =
        lut_to_sparse(mask, nz, fp32({1, 1, 2, 2}, {1, 2, 3, 4}), int64_t{1});
    EXPECT_EQ(out_mask.dims, (std::vector<uint64_t>{2, 4}));
    std::vector<float> bits = floats(out_mask);
    EXPECT_EQ(bits, (std::vector<float>{1, 1, 0, 0, 0, 0, 1, 1}));
    EXPECT_EQ(floats(values), (std::vector<float>{3, 4, 1, 2}));
  }
}

TEST(DecompressOps, SparseBlockwiseShiftScaleUsesDenseBlocks) {
  // mask [2,2] with nonzeros at (0,1) and (1,0); scale [2,1] per row, offset per row.
  const auto mask = u8(ElemType::kUint1, {2, 2}, {0, 1, 1, 0});
  const auto nz = i8(ElemType::kInt8, {2}, {4, -2});
  const auto scale = fp16({2, 1}, {0.5f, 2});
  const auto offset = i8(ElemType::kInt8, {2, 1}, {2, -1});
  const auto [out_mask, values] = sparse_blockwise_shift_scale(mask, nz, scale, &offset);
  EXPECT_EQ(out_mask.data, mask.data);
  EXPECT_EQ(values.type, ElemType::kFp16);
  EXPECT_EQ(floats(values), (std::vector<float>{1, -2}));
}

}  // namespace
}  // namespace mlpress::compress
