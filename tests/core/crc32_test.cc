// crc32_update (folded with PCLMULQDQ on x86-64) and crc32_update_sparse (the path of wasm and
// of CPUs without PCLMULQDQ, called directly here so that it is tested on every machine) against
// zlib's table code, and the known CRC of "123456789"; crc32_combine_lengths against the CRC of
// the joined data.
#include "core/package/crc32.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mlpress {
namespace {

std::vector<std::byte> random_bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> bytes(size);
  for (auto& b : bytes) b = std::byte(uint8_t(rng()));
  return bytes;
}

TEST(Crc32, CheckValue) {
  const std::string text = "123456789";
  EXPECT_EQ(crc32_update(0, std::as_bytes(std::span(text))), 0xCBF43926u);
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += text;
  EXPECT_EQ(crc32_update(0, std::as_bytes(std::span(long_text))),
            crc32_update_zlib(0, std::as_bytes(std::span(long_text))));
}

TEST(Crc32, MatchesZlibForEveryLengthAlignmentAndStart) {
  const std::vector<std::byte> data = random_bytes(5000, 1);
  std::mt19937 rng(2);
  for (size_t offset = 0; offset < 16; offset += 5) {
    for (size_t length = 0; length + offset <= 1200; ++length) {
      const uint32_t start = length % 3 == 0 ? 0 : uint32_t(rng());
      const auto part = std::span(data).subspan(offset, length);
      ASSERT_EQ(crc32_update(start, part), crc32_update_zlib(start, part))
          << "offset " << offset << " length " << length;
    }
  }
  for (size_t length : {4096u, 4999u, 5000u}) {
    const auto part = std::span(data).first(length);
    EXPECT_EQ(crc32_update(7, part), crc32_update_zlib(7, part)) << length;
  }
}

TEST(Crc32, LargeSpansAndPiecesAgree) {
  const std::vector<std::byte> data = random_bytes((size_t(3) << 20) + 77, 3);
  const uint32_t whole = crc32_update_zlib(0, data);
  EXPECT_EQ(crc32_update(0, data), whole);
  uint32_t pieces = 0;
  for (size_t done = 0, n = 1; done < data.size(); n = n * 2 + 3) {
    const size_t take = std::min(n, data.size() - done);
    pieces = crc32_update(pieces, std::span(data).subspan(done, take));
    done += take;
  }
  EXPECT_EQ(pieces, whole);
}

TEST(Crc32, SparseMatchesZlibForEveryLengthAlignmentAndStart) {
  // Every length up to 9000 (the 316-byte threshold, the 300 to 315 bytes left to the tail and
  // several 4096-byte history blocks), each at a start offset of its own and a random start CRC;
  // the first lengths at every offset 0..15.
  const std::vector<std::byte> data = random_bytes(9100, 5);
  std::mt19937 rng(6);
  for (size_t length = 0; length <= 9000; ++length) {
    const size_t offset = (length * 7) % 16;
    const uint32_t start = length % 5 == 0 ? 0 : length % 5 == 1 ? 0xFFFFFFFFu : uint32_t(rng());
    const auto part = std::span(data).subspan(offset, length);
    ASSERT_EQ(crc32_update_sparse(start, part), crc32_update_zlib(start, part))
        << "offset " << offset << " length " << length;
  }
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t length = 0; length <= 1100; ++length) {
      const uint32_t start = uint32_t(rng());
      const auto part = std::span(data).subspan(offset, length);
      ASSERT_EQ(crc32_update_sparse(start, part), crc32_update_zlib(start, part))
          << "offset " << offset << " length " << length;
    }
  }
}

TEST(Crc32, SparseLargeSpansAndPiecesAgree) {
  const std::vector<std::byte> data = random_bytes((size_t(5) << 20) + 123, 7);
  for (size_t length : {(size_t(1) << 20), (size_t(3) << 20) + 77, data.size() - 3}) {
    for (size_t offset : {0u, 3u}) {
      const auto part = std::span(data).subspan(offset, length);
      EXPECT_EQ(crc32_update_sparse(0x12345678u, part), crc32_update_zlib(0x12345678u, part))
          << "offset " << offset << " length " << length;
    }
  }
  // Pieces of growing and uneven sizes, each through the sparse path, give the whole's CRC.
  const uint32_t whole = crc32_update_zlib(0, data);
  uint32_t pieces = 0;
  for (size_t done = 0, n = 1; done < data.size(); n = n * 3 / 2 + 5) {
    const size_t take = std::min(n, data.size() - done);
    pieces = crc32_update_sparse(pieces, std::span(data).subspan(done, take));
    done += take;
  }
  EXPECT_EQ(pieces, whole);
}

TEST(Crc32, CombineEqualsTheJoinedData) {
  const std::vector<std::byte> data = random_bytes(100000, 4);
  const uint32_t whole = crc32_update_zlib(0, data);
  for (size_t split : {0u, 1u, 64u, 99999u, 100000u}) {
    const auto a = std::span(data).first(split);
    const auto b = std::span(data).subspan(split);
    EXPECT_EQ(crc32_combine_lengths(crc32_update(0, a), crc32_update(0, b), b.size()), whole)
        << split;
  }
  // Lengths past 32 bits: shifting by 2^33 + 5 zero bytes in one call and in two agree.
  const uint32_t a = crc32_update(0, std::span(data).first(10));
  const uint64_t big = (uint64_t(1) << 33) + 5;
  EXPECT_EQ(crc32_combine_lengths(a, 0, big),
            crc32_combine_lengths(crc32_combine_lengths(a, 0, big - 100), 0, 100));
}

}  // namespace
}  // namespace mlpress
