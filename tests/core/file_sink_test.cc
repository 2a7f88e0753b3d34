// FileSink against MemorySink (the plain reference: a vector written at offsets): the same
// sequence of writes must leave the same bytes in the file. The sequences mix appends with
// rewrites of earlier bytes (which FileSink writes past stdio's buffer: those still in the buffer,
// long flushed ones, and ranges straddling both), writes larger than the buffer (FileSink gives
// stdio one of kStdioBufferBytes) and jumps past the end.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/stdio_buffer.h"
#include "tests/core/temp_dir_test.h"

namespace mlpress {
namespace {

class FileSinkTest : public testing_support::TempDirTest {
 protected:
  FileSinkTest() : TempDirTest("file_sink_") {}

  std::vector<std::byte> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> chars((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    for (size_t i = 0; i < chars.size(); ++i) out[i] = std::byte(uint8_t(chars[i]));
    return out;
  }
};

std::vector<std::byte> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<std::byte> out(n);
  for (std::byte& b : out) b = std::byte(uint8_t(rng()));
  return out;
}

// The blob writer's pattern: header, then per blob its bytes appended and the header's count
// rewritten at offset 0; files of 1 to 300 blobs (in short ones the first header is still in
// stdio's buffer when it is rewritten).
TEST_F(FileSinkTest, AppendsWithHeaderRewritesMatchMemory) {
  for (const int blobs : {1, 2, 3, 5, 300}) {
    const std::string path = (dir_ / ("weight" + std::to_string(blobs) + ".bin")).string();
    MemorySink memory("memory");
    std::mt19937_64 rng{uint64_t(blobs)};
    {
      FileSink file(path);
      const auto first_header = random_bytes(rng, 64);
      file.write_at(0, first_header);
      memory.write_at(0, first_header);
      uint64_t end = 64;
      for (int blob = 0; blob < blobs; ++blob) {
        const auto header = random_bytes(rng, 64);
        const auto data = random_bytes(rng, 1 + size_t(rng() % 3000));
        for (ByteSink* sink : {static_cast<ByteSink*>(&file), static_cast<ByteSink*>(&memory)}) {
          sink->write_at(end, data);
          sink->write_at(0, header);
        }
        end += data.size();
      }
      file.close();
    }
    EXPECT_EQ(read_file(path), memory.bytes()) << blobs << " blobs";
  }
}

TEST_F(FileSinkTest, RandomWritesMatchMemory) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const std::string path = (dir_ / ("f" + std::to_string(seed))).string();
    MemorySink memory("memory");
    std::mt19937_64 rng(seed);
    {
      FileSink file(path);
      uint64_t end = 0;
      for (int step = 0; step < 200; ++step) {
        uint64_t offset = end;
        const int kind = int(rng() % 8);
        if (kind == 0 && end > 0) offset = rng() % end;  // anywhere before the end
        if (kind == 1 && end > 0) offset = end - 1 - rng() % std::min<uint64_t>(end, 64);
        if (kind == 2) offset = end + rng() % 100;  // past the end (a hole)
        size_t size = kind == 3 ? 5000 + size_t(rng() % 20000) : 1 + size_t(rng() % 300);
        // Now and then more than stdio's buffer holds.
        if (kind == 4 && step % 4 == 0) size = kStdioBufferBytes + size_t(rng() % 50000);
        const auto data = random_bytes(rng, size);
        file.write_at(offset, data);
        memory.write_at(offset, data);
        if (offset + size > end) end = offset + size;
      }
      file.close();
    }
    ASSERT_EQ(read_file(path), memory.bytes()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace mlpress
