// Sub-byte packing, shared/spec/FORMAT.md §4.6: the worked examples as golden bytes, and every
// width 1..8 against a bit-by-bit reference written from the spec's definition.
#include "core/blob/subbyte.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/blob/blob_format.h"

namespace mlpress::blob {
namespace {

// "Element i with width n occupies stream bits [i*n, (i+1)*n). Stream bit k is bit k mod 8 of
// byte k div 8. Within an element, its own bit 0 comes first."
std::vector<uint8_t> pack_bits_reference(const std::vector<uint8_t>& values, int bits) {
  std::vector<uint8_t> out(packed_size_in_bytes(values.size(), bits), 0);
  for (size_t i = 0; i < values.size(); ++i) {
    for (int j = 0; j < bits; ++j) {
      const size_t k = i * bits + j;
      if ((values[i] >> j) & 1) out[k / 8] |= uint8_t(1 << (k % 8));
    }
  }
  return out;
}

std::vector<uint8_t> pack(const std::vector<uint8_t>& values, int bits) {
  std::vector<uint8_t> out(packed_size_in_bytes(values.size(), bits));
  pack_bits(values, bits, out);
  return out;
}

std::vector<uint8_t> unpack(const std::vector<uint8_t>& packed, int bits, size_t count) {
  std::vector<uint8_t> out(count);
  unpack_bits(packed, bits, out);
  return out;
}

struct GoldenCase {
  const char* name;
  int bits;
  std::vector<uint8_t> values;
  std::vector<uint8_t> bytes;
  uint64_t padding;
};

// The unsigned worked examples of §4.6 (int4 has its own test below).
const GoldenCase kGolden[] = {
    {"uint4 [1,2,3]", 4, {1, 2, 3}, {0x21, 0x03}, 4},
    {"uint3 [1,2,3,4,5]", 3, {1, 2, 3, 4, 5}, {0xD1, 0x58}, 1},
    {"uint6 [63,1]", 6, {63, 1}, {0x7F, 0x00}, 4},
    {"uint1 [1,0,1,1,0]", 1, {1, 0, 1, 1, 0}, {0x0D}, 3},
    {"uint2 [0,3,2,1,3]", 2, {0, 3, 2, 1, 3}, {0x6C, 0x03}, 6},
};

TEST(Subbyte, PacksSpecWorkedExamples) {
  for (const GoldenCase& c : kGolden) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(pack(c.values, c.bits), c.bytes);
    EXPECT_EQ(padding_bits(c.values.size(), c.bits), c.padding);
    EXPECT_EQ(pack_bits_reference(c.values, c.bits), c.bytes);  // the reference agrees too
  }
}

TEST(Subbyte, UnpacksSpecWorkedExamples) {
  for (const GoldenCase& c : kGolden) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(unpack(c.bytes, c.bits, c.values.size()), c.values);
  }
}

TEST(Subbyte, Int4SpecWorkedExample) {
  const std::vector<int8_t> values = {-8, 7};
  std::vector<uint8_t> packed(1);
  pack_int4(values, packed);
  EXPECT_EQ(packed, std::vector<uint8_t>{0x78});
  EXPECT_EQ(padding_bits(values.size(), 4), 0u);

  std::vector<int8_t> unpacked(2);
  unpack_int4(packed, unpacked);
  EXPECT_EQ(unpacked, values);
}

TEST(Subbyte, Int4RoundTripsEveryValueWithOddTail) {
  const std::vector<int8_t> values = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, -1};
  std::vector<uint8_t> packed(packed_size_in_bytes(values.size(), 4));
  pack_int4(values, packed);
  EXPECT_EQ(packed.front(), 0x98);  // -8 -> 8 low nibble, -7 -> 9 high nibble
  EXPECT_EQ(packed.back(), 0x0F);   // odd tail: -1 in the low nibble, high nibble zero
  std::vector<int8_t> unpacked(values.size());
  unpack_int4(packed, unpacked);
  EXPECT_EQ(unpacked, values);
}

TEST(Subbyte, PackKeepsOnlyTheLowBits) {
  EXPECT_EQ(pack({0xFF, 0xF8}, 3), (std::vector<uint8_t>{0x07}));
  EXPECT_EQ(pack({0xFF}, 1), (std::vector<uint8_t>{0x01}));
}

TEST(Subbyte, PackLeavesBytesPastThePackedSizeAlone) {
  std::vector<uint8_t> out = {0xAA, 0xAA, 0xAA};
  pack_bits(std::vector<uint8_t>{1, 2, 3}, 4, out);
  EXPECT_EQ(out, (std::vector<uint8_t>{0x21, 0x03, 0xAA}));
}

// Every width, every length 0..40 (all tails), random values: equal to the reference, unused
// high bits zero, and unpacking gives the values back.
TEST(Subbyte, RoundTripsEveryWidthAndTail) {
  std::mt19937 rng(20240531);
  for (int bits = 1; bits <= 8; ++bits) {
    for (size_t count = 0; count <= 40; ++count) {
      SCOPED_TRACE(std::to_string(bits) + " bits, " + std::to_string(count) + " elements");
      std::vector<uint8_t> values(count);
      for (uint8_t& v : values) v = uint8_t(rng() & ((1u << bits) - 1));
      const std::vector<uint8_t> packed = pack(values, bits);
      ASSERT_EQ(packed, pack_bits_reference(values, bits));
      if (!packed.empty()) {
        const uint64_t padding = padding_bits(count, bits);
        EXPECT_EQ(packed.back() >> (8 - padding), 0) << "unused bits must be 0";
      }
      EXPECT_EQ(unpack(packed, bits, count), values);
    }
  }
}

// Whole blocks of 8 elements are packed a block at a time (4 bits: a byte at a time): random
// full bytes, high bits set, every width and tail, against the bit-by-bit reference.
TEST(Subbyte, PackIgnoresHighBitsInBlocksAndTails) {
  std::mt19937 rng(7);
  for (int bits = 1; bits <= 8; ++bits) {
    for (size_t count : {0u, 7u, 8u, 9u, 16u, 23u, 64u, 1001u}) {
      std::vector<uint8_t> values(count);
      for (uint8_t& v : values) v = uint8_t(rng());
      ASSERT_EQ(pack(values, bits), pack_bits_reference(values, bits))
          << bits << " bits, " << count << " elements";
    }
  }
}

TEST(Subbyte, RejectsWidthsOutside1To8) {
  std::vector<uint8_t> buffer(4);
  for (int bits : {0, 9, -1}) {
    EXPECT_THROW(pack_bits(std::vector<uint8_t>{1}, bits, buffer), std::invalid_argument) << bits;
    EXPECT_THROW(unpack_bits(buffer, bits, std::span(buffer).first(1)), std::invalid_argument)
        << bits;
  }
}

TEST(Subbyte, RejectsBuffersTooSmall) {
  std::vector<uint8_t> one_byte(1);
  try {
    pack_bits(std::vector<uint8_t>{1, 2, 3}, 3, one_byte);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "3 elements of 3 bits need 2 packed bytes, got 1");
  }
  std::vector<uint8_t> three(3);
  EXPECT_THROW(unpack_bits(one_byte, 3, three), std::invalid_argument);
  std::vector<int8_t> three_int4(3);
  EXPECT_THROW(unpack_int4(one_byte, three_int4), std::invalid_argument);
  EXPECT_THROW(pack_int4(three_int4, one_byte), std::invalid_argument);
}

}  // namespace
}  // namespace mlpress::blob
