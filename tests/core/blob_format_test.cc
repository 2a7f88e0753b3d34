// BlobDataType table, element counts and the on-disk header and metadata encodings of
// shared/spec/FORMAT.md §4.1, §4.2 and §4.5.
#include "core/blob/blob_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/io/error.h"

namespace mlpress::blob {
namespace {

std::vector<std::byte> hex_bytes(std::initializer_list<int> values) {
  std::vector<std::byte> bytes;
  for (int v : values) bytes.push_back(std::byte(v));
  return bytes;
}

struct DTypeCase {
  uint32_t code;
  int bits;
  const char* name;
};

// §4.5, in code order.
const DTypeCase kDTypes[] = {
    {1, 16, "float16"},    {2, 32, "float32"}, {3, 8, "uint8"},    {4, 8, "int8"},
    {5, 16, "bfloat16"},   {6, 16, "int16"},   {7, 16, "uint16"},  {8, 4, "int4"},
    {9, 1, "uint1"},       {10, 2, "uint2"},   {11, 4, "uint4"},   {12, 3, "uint3"},
    {13, 6, "uint6"},      {14, 32, "int32"},  {15, 32, "uint32"}, {16, 8, "float8e4m3fn"},
    {17, 8, "float8e5m2"},
};

TEST(BlobFormat, BitsAndNamesFollowTheCodeTable) {
  for (const DTypeCase& c : kDTypes) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(bits_per_element(c.code), c.bits);
    EXPECT_EQ(dtype_name(BlobDType(c.code)), c.name);
    EXPECT_EQ(is_sub_byte(BlobDType(c.code)), c.bits < 8);
  }
}

TEST(BlobFormat, UndefinedCodesHaveNoWidth) {
  for (uint32_t code : {0u, 18u, 0xFFFFFFFFu}) {
    EXPECT_EQ(bits_per_element(code), std::nullopt) << code;
    EXPECT_FALSE(is_sub_byte(BlobDType(code))) << code;
  }
  EXPECT_EQ(dtype_name(BlobDType(18)), "unknown(18)");
}

struct PackedSizeCase {
  uint64_t count;
  int bits;
  uint64_t size;
  uint64_t padding;
};

TEST(BlobFormat, PackedSizeAndPaddingMatchTheWorkedExamples) {
  const PackedSizeCase cases[] = {
      {3, 4, 2, 4}, {2, 4, 1, 0}, {5, 3, 2, 1}, {2, 6, 2, 4},       {5, 1, 1, 3},
      {5, 2, 2, 6}, {0, 3, 0, 0}, {8, 1, 1, 0}, {500, 32, 2000, 0},
  };
  for (const PackedSizeCase& c : cases) {
    SCOPED_TRACE(std::to_string(c.count) + " x " + std::to_string(c.bits) + " bits");
    EXPECT_EQ(packed_size_in_bytes(c.count, c.bits), c.size);
    EXPECT_EQ(padding_bits(c.count, c.bits), c.padding);
  }
}

TEST(BlobFormat, RoundsUpToSixtyFourBytes) {
  EXPECT_EQ(round_up_to_alignment(0), 0u);
  EXPECT_EQ(round_up_to_alignment(1), 64u);
  EXPECT_EQ(round_up_to_alignment(64), 64u);
  EXPECT_EQ(round_up_to_alignment(2128), 2176u);
}

struct ElementCountCase {
  BlobDType dtype;
  uint64_t size;
  uint64_t padding;
  uint64_t count;
};

TEST(BlobFormat, ElementCountUsesPaddingOfSubByteTypesOnly) {
  const ElementCountCase cases[] = {
      {BlobDType::Float32, 2000, 0, 500}, {BlobDType::Float16, 6, 0, 3},
      {BlobDType::Float16, 6, 12345, 3},  // junk padding of a byte type is not a count
      {BlobDType::UInt8, 5, 0, 5},        {BlobDType::Int32, 8, 0, 2},
      {BlobDType::UInt4, 2, 4, 3},        {BlobDType::Int4, 1, 0, 2},
      {BlobDType::UInt3, 2, 1, 5},        {BlobDType::UInt6, 2, 4, 2},
      {BlobDType::UInt1, 1, 3, 5},        {BlobDType::UInt2, 2, 6, 5},
      {BlobDType::UInt3, 0, 0, 0},
  };
  for (const ElementCountCase& c : cases) {
    SCOPED_TRACE(dtype_name(c.dtype) + " size " + std::to_string(c.size) + " padding " +
                 std::to_string(c.padding));
    EXPECT_EQ((BlobRecord{.dtype = c.dtype, .size_in_bytes = c.size, .padding_bits = c.padding}
                   .element_count()),
              c.count);
  }
}

TEST(BlobFormat, ElementCountOfUndefinedCodeThrows) {
  const BlobRecord record{.dtype = BlobDType(99), .size_in_bytes = 4};
  EXPECT_THROW(record.element_count(), Error);
}

struct LayoutProblemCase {
  BlobDType dtype;
  uint64_t size;
  uint64_t padding;
  const char* problem;  // nullptr: no problem
};

TEST(BlobFormat, SubByteLayoutProblems) {
  const LayoutProblemCase cases[] = {
      {BlobDType::UInt4, 2, 4, nullptr},
      {BlobDType::UInt3, 2, 1, nullptr},
      {BlobDType::UInt6, 2, 4, nullptr},
      {BlobDType::UInt1, 1, 7, nullptr},
      {BlobDType::UInt3, 0, 0, nullptr},
      {BlobDType::Float32, 7, 99, nullptr},  // not sub-byte: padding means nothing
      {BlobDType::UInt3, 2, 8, "uint3 padding_size_in_bits is 8, must be less than 8"},
      {BlobDType::UInt4, 2, 2, "uint4 padding_size_in_bits is 2, must be a multiple of 4"},
      {BlobDType::UInt2, 1, 3, "uint2 padding_size_in_bits is 3, must be a multiple of 2"},
      {BlobDType::Int4, 0, 4, "int4 padding_size_in_bits is 4 but the data has only 0 bits"},
      {BlobDType::UInt3, 2, 2,
       "uint3 padding_size_in_bits is 2, so the 2 data bytes hold 14 bits, not a whole number "
       "of 3-bit elements"},
      {BlobDType::UInt6, 2, 0,
       "uint6 padding_size_in_bits is 0, so the 2 data bytes hold 16 bits, not a whole number "
       "of 6-bit elements"},
  };
  for (const LayoutProblemCase& c : cases) {
    SCOPED_TRACE(dtype_name(c.dtype) + " size " + std::to_string(c.size) + " padding " +
                 std::to_string(c.padding));
    const std::optional<std::string> problem = sub_byte_layout_problem(c.dtype, c.size, c.padding);
    if (c.problem) {
      EXPECT_EQ(problem, std::string(c.problem));
    } else {
      EXPECT_EQ(problem, std::nullopt);
    }
  }
}

TEST(BlobFormat, EncodesHeader) {
  const auto bytes = encode_header({.count = 0x01020304});
  std::vector<std::byte> expected = hex_bytes({0x04, 0x03, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00});
  expected.resize(64);
  EXPECT_EQ(std::vector<std::byte>(bytes.begin(), bytes.end()), expected);
  const StorageHeader decoded = decode_header(bytes);
  EXPECT_EQ(decoded.count, 0x01020304u);
  EXPECT_EQ(decoded.version, 2u);
}

// §4.6: "Example metadata record for a blob of 500 fp32 values at 64".
std::vector<std::byte> spec_example_metadata() {
  std::vector<std::byte> bytes = hex_bytes({
      0xEF, 0xBE, 0xAD, 0xDE, 0x02, 0x00, 0x00, 0x00,  // sentinel, dtype 2
      0xD0, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // size 2000
      0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // data offset 128
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // padding 0
  });
  bytes.resize(64);  // reserved
  return bytes;
}

TEST(BlobFormat, EncodesSpecExampleMetadata) {
  const BlobRecord record{.metadata_offset = 64,
                          .dtype = BlobDType::Float32,
                          .size_in_bytes = 2000,
                          .data_offset = 128,
                          .padding_bits = 0};
  const auto bytes = encode_metadata(record);
  EXPECT_EQ(std::vector<std::byte>(bytes.begin(), bytes.end()), spec_example_metadata());
}

TEST(BlobFormat, DecodesMetadataIgnoringReserved) {
  std::vector<std::byte> bytes = hex_bytes({
      0xEF, 0xBE, 0xAD, 0xDE, 0x0C, 0x00, 0x00, 0x00,  // sentinel, uint3
      0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // size 2 + 2^56
      0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // data offset 320
      0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // padding 1
  });
  bytes.resize(64, std::byte{0xAB});
  const StoredMetadata m = decode_metadata(std::span<const std::byte, 64>(bytes.data(), 64));
  EXPECT_EQ(m.sentinel, 0xDEADBEEFu);
  EXPECT_EQ(m.dtype_code, 12u);
  EXPECT_EQ(m.size_in_bytes, 2 + (uint64_t(1) << 56));
  EXPECT_EQ(m.data_offset, 320u);
  EXPECT_EQ(m.padding_bits, 1u);
}

}  // namespace
}  // namespace mlpress::blob
