// FileSource's reads against the bytes the file was written with: small reads in file order (the
// blob pattern, served from the read-ahead window), small reads anywhere, reads that start inside
// the window and run past it, reads longer than the window, reads ending at the last byte, and
// the refusal of ranges outside the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "tests/core/temp_dir_test.h"

namespace mlpress {
namespace {

class FileSourceTest : public testing_support::TempDirTest {
 protected:
  FileSourceTest() : TempDirTest("file_source_") {}

  // A file of `n` random bytes; returns its path and fills `bytes`.
  std::string write_random(size_t n, uint64_t seed, std::vector<std::byte>& bytes) {
    std::mt19937_64 rng(seed);
    bytes.resize(n);
    for (std::byte& b : bytes) b = std::byte(uint8_t(rng()));
    const std::string path = (dir_ / ("f" + std::to_string(seed))).string();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(n));
    return path;
  }

  static void expect_read(FileSource& source, const std::vector<std::byte>& bytes, uint64_t offset,
                          size_t n) {
    std::vector<std::byte> got(n, std::byte{0x5A});
    source.read_at(offset, got);
    ASSERT_TRUE(std::equal(got.begin(), got.end(), bytes.begin() + ptrdiff_t(offset)))
        << n << " bytes at offset " << offset;
  }
};

TEST_F(FileSourceTest, SequentialBlobReadsMatchTheFile) {
  std::vector<std::byte> bytes;
  const std::string path = write_random((size_t(3) << 20) + 77, 1, bytes);
  FileSource source(path);
  ASSERT_EQ(source.size(), bytes.size());
  std::mt19937_64 rng(2);
  uint64_t offset = 0;
  while (offset < bytes.size()) {
    // A 64-byte header, then data of a few bytes to a few hundred KiB.
    const size_t header = size_t(std::min<uint64_t>(64, bytes.size() - offset));
    expect_read(source, bytes, offset, header);
    offset += header;
    const uint64_t left = bytes.size() - offset;
    const size_t data = size_t(std::min<uint64_t>(left, 1 + rng() % (rng() % 4 ? 9000 : 400000)));
    if (data > 0) expect_read(source, bytes, offset, data);
    offset += data;
  }
}

TEST_F(FileSourceTest, ReadsAnywhereMatchTheFile) {
  std::vector<std::byte> bytes;
  const std::string path = write_random((size_t(1) << 20) + 5, 3, bytes);
  FileSource source(path);
  std::mt19937_64 rng(4);
  for (int step = 0; step < 3000; ++step) {
    const int kind = int(rng() % 5);
    size_t n = kind == 0 ? 1 + size_t(rng() % 700000) : 1 + size_t(rng() % 5000);
    n = std::min(n, bytes.size());
    uint64_t offset = rng() % (bytes.size() - n + 1);
    if (kind == 1) offset = bytes.size() - n;  // up to the last byte
    expect_read(source, bytes, offset, n);
    // Just past and across the end of what was read: inside the window, or straddling its end.
    const uint64_t next = offset + n;
    if (next < bytes.size()) {
      const size_t m = size_t(std::min<uint64_t>(bytes.size() - next, 1 + rng() % 300000));
      expect_read(source, bytes, next, m);
    }
  }
  std::vector<std::byte> empty;
  source.read_at(bytes.size(), empty);  // an empty read at the end is inside the file
}

TEST_F(FileSourceTest, RangesOutsideTheFileAreRefusedByName) {
  std::vector<std::byte> bytes;
  const std::string path = write_random(1000, 5, bytes);
  FileSource source(path);
  std::vector<std::byte> small(16);
  expect_read(source, bytes, 984, 16);  // the window now ends at the file's end
  for (const uint64_t offset : {uint64_t(985), uint64_t(1000), uint64_t(1) << 40}) {
    try {
      source.read_at(offset, small);
      FAIL() << "read at " << offset << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mlpress
