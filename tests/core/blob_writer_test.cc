// BlobWriter: the exact StorageWriter layout of shared/spec/FORMAT.md §4.3, checked byte by byte,
// and round trips through BlobReader.
#include "core/blob/blob_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/blob/blob_reader.h"
#include "core/blob/subbyte.h"
#include "core/io/byte_source.h"
#include "core/io/error.h"

namespace mlpress::blob {
namespace {

// A sink over storage that starts as junk, so that every byte of the file must be written.
class JunkSink final : public ByteSink {
 public:
  explicit JunkSink(size_t capacity) : bytes_(capacity, std::byte{0xA5}) {}
  void write_at(uint64_t offset, std::span<const std::byte> src) override {
    ASSERT_LE(offset + src.size(), bytes_.size());
    std::memcpy(bytes_.data() + offset, src.data(), src.size());
    end_ = std::max<uint64_t>(end_, offset + src.size());
  }
  std::string describe() const override { return "out/weight.bin"; }
  std::vector<std::byte> file() const { return {bytes_.begin(), bytes_.begin() + end_}; }

 private:
  std::vector<std::byte> bytes_;
  uint64_t end_ = 0;
};

uint32_t u32_at(const std::vector<std::byte>& bytes, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(std::to_integer<uint8_t>(bytes[at + i])) << (8 * i);
  return v;
}

std::vector<std::byte> slice(const std::vector<std::byte>& bytes, size_t at, size_t size) {
  return {bytes.begin() + at, bytes.begin() + at + size};
}

std::vector<std::byte> counting_bytes(size_t size, uint8_t first) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(uint8_t(first + i));
  return bytes;
}

std::vector<std::byte> as_bytes(const std::vector<uint8_t>& values) {
  std::vector<std::byte> bytes;
  for (uint8_t v : values) bytes.push_back(std::byte(v));
  return bytes;
}

TEST(BlobWriter, EmptyFileIsTheHeaderAlone) {
  JunkSink sink(4096);
  BlobWriter writer(sink);
  std::vector<std::byte> expected(64);
  expected[4] = std::byte{2};
  EXPECT_EQ(sink.file(), expected);
  EXPECT_EQ(writer.count(), 0u);
  EXPECT_EQ(writer.file_size(), 64u);
}

// §4.3: 500 fp32 values, metadata at 64, data at 128..2127; the next blob's metadata at 2176.
TEST(BlobWriter, MatchesSpecLayoutExample) {
  JunkSink sink(8192);
  BlobWriter writer(sink);
  const std::vector<std::byte> first = counting_bytes(2000, 1);
  const std::vector<std::byte> second = counting_bytes(6, 100);

  EXPECT_EQ(writer.append_bytes(BlobDType::Float32, first, 0), 64u);
  EXPECT_EQ(u32_at(sink.file(), 0), 1u) << "count exact after every append";
  EXPECT_EQ(writer.append_bytes(BlobDType::Float16, second, 0), 2176u);

  const std::vector<std::byte> file = sink.file();
  ASSERT_EQ(file.size(), 2240u + 6u) << "no trailing padding";
  EXPECT_EQ(writer.file_size(), file.size());
  EXPECT_EQ(writer.count(), 2u);

  std::vector<std::byte> header(64);
  header[0] = std::byte{2};
  header[4] = std::byte{2};
  EXPECT_EQ(slice(file, 0, 64), header);

  // The spec's example metadata record, byte for byte.
  std::vector<std::byte> metadata =
      as_bytes({0xEF, 0xBE, 0xAD, 0xDE, 0x02, 0x00, 0x00, 0x00, 0xD0, 0x07, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  metadata.resize(64);
  EXPECT_EQ(slice(file, 64, 64), metadata);
  EXPECT_EQ(slice(file, 128, 2000), first);
  EXPECT_EQ(slice(file, 2128, 48), std::vector<std::byte>(48)) << "gap is zero";

  std::vector<std::byte> metadata2 =
      as_bytes({0xEF, 0xBE, 0xAD, 0xDE, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00, 0xC0, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  metadata2.resize(64);
  EXPECT_EQ(slice(file, 2176, 64), metadata2);
  EXPECT_EQ(slice(file, 2240, 6), second);
}

TEST(BlobWriter, AlignedEndNeedsNoGap) {
  JunkSink sink(4096);
  BlobWriter writer(sink);
  EXPECT_EQ(writer.append_bytes(BlobDType::UInt8, counting_bytes(64, 0), 0), 64u);
  EXPECT_EQ(writer.append_bytes(BlobDType::UInt8, {}, 0), 192u);
  EXPECT_EQ(writer.append_bytes(BlobDType::UInt8, counting_bytes(1, 7), 0), 256u);
  EXPECT_EQ(sink.file().size(), 256u + 64u + 1u);
}

// Sub-byte blobs carry their padding; byte types always store 0.
TEST(BlobWriter, WritesPaddingForSubByteTypesOnly) {
  JunkSink sink(4096);
  BlobWriter writer(sink);
  std::vector<uint8_t> packed(2);
  pack_bits(std::vector<uint8_t>{1, 2, 3, 4, 5}, 3, packed);
  const uint64_t uint3_at = writer.append_bytes(BlobDType::UInt3, as_bytes(packed), 1);
  const uint64_t fp16_at = writer.append_bytes(BlobDType::Float16, counting_bytes(4, 0), 5);
  const std::vector<std::byte> file = sink.file();
  EXPECT_EQ(file[uint3_at + 24], std::byte{1});
  EXPECT_EQ(file[fp16_at + 24], std::byte{0});
  EXPECT_EQ(slice(file, uint3_at + 64, 2), as_bytes({0xD1, 0x58}));
}

TEST(BlobWriter, StreamsLargeBlobsInChunksOfAtMostOneMiB) {
  constexpr uint64_t kSize = 3 * (uint64_t(1) << 20) + 5;
  MemorySink sink("weight.bin");
  BlobWriter writer(sink);
  std::vector<std::pair<uint64_t, size_t>> calls;
  writer.append(BlobDType::UInt8, kSize, 0, [&](uint64_t offset, std::span<std::byte> chunk) {
    calls.emplace_back(offset, chunk.size());
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = std::byte(uint8_t((offset + i) * 7));
  });
  ASSERT_EQ(calls.size(), 4u);
  uint64_t expected_offset = 0;
  for (const auto& [offset, size] : calls) {
    EXPECT_EQ(offset, expected_offset);
    EXPECT_LE(size, BlobWriter::kFillChunkSize);
    expected_offset += size;
  }
  EXPECT_EQ(expected_offset, kSize);

  const std::vector<std::byte>& file = sink.bytes();
  ASSERT_EQ(file.size(), 128 + kSize);
  for (uint64_t i = 0; i < kSize; i += 4099) {
    ASSERT_EQ(file[128 + i], std::byte(uint8_t(i * 7))) << i;
  }
}

TEST(BlobWriter, RoundTripsThroughReader) {
  MemorySink sink("weight.bin");
  BlobWriter writer(sink);
  struct Blob {
    BlobDType dtype;
    std::vector<std::byte> data;
    uint64_t padding;
    uint64_t elements;
  };
  const std::vector<Blob> blobs = {
      {BlobDType::Float32, counting_bytes(2000, 3), 0, 500},
      {BlobDType::UInt4, as_bytes({0x21, 0x03}), 4, 3},
      {BlobDType::Int4, as_bytes({0x78}), 0, 2},
      {BlobDType::UInt6, as_bytes({0x7F, 0x00}), 4, 2},
      {BlobDType::UInt1, as_bytes({0x0D}), 3, 5},
      {BlobDType::Int8, {}, 0, 0},
      {BlobDType::UInt2, as_bytes({0x6C, 0x03}), 6, 5},
  };
  std::vector<uint64_t> offsets;
  for (const Blob& b : blobs) offsets.push_back(writer.append_bytes(b.dtype, b.data, b.padding));

  MemorySource source(sink.bytes(), "weight.bin");
  BlobReader reader(source);
  EXPECT_EQ(reader.declared_count(), blobs.size());
  const std::vector<BlobRecord> records = reader.records();
  ASSERT_EQ(records.size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) {
    SCOPED_TRACE(dtype_name(blobs[i].dtype));
    EXPECT_EQ(records[i].metadata_offset, offsets[i]);
    EXPECT_EQ(records[i].metadata_offset % 64, 0u);
    EXPECT_EQ(records[i].dtype, blobs[i].dtype);
    EXPECT_EQ(records[i].padding_bits, blobs[i].padding);
    EXPECT_EQ(records[i].element_count(), blobs[i].elements);
    std::vector<std::byte> data(records[i].size_in_bytes);
    reader.read_data(records[i], 0, data);
    EXPECT_EQ(data, blobs[i].data);
  }
}

TEST(BlobWriter, RejectsWhatAReaderWouldReject) {
  MemorySink sink("out/weight.bin");
  BlobWriter writer(sink);
  const auto error_of = [&](BlobDType dtype, size_t size, uint64_t padding) -> std::string {
    try {
      writer.append_bytes(dtype, counting_bytes(size, 0), padding);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_EQ(error_of(BlobDType(0), 4, 0), "out/weight.bin: blob 0: unknown data type code 0");
  EXPECT_EQ(error_of(BlobDType::UInt4, 2, 2),
            "out/weight.bin: blob 0: uint4 padding_size_in_bits is 2, must be a multiple of 4");
  EXPECT_EQ(error_of(BlobDType::UInt3, 2, 2),
            "out/weight.bin: blob 0: uint3 padding_size_in_bits is 2, so the 2 data bytes hold "
            "14 bits, not a whole number of 3-bit elements");
  EXPECT_EQ(writer.count(), 0u);
  EXPECT_EQ(sink.bytes().size(), 64u) << "a rejected blob writes nothing";
}

TEST(BlobWriter, FailedFillLeavesAValidFile) {
  MemorySink sink("weight.bin");
  BlobWriter writer(sink);
  writer.append_bytes(BlobDType::UInt8, counting_bytes(10, 0), 0);
  EXPECT_THROW(writer.append(BlobDType::UInt8, 100, 0,
                             [](uint64_t, std::span<std::byte>) { throw Error("source gone"); }),
               Error);
  EXPECT_EQ(writer.count(), 1u);
  EXPECT_EQ(writer.file_size(), 138u);
  EXPECT_EQ(writer.append_bytes(BlobDType::UInt8, counting_bytes(3, 0), 0), 192u)
      << "the next blob takes the failed one's place";
  MemorySource source(sink.bytes(), "weight.bin");
  EXPECT_EQ(BlobReader(source).records().size(), 2u);
}

}  // namespace
}  // namespace mlpress::blob
