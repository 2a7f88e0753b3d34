// InflatingSource against the bytes that were deflated: every read, sequential or at random
// offsets, must return exactly the original bytes, through restart points taken at blocks that
// begin mid-byte (Huffman blocks) and byte-aligned (stored blocks); sequential reading must
// not re-inflate; damaged streams must throw naming the data.
#include "core/package/inflating_source.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/error.h"

namespace mlpress {
namespace {

// Raw deflate (no zlib header), as a zip entry holds it.
std::vector<std::byte> deflate_raw(const std::vector<std::byte>& data, int level) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<std::byte> out(deflateBound(&z, data.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

uint32_t crc_of(const std::vector<std::byte>& data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// fp16-like noise with repeated runs, so that back-references reach across restart points.
std::vector<std::byte> weights_like(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<std::byte> data(size);
  for (size_t i = 0; i < size; ++i) {
    data[i] = std::byte(i % 2 ? 0x30 + random() % 8 : random() % 256);
  }
  for (size_t at = 4096; at + 8192 < size; at += 100000) {
    std::memcpy(&data[at], &data[at - 4096], 4096);  // a copy 4 KiB back
  }
  return data;
}

InflatingSource inflating(const std::vector<std::byte>& data, int level, const std::string& name) {
  return InflatingSource(
      std::make_unique<MemorySource>(deflate_raw(data, level), name + ".deflate"), data.size(),
      crc_of(data), name);
}

void expect_random_reads_match(InflatingSource& source, const std::vector<std::byte>& data,
                               uint32_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::byte> got;
  for (int i = 0; i < 200; ++i) {
    const uint64_t offset = random() % data.size();
    const uint64_t length = std::min<uint64_t>(data.size() - offset, random() % 70000);
    got.assign(length, std::byte{0});
    source.read_at(offset, got);
    ASSERT_TRUE(std::equal(got.begin(), got.end(), data.begin() + static_cast<long>(offset)))
        << "read of " << length << " at " << offset;
  }
}

TEST(InflatingSourceTest, RandomReadsReturnTheOriginalBytes) {
  const std::vector<std::byte> data = weights_like(6 << 20, 1);
  for (const int level : {0, 1, 6, 9}) {
    SCOPED_TRACE("level " + std::to_string(level));
    InflatingSource source = inflating(data, level, "w.bin");
    EXPECT_EQ(source.size(), data.size());
    EXPECT_EQ(source.restart_points(), 1u);  // the start; more are taken as reads go past
    expect_random_reads_match(source, data, 7);
    EXPECT_GE(source.restart_points(), 5u);  // about one per MiB
  }
}

TEST(InflatingSourceTest, SequentialReadsInflateOnce) {
  const std::vector<std::byte> data = weights_like(5 << 20, 2);
  InflatingSource source = inflating(data, 6, "w.bin");
  EXPECT_EQ(source.inflated_bytes(), 0u);  // above 1 MiB: checked by reading, not on opening
  std::vector<std::byte> chunk(300000);
  for (uint64_t at = 0; at < data.size(); at += chunk.size() + 1000) {  // skipping gaps too
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), data.size() - at));
    source.read_at(at, std::span(chunk.data(), n));
    ASSERT_TRUE(std::equal(chunk.begin(), chunk.begin() + static_cast<long>(n),
                           data.begin() + static_cast<long>(at)));
  }
  EXPECT_EQ(source.inflated_bytes(), data.size());
}

TEST(InflatingSourceTest, AReadBehindCostsAtMostOneSpan) {
  const std::vector<std::byte> data = weights_like(8 << 20, 3);
  InflatingSource source = inflating(data, 6, "w.bin");
  std::vector<std::byte> got(1000);
  source.read_at(data.size() - 1000, got);
  const uint64_t before = source.inflated_bytes();
  source.read_at(3 << 20, got);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin() + (3 << 20)));
  // Spans are 1 MiB here; a deflate block may end up to one block past the span.
  EXPECT_LE(source.inflated_bytes() - before, uint64_t{(1 << 20) + (256 << 10)});
}

TEST(InflatingSourceTest, SmallAndEmptyStreams) {
  for (const size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{40000}}) {
    const std::vector<std::byte> data = weights_like(size, 4);
    InflatingSource source = inflating(data, 6, "small");
    EXPECT_EQ(source.restart_points(), 1u);
    if (size) expect_random_reads_match(source, data, 5);
  }
}

void expect_error(const std::function<void()>& action, const std::string& detail) {
  try {
    action();
    ADD_FAILURE() << "no error; expected " << detail;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("model.zip:w.bin: ", 0), 0u) << message;
    EXPECT_NE(message.find(detail), std::string::npos) << message;
  }
}

// Opens and reads everything, as a rewrite does.
void open_and_read_all(std::vector<std::byte> deflated, uint64_t size, uint32_t crc) {
  InflatingSource source(std::make_unique<MemorySource>(std::move(deflated), "raw"), size, crc,
                         "model.zip:w.bin");
  std::vector<std::byte> chunk(1 << 20);
  for (uint64_t at = 0; at < size; at += chunk.size()) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - at));
    source.read_at(at, std::span(chunk.data(), n));
  }
}

TEST(InflatingSourceTest, DamagedStreamsThrowNamingTheData) {
  for (const size_t size : {size_t{100000}, size_t{3} << 20}) {  // checked on opening, by reading
    SCOPED_TRACE(size);
    const std::vector<std::byte> data = weights_like(size, 6);
    const std::vector<std::byte> deflated = deflate_raw(data, 6);
    const uint32_t crc = crc_of(data);
    expect_error([&] { open_and_read_all(deflated, data.size(), crc ^ 1); }, "CRC error");
    expect_error([&] { open_and_read_all(deflated, data.size() + 1, crc); },
                 "entry data ends after " + std::to_string(data.size()) + " of the declared " +
                     std::to_string(data.size() + 1) + " bytes");
    expect_error([&] { open_and_read_all(deflated, data.size() - 1, crc); },
                 "entry data is longer than the declared " + std::to_string(data.size() - 1));
    std::vector<std::byte> cut(deflated.begin(), deflated.begin() + deflated.size() / 2);
    expect_error([&] { open_and_read_all(cut, data.size(), crc); }, "compressed data ends inside");
    std::vector<std::byte> garbage = deflated;
    garbage[0] = std::byte{0xFF};  // a final block of the reserved type 3
    expect_error([&] { open_and_read_all(garbage, data.size(), crc); }, "cannot inflate");
  }
}

TEST(InflatingSourceTest, ALargeStreamIsCheckedByTheReadThatReachesItsEnd) {
  const std::vector<std::byte> data = weights_like(3 << 20, 8);
  const std::vector<std::byte> deflated = deflate_raw(data, 6);
  const uint32_t wrong_crc = crc_of(data) ^ 0x10;
  // Small: on opening.
  const std::vector<std::byte> small(data.begin(), data.begin() + 5000);
  expect_error(
      [&] {
        InflatingSource(std::make_unique<MemorySource>(deflate_raw(small, 6), "raw"), small.size(),
                        crc_of(small) ^ 0x10, "model.zip:w.bin");
      },
      "CRC error");
  // Large: reads short of the end succeed; the last byte's read throws.
  InflatingSource source(std::make_unique<MemorySource>(deflated, "raw"), data.size(), wrong_crc,
                         "model.zip:w.bin");
  std::vector<std::byte> got(1 << 20);
  source.read_at(0, got);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin()));
  std::vector<std::byte> last(1);
  expect_error([&] { source.read_at(data.size() - 1, last); }, "CRC error");
}

}  // namespace
}  // namespace mlpress
