// BlobReader: accepts what real files hold, rejects every broken rule of
// shared/spec/FORMAT.md §4.3 with a message naming the file and the offset.
#include "core/blob/blob_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "tests/core/error_of.h"

namespace mlpress::blob {
namespace {

using testing_support::error_of;

// Builds weight.bin bytes field by field from the spec tables, independently of the library.
class FileBytes {
 public:
  FileBytes& header(uint32_t count, uint32_t version = 2) {
    put32(0, count);
    put32(4, version);
    for (uint64_t at = 8; at < 64; ++at) at_least(at + 1);
    return *this;
  }
  struct Metadata {
    uint32_t sentinel = 0xDEADBEEF;
    uint32_t dtype = 2;
    uint64_t size = 0;
    uint64_t data_offset = 0;
    uint64_t padding = 0;
    uint8_t reserved = 0;
  };
  FileBytes& metadata(uint64_t at, const Metadata& m) {
    put32(at, m.sentinel);
    put32(at + 4, m.dtype);
    put64(at + 8, m.size);
    put64(at + 16, m.data_offset);
    put64(at + 24, m.padding);
    for (uint64_t i = 32; i < 64; ++i) put8(at + i, m.reserved);
    return *this;
  }
  FileBytes& data(uint64_t at, uint64_t size, uint8_t first_value) {
    for (uint64_t i = 0; i < size; ++i) put8(at + i, uint8_t(first_value + i));
    return *this;
  }
  FileBytes& resize(uint64_t size) {
    bytes_.resize(size);
    return *this;
  }
  std::vector<std::byte> bytes() const { return bytes_; }

 private:
  void at_least(uint64_t size) {
    if (bytes_.size() < size) bytes_.resize(size);
  }
  void put8(uint64_t at, uint8_t v) {
    at_least(at + 1);
    bytes_[at] = std::byte(v);
  }
  void put32(uint64_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) put8(at + i, uint8_t(v >> (8 * i)));
  }
  void put64(uint64_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) put8(at + i, uint8_t(v >> (8 * i)));
  }
  std::vector<std::byte> bytes_;
};

// One fp16 blob of 3 values at 64, then a uint3 blob of 5 values at 192; reserved bytes and the
// fp16 padding field hold junk, as in real files.
FileBytes two_blobs() {
  FileBytes file;
  file.header(2)
      .metadata(64,
                {.dtype = 1, .size = 6, .data_offset = 128, .padding = 0x7F4A, .reserved = 0xC3})
      .data(128, 6, 10)
      .metadata(192, {.dtype = 12, .size = 2, .data_offset = 256, .padding = 1, .reserved = 0x5A})
      .data(256, 2, 0xD1);
  return file;
}

TEST(BlobReader, ReadsRecordsIgnoringReservedBytesAndByteTypePadding) {
  MemorySource source(two_blobs().bytes(), "weight.bin");
  BlobReader reader(source);
  EXPECT_EQ(reader.declared_count(), 2u);

  const BlobRecord fp16 = reader.record_at(64);
  EXPECT_EQ(fp16.metadata_offset, 64u);
  EXPECT_EQ(fp16.dtype, BlobDType::Float16);
  EXPECT_EQ(fp16.size_in_bytes, 6u);
  EXPECT_EQ(fp16.data_offset, 128u);
  EXPECT_EQ(fp16.padding_bits, 0u);
  EXPECT_EQ(fp16.element_count(), 3u);

  const BlobRecord uint3 = reader.record_at(192);
  EXPECT_EQ(uint3.dtype, BlobDType::UInt3);
  EXPECT_EQ(uint3.data_offset, 256u);
  EXPECT_EQ(uint3.padding_bits, 1u);
  EXPECT_EQ(uint3.element_count(), 5u);

  std::vector<std::byte> data(4);
  reader.read_data(fp16, 2, data);
  EXPECT_EQ(data,
            (std::vector<std::byte>{std::byte{12}, std::byte{13}, std::byte{14}, std::byte{15}}));
}

TEST(BlobReader, EnumeratesRecordsFromOffset64) {
  MemorySource source(two_blobs().bytes(), "weight.bin");
  const std::vector<BlobRecord> records = BlobReader(source).records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].metadata_offset, 64u);
  EXPECT_EQ(records[1].metadata_offset, 192u);  // round_up(128 + 6, 64)
}

TEST(BlobReader, AcceptsEmptyFileAndEmptyBlob) {
  MemorySource empty(FileBytes().header(0).bytes(), "weight.bin");
  EXPECT_TRUE(BlobReader(empty).records().empty());

  FileBytes file;
  file.header(1).metadata(64, {.dtype = 11, .size = 0, .data_offset = 128});
  MemorySource source(file.bytes(), "weight.bin");
  const BlobRecord record = BlobReader(source).record_at(64);
  EXPECT_EQ(record.element_count(), 0u);
}

TEST(BlobReader, RejectsShortHeader) {
  MemorySource source(std::vector<std::byte>(10), "weight.bin");
  EXPECT_EQ(error_of([&] { BlobReader reader(source); }),
            "weight.bin: blob storage header at offset 0 with length 64 lies outside the "
            "10-byte file");
}

TEST(BlobReader, RejectsOtherVersions) {
  for (uint32_t version : {0u, 1u, 3u}) {
    MemorySource source(FileBytes().header(0, version).bytes(), "dir/weight.bin");
    EXPECT_EQ(
        error_of([&] { BlobReader reader(source); }),
        "dir/weight.bin: blob storage version is " + std::to_string(version) + ", expected 2");
  }
}

struct RecordErrorCase {
  const char* name;
  FileBytes file;
  uint64_t metadata_offset;
  std::string message;
};

std::vector<RecordErrorCase> record_error_cases() {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  std::vector<RecordErrorCase> cases;
  cases.push_back({"metadata past the end", two_blobs(), 256,
                   "weight.bin: blob metadata at offset 256 with length 64 lies outside the "
                   "258-byte file"});
  cases.push_back({"metadata offset near 2^64", two_blobs(), kMax - 10,
                   "weight.bin: blob metadata at offset 18446744073709551605 with length 64 "
                   "lies outside the 258-byte file"});
  cases.push_back({"metadata cut short", FileBytes(two_blobs()).resize(250), 192,
                   "weight.bin: blob metadata at offset 192 with length 64 lies outside the "
                   "250-byte file"});
  cases.push_back({"zero sentinel",
                   FileBytes()
                       .header(1)
                       .metadata(128, {.sentinel = 0, .size = 4, .data_offset = 192})
                       .data(192, 4, 0),
                   128,
                   "weight.bin: blob at offset 128: sentinel is 0x00000000, expected 0xDEADBEEF"});
  cases.push_back({"byte-swapped sentinel",
                   FileBytes()
                       .header(1)
                       .metadata(64, {.sentinel = 0xEFBEADDE, .size = 4, .data_offset = 128})
                       .data(128, 4, 0),
                   64,
                   "weight.bin: blob at offset 64: sentinel is 0xEFBEADDE, expected 0xDEADBEEF"});
  cases.push_back({"header read as metadata", two_blobs(), 0,
                   "weight.bin: blob at offset 0: sentinel is 0x00000002, expected 0xDEADBEEF"});
  for (uint32_t code : {0u, 18u}) {
    cases.push_back(
        {"unknown dtype",
         FileBytes()
             .header(1)
             .metadata(64, {.dtype = code, .size = 4, .data_offset = 128})
             .data(128, 4, 0),
         64, "weight.bin: blob at offset 64: unknown data type code " + std::to_string(code)});
  }
  cases.push_back(
      {"data past the end",
       FileBytes().header(1).metadata(64, {.size = 2000, .data_offset = 128}).data(128, 1999, 0),
       64,
       "weight.bin: blob at offset 64: data at offset 128 with length 2000 lies "
       "outside the 2127-byte file"});
  cases.push_back({"data offset past the end",
                   FileBytes().header(1).metadata(64, {.size = 0, .data_offset = 129}), 64,
                   "weight.bin: blob at offset 64: data at offset 129 with length 0 lies "
                   "outside the 128-byte file"});
  cases.push_back(
      {"data size wraps around",
       FileBytes().header(1).metadata(64, {.size = kMax, .data_offset = 128}).data(128, 4, 0), 64,
       "weight.bin: blob at offset 64: data at offset 128 with length "
       "18446744073709551615 lies outside the 132-byte file"});
  cases.push_back({"sub-byte padding of 8",
                   FileBytes()
                       .header(1)
                       .metadata(64, {.dtype = 12, .size = 2, .data_offset = 128, .padding = 8})
                       .data(128, 2, 0),
                   64,
                   "weight.bin: blob at offset 64: uint3 padding_size_in_bits is 8, must be "
                   "less than 8"});
  cases.push_back({"uint4 padding not a multiple of 4",
                   FileBytes()
                       .header(1)
                       .metadata(64, {.dtype = 11, .size = 2, .data_offset = 128, .padding = 2})
                       .data(128, 2, 0),
                   64,
                   "weight.bin: blob at offset 64: uint4 padding_size_in_bits is 2, must be "
                   "a multiple of 4"});
  cases.push_back({"uint1 padding not below 8",
                   FileBytes()
                       .header(1)
                       .metadata(64, {.dtype = 9, .size = 2, .data_offset = 128, .padding = 16})
                       .data(128, 2, 0),
                   64,
                   "weight.bin: blob at offset 64: uint1 padding_size_in_bits is 16, must be "
                   "less than 8"});
  cases.push_back({"uint3 bits not whole elements",
                   FileBytes()
                       .header(1)
                       .metadata(64, {.dtype = 12, .size = 2, .data_offset = 128, .padding = 2})
                       .data(128, 2, 0),
                   64,
                   "weight.bin: blob at offset 64: uint3 padding_size_in_bits is 2, so the 2 "
                   "data bytes hold 14 bits, not a whole number of 3-bit elements"});
  cases.push_back({"int4 padding larger than the data",
                   FileBytes().header(1).metadata(
                       64, {.dtype = 8, .size = 0, .data_offset = 128, .padding = 4}),
                   64,
                   "weight.bin: blob at offset 64: int4 padding_size_in_bits is 4 but the data "
                   "has only 0 bits"});
  return cases;
}

TEST(BlobReader, RejectsBrokenRecordsNamingFileAndOffset) {
  for (const RecordErrorCase& c : record_error_cases()) {
    SCOPED_TRACE(c.name);
    MemorySource source(c.file.bytes(), "weight.bin");
    BlobReader reader(source);
    EXPECT_EQ(error_of([&] { reader.record_at(c.metadata_offset); }), c.message);
  }
}

TEST(BlobReader, RecordsStopsAtTheFirstBrokenRecord) {
  // The header promises three blobs, the file holds two.
  MemorySource source(FileBytes(two_blobs()).header(3).bytes(), "weight.bin");
  EXPECT_EQ(error_of([&] { BlobReader(source).records(); }),
            "weight.bin: blob metadata at offset 320 with length 64 lies outside the "
            "258-byte file");
}

TEST(BlobReader, RejectsReadsPastTheBlobData) {
  MemorySource source(two_blobs().bytes(), "weight.bin");
  BlobReader reader(source);
  const BlobRecord fp16 = reader.record_at(64);
  std::vector<std::byte> dst(4);
  EXPECT_EQ(error_of([&] { reader.read_data(fp16, 3, dst); }),
            "weight.bin: blob at offset 64: read of 4 bytes at 3 runs past its 6 data bytes");
  EXPECT_EQ(error_of([&] {
              reader.read_data(fp16, std::numeric_limits<uint64_t>::max(), std::span(dst).first(0));
            }),
            "weight.bin: blob at offset 64: read of 0 bytes at 18446744073709551615 runs past "
            "its 6 data bytes");
}

// Real packages converted by others with coremltools; shared/ is absent from a user's clone.
TEST(BlobReader, ReadsEveryBlobOfRealFiles) {
  const std::filesystem::path real =
      std::filesystem::path(MLPRESS_SOURCE_DIR) / ".." / "shared" / "fixtures" / "real";
  if (!std::filesystem::exists(real)) GTEST_SKIP() << "no real fixtures at " << real;
  struct Expected {
    const char* package;
    size_t float16;
    size_t float32;
  };
  for (const Expected& e : {Expected{"ESPCN.mlpackage", 8, 0},
                            Expected{"silero-vad-unified-v6.0.0.mlpackage", 10, 3}}) {
    SCOPED_TRACE(e.package);
    FileSource source(
        (real / e.package / "Data" / "com.apple.CoreML" / "weights" / "weight.bin").string());
    BlobReader reader(source);
    const std::vector<BlobRecord> records = reader.records();
    ASSERT_EQ(records.size(), e.float16 + e.float32);
    size_t float16 = 0, float32 = 0;
    for (const BlobRecord& r : records) {
      EXPECT_EQ(r.data_offset, r.metadata_offset + 64);
      float16 += r.dtype == BlobDType::Float16;
      float32 += r.dtype == BlobDType::Float32;
    }
    EXPECT_EQ(float16, e.float16);
    EXPECT_EQ(float32, e.float32);
    const BlobRecord& last = records.back();
    EXPECT_EQ(last.data_offset + last.size_in_bytes, source.size()) << "no trailing padding";
  }
}

}  // namespace
}  // namespace mlpress::blob
