// Mapped reads (core/io/file_mapping.h): a weight's bytes read in place from the input file, a
// package folder's weight.bin or a stored zip entry, must be exactly the bytes read_at gives,
// refuse the same ranges with the same messages, and leave the input untouched. Where a mapping
// cannot serve (deflated entries, the libzip fallback, short ranges, data misaligned for the
// element type) the copy path must give the same values.
#include "core/io/file_mapping.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/blob/blob_reader.h"
#include "core/blob/blob_writer.h"
#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/package/package_reader.h"
#include "core/package/zip_reader.h"
#include "core/package/zip_writer.h"
#include "core/rewrite/const_tensor.h"
#include "tests/core/error_of.h"
#include "tests/core/package_builder.h"

namespace mlpress {
namespace {

using testing_support::error_of;
using testing_support::kNoError;

namespace fs = std::filesystem;
namespace M = CoreML::Specification::MILSpec;

// xorshift bytes: a misplaced or stale byte cannot go unnoticed.
std::vector<std::byte> noise(size_t size, uint32_t seed) {
  std::vector<std::byte> bytes(size);
  uint32_t state = seed | 1;
  for (auto& b : bytes) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    b = std::byte(uint8_t(state));
  }
  return bytes;
}

void write_file(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::byte> file_bytes(const std::string& path) {
  FileSource source(path);
  return read_all(source);
}

std::vector<std::byte> slice(const std::vector<std::byte>& bytes, uint64_t offset,
                             uint64_t length) {
  return {bytes.begin() + std::ptrdiff_t(offset), bytes.begin() + std::ptrdiff_t(offset + length)};
}

std::vector<std::byte> copy_of(std::span<const std::byte> bytes) {
  return {bytes.begin(), bytes.end()};
}

// Ranges of kMinMappedBytes and up at page-aligned and odd offsets, up to the last byte.
void expect_mapped_ranges_match(ByteSource& source, const std::vector<std::byte>& expected) {
  ASSERT_EQ(source.size(), expected.size());
  const uint64_t size = expected.size();
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {0, size},
      {4096, kMinMappedBytes},
      {4097, 100003},
      {size - kMinMappedBytes, kMinMappedBytes}};
  for (const auto& [offset, length] : ranges) {
    const auto mapped = source.map_range(offset, length);
    ASSERT_NE(mapped, nullptr) << "offset " << offset << " length " << length;
    ASSERT_EQ(mapped->bytes().size(), length);
    EXPECT_EQ(copy_of(mapped->bytes()), slice(expected, offset, length))
        << "offset " << offset << " length " << length;
  }
}

// (package_builder's TempDir: tests/core/temp_dir_test.h cannot be used beside
// package_builder.h, whose mlpress::testing hides gtest's ::testing there.)
class FileMappingTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return temp_ / name; }
  testing::TempDir temp_;
  const fs::path& dir_ = temp_.path();
};

TEST_F(FileMappingTest, FileRangesMapToTheBytesReadAtGives) {
  const std::vector<std::byte> content = noise(300000, 1);
  const std::string file = path("data.bin");
  write_file(file, content);
  FileSource source(file);
  expect_mapped_ranges_match(source, content);
  // Short ranges are read, not mapped.
  EXPECT_EQ(source.map_range(5, kMinMappedBytes - 1), nullptr);
  EXPECT_EQ(source.map_range(0, 0), nullptr);
  // Mapping never writes: the file is as it was.
  EXPECT_EQ(file_bytes(file), content);
}

TEST_F(FileMappingTest, RangesOutsideTheFileFailAsReadsDo) {
  const std::vector<std::byte> content = noise(200000, 2);
  const std::string file = path("short.bin");
  write_file(file, content);
  FileSource source(file);
  for (const auto& [offset, length] :
       std::vector<std::pair<uint64_t, uint64_t>>{{150000, 50001}, {200001, 0}, {0, 200001}}) {
    std::vector<std::byte> buffer(length);
    const std::string read_error = error_of([&] { source.read_at(offset, buffer); });
    ASSERT_NE(read_error, kNoError);
    EXPECT_NE(read_error.find(file), std::string::npos) << read_error;
    EXPECT_EQ(error_of([&] { source.map_range(offset, length); }), read_error);
  }
}

TEST_F(FileMappingTest, MappingsOutliveTheirSource) {
  const std::vector<std::byte> content = noise(kMinMappedBytes * 2, 3);
  const std::string file = path("outlive.bin");
  write_file(file, content);
  std::unique_ptr<MappedBytes> mapped;
  {
    FileSource source(file);
    mapped = source.map_range(1, content.size() - 1);
  }
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(copy_of(mapped->bytes()), slice(content, 1, content.size() - 1));
}

TEST_F(FileMappingTest, StoredZipEntriesMapInPlaceOthersAreRead) {
  const std::vector<std::byte> weights = noise(3 * kMinMappedBytes + 11, 4);
  const std::string weights_file = path("weight.bin");
  write_file(weights_file, weights);
  const std::string zip = path("model.zip");
  {
    ZipWriter writer(zip);
    writer.add_file("Foo.mlpackage/Data/weight.bin", weights_file, true);
    writer.add_file("Foo.mlpackage/Data/deflated.bin", weights_file, false);
    writer.close();
  }
  ZipReader reader(zip);
  ASSERT_TRUE(reader.reads_in_place("Foo.mlpackage/Data/weight.bin"));
  auto stored = reader.open_entry("Foo.mlpackage/Data/weight.bin");
  expect_mapped_ranges_match(*stored, weights);
  std::vector<std::byte> buffer(2);
  const std::string read_error = error_of([&] { stored->read_at(weights.size() - 1, buffer); });
  ASSERT_NE(read_error.find(zip + ":Foo.mlpackage/Data/weight.bin"), std::string::npos)
      << read_error;
  EXPECT_EQ(error_of([&] { stored->map_range(weights.size() - 1, 2); }), read_error);

  // A deflated entry has no bytes in place to map.
  auto deflated = reader.open_entry("Foo.mlpackage/Data/deflated.bin");
  EXPECT_EQ(deflated->map_range(0, weights.size()), nullptr);
  EXPECT_EQ(read_all(*deflated), weights);
}

TEST_F(FileMappingTest, BlobDataMapsWithTheReadersRangeChecks) {
  MemorySink sink("weight.bin");
  blob::BlobWriter writer(sink);
  const std::vector<std::byte> data = noise(2 * kMinMappedBytes, 5);
  const uint64_t offset = writer.append_bytes(blob::BlobDType::Float16, data, 0);
  const std::string file = path("weight.bin");
  write_file(file, sink.bytes());

  FileSource source(file);
  blob::BlobReader reader(source);
  const blob::BlobRecord record = reader.record_at(offset);
  const auto mapped = reader.map_data(record, 0, data.size());
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(copy_of(mapped->bytes()), data);
  std::vector<std::byte> buffer(kMinMappedBytes + 1);
  const std::string read_error =
      error_of([&] { reader.read_data(record, kMinMappedBytes, buffer); });
  ASSERT_NE(read_error.find("runs past its"), std::string::npos) << read_error;
  EXPECT_EQ(error_of([&] { reader.map_data(record, kMinMappedBytes, buffer.size()); }), read_error);
}

// A package whose weight.bin holds one fp16 [256, 256] blob at offset 64, and the const op that
// points at it.
struct BigWeightPackage {
  testing::PackageParts parts;
  M::Operation const_op;
  std::vector<uint16_t> values;
};

BigWeightPackage big_weight_package() {
  BigWeightPackage package;
  package.values.resize(256 * 256);
  const std::vector<std::byte> bytes = noise(package.values.size() * 2, 6);
  std::memcpy(package.values.data(), bytes.data(), bytes.size());
  MemorySink sink("weight.bin");
  blob::BlobWriter writer(sink);
  const uint64_t offset = writer.append_bytes(blob::BlobDType::Float16, bytes, 0);
  package.parts = testing::tiny_parts();
  package.parts.weights = sink.bytes();

  package.const_op.set_type("const");
  M::Value val;
  auto* tensor = val.mutable_type()->mutable_tensortype();
  tensor->set_datatype(M::FLOAT16);
  tensor->set_rank(2);
  tensor->add_dimensions()->mutable_constant()->set_size(256);
  tensor->add_dimensions()->mutable_constant()->set_size(256);
  val.mutable_blobfilevalue()->set_filename("@model_path/weights/weight.bin");
  val.mutable_blobfilevalue()->set_offset(offset);
  (*package.const_op.mutable_attributes())["val"] = val;
  return package;
}

std::vector<uint16_t> view_values(const rewrite::ConstTensor& tensor) {
  const auto bits = tensor.view->fp16_bits();
  return {bits.begin(), bits.end()};
}

// Where the weight.bin entry's data starts in `zip` (its local header is the archive's first).
uint64_t first_entry_data_offset(const std::string& zip) {
  const std::vector<std::byte> bytes = file_bytes(zip);
  const auto u16 = [&](size_t at) { return uint64_t(bytes[at]) | uint64_t(bytes[at + 1]) << 8; };
  return 30 + u16(26) + u16(28);
}

TEST_F(FileMappingTest, ConstTensorsAreMappedWhereAlignedAndReadElsewhere) {
  const BigWeightPackage package = big_weight_package();
  const std::string folder = testing::write_package_dir(dir_, "Big", package.parts);
  const auto from_folder = PackageReader::open(folder);
  mil::BlobFiles folder_blobs(*from_folder);
  const rewrite::ConstTensor mapped =
      rewrite::read_const_tensor(package.const_op, folder_blobs, "const w");
  EXPECT_NE(mapped.mapped, nullptr);
  EXPECT_EQ(view_values(mapped), package.values);

  // Stored zips whose weight.bin data starts at an even and at an odd offset of the archive (the
  // folder name's length decides): fp16 bytes at an odd address are read into aligned memory.
  int seen_even = 0, seen_odd = 0;
  for (const std::string top : {"A.mlpackage/", "AB.mlpackage/"}) {
    const std::string zip = path(top.substr(0, top.size() - 1) + ".zip");
    {
      ZipWriter writer(zip);
      writer.add_bytes(top + "Data/com.apple.CoreML/weights/weight.bin", package.parts.weights,
                       true);
      writer.add_bytes(
          top + "Manifest.json",
          std::as_bytes(std::span(package.parts.manifest.data(), package.parts.manifest.size())),
          false);
      writer.add_bytes(
          top + "Data/com.apple.CoreML/model.mlmodel",
          std::as_bytes(std::span(package.parts.model.data(), package.parts.model.size())), false);
      writer.close();
    }
    const bool even = first_entry_data_offset(zip) % 2 == 0;
    (even ? seen_even : seen_odd)++;
    const auto from_zip = PackageReader::open(zip);
    mil::BlobFiles zip_blobs(*from_zip);
    const rewrite::ConstTensor tensor =
        rewrite::read_const_tensor(package.const_op, zip_blobs, "const w");
    EXPECT_EQ(tensor.mapped != nullptr, even) << zip;
    EXPECT_EQ(view_values(tensor), package.values) << zip;
  }
  EXPECT_EQ(seen_even, 1);
  EXPECT_EQ(seen_odd, 1);
}

}  // namespace
}  // namespace mlpress
