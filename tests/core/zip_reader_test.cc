// ZipReader: reads what people upload (shared/spec/FORMAT.md §1.5) and refuses hostile or broken
// archives with a message naming the archive and the entry. Archives are written by ZipWriter or,
// where the library must not be trusted to produce them (ZIP64, bad names, encryption, damage),
// assembled byte by byte from the APPNOTE layout right here.
#include "core/package/zip_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "core/package/zip_writer.h"
#include "tests/core/temp_dir_test.h"

namespace mlpress {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMiB = uint64_t{1} << 20;

// Deterministic bytes: a compressible run followed by xorshift noise, so that deflate has work
// to do and a misplaced byte cannot go unnoticed.
std::vector<std::byte> pattern(size_t size, uint32_t seed) {
  std::vector<std::byte> bytes(size);
  uint32_t state = seed | 1;
  for (size_t i = 0; i < size; ++i) {
    if (i < size / 2) {
      bytes[i] = std::byte(uint8_t((i / 64) + seed));
    } else {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      bytes[i] = std::byte(uint8_t(state));
    }
  }
  return bytes;
}

std::vector<std::byte> text_bytes(const std::string& text) {
  std::vector<std::byte> bytes(text.size());
  for (size_t i = 0; i < text.size(); ++i) bytes[i] = std::byte(uint8_t(text[i]));
  return bytes;
}

uint32_t crc32_of(const std::vector<std::byte>& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (std::byte b : bytes) {
    crc ^= uint8_t(b);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// One entry as it lies in the archive: `data` is what follows the local header.
struct RawEntry {
  std::string name;
  std::vector<std::byte> data;
  uint16_t method = 0;
  uint16_t flags = 0;  // bit 0: encrypted, bit 3: sizes and CRC in a trailing data descriptor
  uint32_t crc = 0;
  uint64_t size = 0;  // declared uncompressed size
};

RawEntry stored(const std::string& name, const std::vector<std::byte>& content) {
  return {name, content, 0, 0, crc32_of(content), content.size()};
}

// A deflate stream made of one final "stored" block (RFC 1951 §3.2.4): valid deflate data
// without needing a compressor in the test.
RawEntry deflated(const std::string& name, const std::vector<std::byte>& content) {
  const auto length = uint16_t(content.size());
  std::vector<std::byte> data = {std::byte{1}, std::byte(uint8_t(length)),
                                 std::byte(uint8_t(length >> 8)), std::byte(uint8_t(~length)),
                                 std::byte(uint8_t(~length >> 8))};
  data.insert(data.end(), content.begin(), content.end());
  return {name, data, 8, 0, crc32_of(content), content.size()};
}

class ZipBytes {
 public:
  void u16(uint64_t v) { put(v, 2); }
  void u32(uint64_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void append(const std::vector<std::byte>& b) { bytes.insert(bytes.end(), b.begin(), b.end()); }
  void append(const std::string& s) { append(text_bytes(s)); }
  uint64_t size() const { return bytes.size(); }
  std::vector<std::byte> bytes;

 private:
  void put(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) bytes.push_back(std::byte(uint8_t(v >> (8 * i))));
  }
};

// Lays out local headers, data, central directory and end records per APPNOTE 4.3. With
// `zip64`, every size and offset lives in ZIP64 extra fields and the ZIP64 end records, the
// classic fields holding only their 0xFFFF... markers.
std::vector<std::byte> build_zip(const std::vector<RawEntry>& entries, bool zip64 = false) {
  constexpr uint32_t kMax32 = 0xFFFFFFFFu;
  const uint16_t version = zip64 ? 45 : 20;
  ZipBytes z;
  std::vector<uint64_t> offsets;
  for (const RawEntry& e : entries) {
    const bool descriptor = (e.flags & 8) != 0;
    offsets.push_back(z.size());
    z.u32(0x04034b50);
    z.u16(version);
    z.u16(e.flags);
    z.u16(e.method);
    z.u16(0);       // time
    z.u16(0x0021);  // date: 1980-01-01
    z.u32(descriptor ? 0 : e.crc);
    z.u32(zip64 ? kMax32 : descriptor ? 0 : e.data.size());
    z.u32(zip64 ? kMax32 : descriptor ? 0 : e.size);
    z.u16(e.name.size());
    z.u16(zip64 ? 20 : 0);
    z.append(e.name);
    if (zip64) {
      z.u16(1);
      z.u16(16);
      z.u64(e.size);
      z.u64(e.data.size());
    }
    z.append(e.data);
    if (descriptor) {
      z.u32(0x08074b50);
      z.u32(e.crc);
      z.u32(e.data.size());
      z.u32(e.size);
    }
  }
  const uint64_t directory_offset = z.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const RawEntry& e = entries[i];
    z.u32(0x02014b50);
    z.u16(0x031E);  // made by: Unix, APPNOTE 3.0
    z.u16(version);
    z.u16(e.flags);
    z.u16(e.method);
    z.u16(0);
    z.u16(0x0021);
    z.u32(e.crc);
    z.u32(zip64 ? kMax32 : e.data.size());
    z.u32(zip64 ? kMax32 : e.size);
    z.u16(e.name.size());
    z.u16(zip64 ? 28 : 0);
    z.u16(0);  // comment
    z.u16(0);  // disk
    z.u16(0);  // internal attributes
    z.u32(0);  // external attributes
    z.u32(zip64 ? kMax32 : offsets[i]);
    z.append(e.name);
    if (zip64) {
      z.u16(1);
      z.u16(24);
      z.u64(e.size);
      z.u64(e.data.size());
      z.u64(offsets[i]);
    }
  }
  const uint64_t directory_size = z.size() - directory_offset;
  if (zip64) {
    const uint64_t record_offset = z.size();
    z.u32(0x06064b50);
    z.u64(44);
    z.u16(version);
    z.u16(version);
    z.u32(0);
    z.u32(0);
    z.u64(entries.size());
    z.u64(entries.size());
    z.u64(directory_size);
    z.u64(directory_offset);
    z.u32(0x07064b50);
    z.u32(0);
    z.u64(record_offset);
    z.u32(1);
  }
  z.u32(0x06054b50);
  z.u16(0);
  z.u16(0);
  z.u16(zip64 ? 0xFFFF : entries.size());
  z.u16(zip64 ? 0xFFFF : entries.size());
  z.u32(zip64 ? kMax32 : directory_size);
  z.u32(zip64 ? kMax32 : directory_offset);
  z.u16(0);
  return z.bytes;
}

void write_file(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  for (size_t i = 0; i < chars.size(); ++i) bytes[i] = std::byte(uint8_t(chars[i]));
  return bytes;
}

std::vector<std::byte> slice(const std::vector<std::byte>& bytes, uint64_t offset,
                             uint64_t length) {
  return {bytes.begin() + std::ptrdiff_t(offset), bytes.begin() + std::ptrdiff_t(offset + length)};
}

class ZipReaderTest : public testing_support::TempDirTest {
 protected:
  ZipReaderTest() : TempDirTest("mlpress_zip_reader_") {}

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string raw_zip(const std::vector<RawEntry>& entries, bool zip64 = false) {
    const std::string p = path("raw.zip");
    write_file(p, build_zip(entries, zip64));
    return p;
  }

  // The message of the Error that opening `zip` throws, or "" if it opens.
  static std::string open_error(const std::string& zip, const ZipLimits& limits = {}) {
    try {
      ZipReader reader(zip, limits);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

// Reads at odd offsets and lengths, crossing the 1 MiB pieces the inflater copies in, forwards
// and backwards.
void expect_random_access_matches(ByteSource& source, const std::vector<std::byte>& expected) {
  ASSERT_EQ(source.size(), expected.size());
  const uint64_t size = expected.size();
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {
      {size - 1, 1},     {kMiB - 3, 7},         {2 * kMiB - 1, kMiB + 5}, {0, 1},
      {12345, 0},        {kMiB + 17, 3 * 4099}, {size - 4097, 4097},      {3, kMiB * 2 + 11},
      {size / 2 - 1, 2},
  };
  for (const auto& [offset, length] : ranges) {
    std::vector<std::byte> got(length);
    source.read_at(offset, got);
    EXPECT_EQ(got, slice(expected, offset, length)) << "offset " << offset << " length " << length;
  }
  EXPECT_EQ(read_all(source), expected);
}

TEST_F(ZipReaderTest, StoredAndDeflatedEntriesRoundTrip) {
  const std::vector<std::byte> weights = pattern(3 * kMiB + 13, 7);
  const std::vector<std::byte> model = pattern(3 * kMiB + 4099, 11);
  const std::vector<std::byte> manifest = text_bytes("{\"fileFormatVersion\": \"1.0.0\"}");
  const std::string weights_file = path("weight.bin");
  write_file(weights_file, weights);
  const std::string zip = path("model.zip");
  {
    ZipWriter writer(zip);
    writer.add_directory("Foo.mlpackage/");
    writer.add_bytes("Foo.mlpackage/Manifest.json", manifest, false);
    writer.add_file("Foo.mlpackage/Data/weight.bin", weights_file, true);
    writer.add_bytes("Foo.mlpackage/Data/model.mlmodel", model, false);
    writer.close();
  }

  ZipReader reader(zip);
  EXPECT_EQ(reader.path(), zip);
  ASSERT_EQ(reader.entries().size(), 4u);
  EXPECT_EQ(reader.entries()[0].name, "Foo.mlpackage/");
  EXPECT_TRUE(reader.entries()[0].is_directory);
  EXPECT_EQ(reader.entries()[1].name, "Foo.mlpackage/Manifest.json");
  EXPECT_EQ(reader.entries()[2].name, "Foo.mlpackage/Data/weight.bin");
  EXPECT_EQ(reader.entries()[3].name, "Foo.mlpackage/Data/model.mlmodel");

  const ZipEntryInfo* stored_info = reader.find("Foo.mlpackage/Data/weight.bin");
  ASSERT_NE(stored_info, nullptr);
  EXPECT_TRUE(stored_info->is_stored);
  EXPECT_FALSE(stored_info->is_directory);
  EXPECT_EQ(stored_info->size, weights.size());
  EXPECT_EQ(stored_info->compressed_size, weights.size());
  EXPECT_EQ(stored_info->index, 2u);
  const ZipEntryInfo* deflated_info = reader.find("Foo.mlpackage/Data/model.mlmodel");
  ASSERT_NE(deflated_info, nullptr);
  EXPECT_FALSE(deflated_info->is_stored);
  EXPECT_EQ(deflated_info->size, model.size());
  EXPECT_LT(deflated_info->compressed_size, model.size());

  auto stored_source = reader.open_entry("Foo.mlpackage/Data/weight.bin");
  EXPECT_EQ(stored_source->describe(), zip + ":Foo.mlpackage/Data/weight.bin");
  expect_random_access_matches(*stored_source, weights);
  auto deflated_source = reader.open_entry("Foo.mlpackage/Data/model.mlmodel");
  EXPECT_EQ(deflated_source->describe(), zip + ":Foo.mlpackage/Data/model.mlmodel");
  expect_random_access_matches(*deflated_source, model);

  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Manifest.json", 1024), manifest);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Data/weight.bin", weights.size()), weights);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Data/model.mlmodel", model.size()), model);
}

TEST_F(ZipReaderTest, EmptyEntriesReadAsEmpty) {
  const std::string zip = path("empty-entries.zip");
  {
    ZipWriter writer(zip);
    writer.add_bytes("stored", {}, true);
    writer.add_bytes("deflated", {}, false);
    writer.close();
  }
  ZipReader reader(zip);
  for (const char* name : {"stored", "deflated"}) {
    auto source = reader.open_entry(name);
    EXPECT_EQ(source->size(), 0u) << name;
    EXPECT_TRUE(reader.read_entry(name, 0).empty()) << name;
  }
}

TEST_F(ZipReaderTest, SourcesOutliveTheReader) {
  const std::vector<std::byte> content = pattern(5000, 3);
  const std::string zip = path("outlive.zip");
  {
    ZipWriter writer(zip);
    writer.add_bytes("stored.bin", content, true);
    writer.add_bytes("deflated.bin", content, false);
    writer.close();
  }
  std::unique_ptr<ByteSource> stored_source;
  std::unique_ptr<ByteSource> deflated_source;
  {
    ZipReader reader(zip);
    stored_source = reader.open_entry("stored.bin");
    deflated_source = reader.open_entry("deflated.bin");
  }
  EXPECT_EQ(read_all(*stored_source), content);
  EXPECT_EQ(read_all(*deflated_source), content);
}

TEST_F(ZipReaderTest, InflatedCopyLeavesNothingInTheTemporaryDirectory) {
  const std::string zip = path("temp.zip");
  {
    ZipWriter writer(zip);
    writer.add_bytes("deflated.bin", pattern(2 * kMiB, 5), false);
    writer.close();
  }
  const fs::path temp_dir = dir_ / "tmp";
  fs::create_directories(temp_dir);
  const char* old_tmpdir = std::getenv("TMPDIR");
  const std::string saved = old_tmpdir ? old_tmpdir : "";
  setenv("TMPDIR", temp_dir.c_str(), 1);
  {
    ZipReader reader(zip);
    auto source = reader.open_entry("deflated.bin");
    EXPECT_EQ(read_all(*source), pattern(2 * kMiB, 5));
    EXPECT_TRUE(fs::is_empty(temp_dir));
  }
  EXPECT_TRUE(fs::is_empty(temp_dir));
  if (old_tmpdir) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
}

TEST_F(ZipReaderTest, ReadOutsideTheEntryThrowsNamingIt) {
  const std::string zip = path("range.zip");
  {
    ZipWriter writer(zip);
    writer.add_bytes("a/stored", pattern(100, 1), true);
    writer.add_bytes("a/deflated", pattern(100, 1), false);
    writer.close();
  }
  ZipReader reader(zip);
  for (const char* name : {"a/stored", "a/deflated"}) {
    auto source = reader.open_entry(name);
    std::vector<std::byte> buffer(10);
    try {
      source->read_at(95, buffer);
      ADD_FAILURE() << "no error for " << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(zip + ":" + name), std::string::npos) << e.what();
    }
  }
}

TEST_F(ZipReaderTest, HidesMacOsJunk) {
  const std::string zip = path("junk.zip");
  {
    ZipWriter writer(zip);
    writer.add_directory("Foo.mlpackage/");
    writer.add_bytes("Foo.mlpackage/Manifest.json", text_bytes("{}"), false);
    writer.add_directory("__MACOSX/");
    writer.add_directory("__MACOSX/Foo.mlpackage/");
    writer.add_bytes("__MACOSX/Foo.mlpackage/._Manifest.json", text_bytes("\5\26\7"), false);
    writer.add_bytes("__MACOSX/._Foo.mlpackage", text_bytes("x"), false);
    writer.add_bytes("Foo.mlpackage/.DS_Store", text_bytes("Bud1"), false);
    writer.add_bytes(".DS_Store", text_bytes("Bud1"), false);
    writer.add_bytes("Foo.mlpackage/Data/._weight.bin", text_bytes("x"), true);
    writer.add_directory("Foo.mlpackage/._Data/");
    writer.add_bytes("Foo.mlpackage/Data/weight.bin", text_bytes("w"), true);
    writer.add_bytes("Foo.mlpackage/Data/not__MACOSX/x", text_bytes("y"), true);
    writer.close();
  }
  ZipReader reader(zip);
  std::vector<std::string> names;
  for (const ZipEntryInfo& entry : reader.entries()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Foo.mlpackage/", "Foo.mlpackage/Manifest.json",
                                             "Foo.mlpackage/Data/weight.bin",
                                             "Foo.mlpackage/Data/not__MACOSX/x"}));
  EXPECT_EQ(reader.find("__MACOSX/Foo.mlpackage/._Manifest.json"), nullptr);
  EXPECT_EQ(reader.find(".DS_Store"), nullptr);
  try {
    reader.open_entry("Foo.mlpackage/.DS_Store");
    ADD_FAILURE() << "junk entry opened";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": no entry 'Foo.mlpackage/.DS_Store'");
  }
}

TEST_F(ZipReaderTest, ListsDirectoryEntriesButDoesNotOpenThem) {
  const std::string zip = raw_zip({stored("Foo.mlpackage/", {}), stored("Foo.mlpackage/Data/", {}),
                                   stored("Foo.mlpackage/Manifest.json", text_bytes("{}"))});
  ZipReader reader(zip);
  ASSERT_EQ(reader.entries().size(), 3u);
  EXPECT_TRUE(reader.entries()[0].is_directory);
  EXPECT_TRUE(reader.entries()[1].is_directory);
  EXPECT_FALSE(reader.entries()[2].is_directory);
  try {
    reader.open_entry("Foo.mlpackage/Data/");
    ADD_FAILURE() << "directory opened";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": entry 'Foo.mlpackage/Data/' is a directory");
  }
}

TEST_F(ZipReaderTest, ReadsZip64Archives) {
  const std::vector<std::byte> weights = pattern(40000, 9);
  const std::vector<std::byte> manifest = text_bytes("{\"itemInfoEntries\": {}}");
  const std::string zip =
      raw_zip({stored("Foo.mlpackage/", {}), deflated("Foo.mlpackage/Manifest.json", manifest),
               stored("Foo.mlpackage/Data/weight.bin", weights)},
              /*zip64=*/true);
  ZipReader reader(zip);
  ASSERT_EQ(reader.entries().size(), 3u);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Manifest.json", 1000), manifest);
  EXPECT_TRUE(reader.reads_in_place("Foo.mlpackage/Data/weight.bin"));
  auto source = reader.open_entry("Foo.mlpackage/Data/weight.bin");
  EXPECT_EQ(read_all(*source), weights);
  std::vector<std::byte> middle(333);
  source->read_at(20001, middle);
  EXPECT_EQ(middle, slice(weights, 20001, 333));
}

// Stored (and raw deflated) data is read in place at the offset the central directory and the
// local header give; an archive comment, even one holding an end-record signature, must not
// mislead the search for the end record.
TEST_F(ZipReaderTest, ReadsEntriesInPlaceBehindAnArchiveComment) {
  const std::vector<std::byte> weights = pattern(3 * kMiB + 77, 5);
  const std::vector<std::byte> manifest = pattern(30000, 6);
  for (const bool zip64 : {false, true}) {
    std::vector<std::byte> bytes =
        build_zip({stored("Foo.mlpackage/", {}), deflated("Foo.mlpackage/Manifest.json", manifest),
                   stored("Foo.mlpackage/Data/weight.bin", weights)},
                  zip64);
    const std::string comment = std::string("PK\x05\x06") + std::string(18, 'x') + "tail";
    bytes[bytes.size() - 2] = std::byte(uint8_t(comment.size()));
    const std::vector<std::byte> comment_bytes = text_bytes(comment);
    bytes.insert(bytes.end(), comment_bytes.begin(), comment_bytes.end());
    const std::string zip = path(zip64 ? "comment64.zip" : "comment.zip");
    write_file(zip, bytes);
    ZipReader reader(zip);
    ASSERT_EQ(reader.entries().size(), 3u);
    EXPECT_TRUE(reader.reads_in_place("Foo.mlpackage/Data/weight.bin"));
    EXPECT_TRUE(reader.reads_in_place("Foo.mlpackage/Manifest.json"));
    auto weight_source = reader.open_entry("Foo.mlpackage/Data/weight.bin");
    expect_random_access_matches(*weight_source, weights);
    EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Manifest.json")), manifest);
  }
}

// Where the records do not lead to the entry's own local header (here: the local header names
// another file), the entry is read through libzip as before, which reads the data behind the
// local header whatever name it holds.
TEST_F(ZipReaderTest, FallsBackToLibzipWhereTheLocalHeaderNamesAnotherEntry) {
  const std::vector<std::byte> weights = pattern(50000, 3);
  std::vector<std::byte> bytes = build_zip({stored("Foo.mlpackage/Data/weight.bin", weights)});
  ASSERT_EQ(bytes[30], std::byte{'F'});  // the local header's name starts at byte 30
  bytes[30] = std::byte{'G'};
  const std::string zip = path("renamed.zip");
  write_file(zip, bytes);
  ZipReader reader(zip);
  EXPECT_FALSE(reader.reads_in_place("Foo.mlpackage/Data/weight.bin"));
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/weight.bin")), weights);
}

TEST_F(ZipReaderTest, ReadsEntriesWithDataDescriptors) {
  // Streaming writers (ditto, Java, Go) leave CRC and sizes in the local header zero.
  const std::vector<std::byte> content = pattern(3000, 4);
  RawEntry inflatable = deflated("Foo.mlpackage/Manifest.json", content);
  inflatable.flags = 8;
  RawEntry in_place = stored("Foo.mlpackage/Data/weight.bin", content);
  in_place.flags = 8;
  const std::string zip = raw_zip({inflatable, in_place});
  ZipReader reader(zip);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Manifest.json", 3000), content);
  EXPECT_TRUE(reader.reads_in_place("Foo.mlpackage/Data/weight.bin"));
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/weight.bin")), content);
}

TEST_F(ZipReaderTest, NamesUtf8EntriesAsWritten) {
  const std::string zip = path("utf8.zip");
  {
    ZipWriter writer(zip);
    writer.add_bytes("Modèle.mlpackage/Manifest.json", text_bytes("{}"), false);
    writer.close();
  }
  ZipReader reader(zip);
  ASSERT_EQ(reader.entries().size(), 1u);
  EXPECT_EQ(reader.entries()[0].name, "Modèle.mlpackage/Manifest.json");
}

TEST_F(ZipReaderTest, RefusesFilesThatAreNotZips) {
  const std::string text = path("notes.txt");
  write_file(text, text_bytes("These are not the bytes you are looking for.\n"));
  EXPECT_EQ(open_error(text), text + ": not a zip archive");
  const std::string empty = path("empty.zip");
  write_file(empty, {});
  EXPECT_EQ(open_error(empty), empty + ": not a zip archive");
  const std::string missing = path("missing.zip");
  EXPECT_EQ(open_error(missing), missing + ": no such file");
  EXPECT_EQ(open_error(dir_.string()), dir_.string() + ": is a directory, not a zip archive");
}

TEST_F(ZipReaderTest, RefusesTruncatedZips) {
  const std::string whole = path("whole.zip");
  {
    ZipWriter writer(whole);
    writer.add_bytes("Foo.mlpackage/Manifest.json", pattern(20000, 2), false);
    writer.add_bytes("Foo.mlpackage/Data/weight.bin", pattern(20000, 3), true);
    writer.close();
  }
  const std::vector<std::byte> bytes = read_file(whole);
  // Cut inside the data, inside the central directory, and inside the end record.
  for (uint64_t keep : {uint64_t{100}, bytes.size() / 2, bytes.size() - 60, bytes.size() - 5}) {
    const std::string cut = path("cut.zip");
    write_file(cut, slice(bytes, 0, keep));
    const std::string message = open_error(cut);
    EXPECT_EQ(message.rfind(cut + ": truncated or damaged zip archive", 0), 0u)
        << "keeping " << keep << " bytes: " << message;
  }
  const std::string zip64 = raw_zip({stored("a", pattern(1000, 1))}, /*zip64=*/true);
  const std::vector<std::byte> zip64_bytes = read_file(zip64);
  write_file(zip64, slice(zip64_bytes, 0, zip64_bytes.size() - 30));
  EXPECT_EQ(open_error(zip64).rfind(zip64 + ": truncated or damaged zip archive", 0), 0u)
      << open_error(zip64);
}

TEST_F(ZipReaderTest, RefusesEncryptedEntries) {
  RawEntry secret = stored("Foo.mlpackage/Manifest.json", text_bytes("{}"));
  secret.flags = 1;
  const std::string zip = raw_zip({stored("Foo.mlpackage/", {}), secret});
  EXPECT_EQ(open_error(zip), zip +
                                 ": entry 'Foo.mlpackage/Manifest.json' is encrypted; mlpress "
                                 "cannot read encrypted archives");
}

TEST_F(ZipReaderTest, RefusesNamesThatLeaveTheRoot) {
  for (const std::string name : {"Foo.mlpackage/../x", "../x", "..", "a/b/../../../x",
                                 "Foo.mlpackage/Data/..", "__MACOSX/../x"}) {
    const std::string zip = raw_zip({stored(name, text_bytes("x"))});
    EXPECT_EQ(open_error(zip), zip + ": entry '" + name + "': name leaves the archive root");
  }
  // Dots that are not a whole component are ordinary names.
  const std::string zip = raw_zip({stored("a/..b/c..", text_bytes("x")), stored("./y", {})});
  EXPECT_EQ(open_error(zip), "");
}

TEST_F(ZipReaderTest, RefusesAbsoluteNames) {
  for (const std::string name : {"/etc/passwd", "/", "C:/Windows/x", "c:x", "Z:"}) {
    const std::string zip = raw_zip({stored(name, text_bytes("x"))});
    EXPECT_EQ(open_error(zip), zip + ": entry '" + name + "': name is an absolute path");
  }
}

TEST_F(ZipReaderTest, RefusesBackslashes) {
  for (const std::string name : {"Foo.mlpackage\\Manifest.json", "a\\..\\..\\x", "\\x"}) {
    const std::string zip = raw_zip({stored(name, text_bytes("x"))});
    EXPECT_EQ(open_error(zip), zip + ": entry '" + name +
                                   "': name contains a backslash, which some tools treat as a "
                                   "path separator; re-create the archive with '/' separators");
  }
}

TEST_F(ZipReaderTest, RefusesOtherCompressionMethods) {
  RawEntry bzip2 = stored("Foo.mlpackage/Data/weight.bin", pattern(64, 1));
  bzip2.method = 12;
  std::string zip = raw_zip({bzip2});
  EXPECT_EQ(open_error(zip), zip +
                                 ": entry 'Foo.mlpackage/Data/weight.bin' uses compression "
                                 "method 12 (bzip2); mlpress reads only stored and deflated "
                                 "entries");
  RawEntry odd = stored("x", pattern(64, 1));
  odd.method = 77;
  zip = raw_zip({odd});
  EXPECT_EQ(open_error(zip), zip +
                                 ": entry 'x' uses compression method 77; mlpress reads only "
                                 "stored and deflated entries");
}

TEST_F(ZipReaderTest, RefusesDeclaredSizesAboveTheLimits) {
  // A few bytes of deflate data claiming 70 GB: the default per-entry limit is 64 GiB.
  RawEntry bomb = deflated("Foo.mlpackage/Data/weight.bin", pattern(100, 1));
  bomb.size = 70000000000;
  std::string zip = raw_zip({bomb}, /*zip64=*/true);
  EXPECT_EQ(open_error(zip), zip +
                                 ": entry 'Foo.mlpackage/Data/weight.bin' declares 70000000000 "
                                 "bytes uncompressed, above the limit of 68719476736 (a zip "
                                 "bomb?)");

  zip = raw_zip({stored("a", pattern(600, 1)), stored("b", pattern(601, 2))});
  ZipLimits entry_limit;
  entry_limit.max_entry_size = 600;
  EXPECT_EQ(open_error(zip, entry_limit),
            zip +
                ": entry 'b' declares 601 bytes uncompressed, above the limit of 600 (a zip "
                "bomb?)");
  ZipLimits total_limit;
  total_limit.max_total_size = 1200;
  EXPECT_EQ(open_error(zip, total_limit),
            zip +
                ": entry 'b' brings the declared uncompressed total above the limit of 1200 "
                "bytes (a zip bomb?)");
  total_limit.max_total_size = 1201;
  EXPECT_EQ(open_error(zip, total_limit), "");
}

TEST_F(ZipReaderTest, RefusesTooManyEntries) {
  const std::string zip =
      raw_zip({stored("a", text_bytes("1")), stored("b", text_bytes("2")), stored("c", {})});
  ZipLimits limits;
  limits.max_entries = 2;
  EXPECT_EQ(open_error(zip, limits), zip + ": archive has 3 entries, above the limit of 2");
  limits.max_entries = 3;
  EXPECT_EQ(open_error(zip, limits), "");
}

TEST_F(ZipReaderTest, RefusesDuplicateNames) {
  const std::string zip = raw_zip({stored("Foo.mlpackage/Manifest.json", text_bytes("{}")),
                                   stored("Foo.mlpackage/Manifest.json", text_bytes("[]"))});
  EXPECT_EQ(open_error(zip), zip + ": entry 'Foo.mlpackage/Manifest.json' appears more than once");
}

TEST_F(ZipReaderTest, RefusesStoredEntriesWhoseSizesDisagree) {
  RawEntry entry = stored("weight.bin", pattern(100, 1));
  entry.size = 200;
  const std::string zip = raw_zip({entry});
  EXPECT_EQ(open_error(zip), zip +
                                 ": entry 'weight.bin' is stored with 100 bytes of data but "
                                 "declares 200 (truncated or damaged archive)");
}

// Expects `action` to throw an Error whose message starts with "<zip>:<entry>: " and contains
// `detail`.
template <typename Action>
void expect_entry_error(const std::string& zip, const std::string& entry, const std::string& detail,
                        Action action) {
  try {
    action();
    ADD_FAILURE() << "no error for " << entry;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(zip + ":" + entry + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(detail), std::string::npos) << message;
  }
}

TEST_F(ZipReaderTest, CrcMismatchThrowsNamingTheEntry) {
  RawEntry bad_deflated = deflated("Foo.mlpackage/Data/model.mlmodel", pattern(1000, 1));
  bad_deflated.crc ^= 1;
  RawEntry bad_stored = stored("Foo.mlpackage/Manifest.json", pattern(1000, 2));
  bad_stored.crc ^= 0x80000000u;
  const std::string zip = raw_zip({bad_deflated, bad_stored});
  ZipReader reader(zip);
  expect_entry_error(zip, bad_deflated.name, "CRC error",
                     [&] { reader.open_entry(bad_deflated.name); });
  expect_entry_error(zip, bad_deflated.name, "CRC error",
                     [&] { reader.read_entry(bad_deflated.name, 1000); });
  expect_entry_error(zip, bad_stored.name, "CRC error",
                     [&] { reader.read_entry(bad_stored.name, 1000); });
}

TEST_F(ZipReaderTest, CorruptDeflateStreamThrowsNamingTheEntry) {
  RawEntry garbage = deflated("model.mlmodel", pattern(1000, 1));
  garbage.data[0] = std::byte{0xFF};  // final block of the reserved type 3
  const std::string zip = raw_zip({garbage});
  ZipReader reader(zip);
  expect_entry_error(zip, "model.mlmodel", "cannot inflate",
                     [&] { reader.open_entry("model.mlmodel"); });
  expect_entry_error(zip, "model.mlmodel", "cannot read",
                     [&] { reader.read_entry("model.mlmodel", 1000); });
}

TEST_F(ZipReaderTest, DeflatedSizeDifferentFromDeclaredThrows) {
  RawEntry longer = deflated("longer", pattern(3000, 1));
  longer.size = 2000;
  RawEntry shorter = deflated("shorter", pattern(3000, 1));
  shorter.size = 4000;
  const std::string zip = raw_zip({longer, shorter});
  ZipReader reader(zip);
  expect_entry_error(zip, "longer", "entry data is longer than the declared 2000 bytes",
                     [&] { reader.open_entry("longer"); });
  expect_entry_error(zip, "longer", "entry data is longer than the declared 2000 bytes",
                     [&] { reader.read_entry("longer", 5000); });
  expect_entry_error(zip, "shorter", "entry data ends after 3000 of the declared 4000 bytes",
                     [&] { reader.open_entry("shorter"); });
  expect_entry_error(zip, "shorter", "entry data ends after 3000 of the declared 4000 bytes",
                     [&] { reader.read_entry("shorter", 5000); });
}

TEST_F(ZipReaderTest, ReadEntryRefusesEntriesAboveMaxBytes) {
  const std::string zip = raw_zip({stored("Foo.mlpackage/Data/weight.bin", pattern(1001, 1))});
  ZipReader reader(zip);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Data/weight.bin", 1001).size(), 1001u);
  try {
    reader.read_entry("Foo.mlpackage/Data/weight.bin", 1000);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              zip +
                  ": entry 'Foo.mlpackage/Data/weight.bin' is 1001 bytes, above the limit of "
                  "1000 bytes for reading into memory");
  }
}

TEST_F(ZipReaderTest, UnknownEntriesAreNamed) {
  const std::string zip = raw_zip({stored("a", text_bytes("1"))});
  ZipReader reader(zip);
  EXPECT_EQ(reader.find("b"), nullptr);
  try {
    reader.read_entry("b", 10);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": no entry 'b'");
  }
}

}  // namespace
}  // namespace mlpress
