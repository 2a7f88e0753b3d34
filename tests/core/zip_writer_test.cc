// ZipWriter: archives it writes read back byte for byte, are the bytes libzip writes for the
// same entries (libzip, linked for reading, is the reference), stored entries lie uncompressed in
// the file, a streamed entry's CRC covers its rewritten head, ZIP64 records read back, and a
// writer that is not closed (or fails) leaves no file behind.
#include "core/package/zip_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "core/package/zip_reader.h"
#include "tests/core/temp_dir_test.h"

namespace mlpress {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> bytes(text.size());
  for (size_t i = 0; i < text.size(); ++i) bytes[i] = std::byte(uint8_t(text[i]));
  return bytes;
}

std::vector<std::byte> counting_bytes(size_t size) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(uint8_t((i * 7) ^ (i >> 9)));
  return bytes;
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

class ZipWriterTest : public testing_support::TempDirTest {
 protected:
  ZipWriterTest() : TempDirTest("mlpress_zip_writer_") {}

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& item : fs::directory_iterator(dir_)) {
      names.push_back(item.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(ZipWriterTest, WritesEntriesThatReadBack) {
  const std::vector<std::byte> weights = counting_bytes(300000);
  const std::vector<std::byte> model = counting_bytes(200001);
  const std::string weights_file = path("weight.bin");
  const std::string model_file = path("model.mlmodel");
  write_file(weights_file, weights);
  write_file(model_file, model);
  const std::string zip = path("out.zip");
  {
    ZipWriter writer(zip);
    writer.add_directory("Foo.mlpackage/");
    writer.add_directory("Foo.mlpackage/Data/");
    writer.add_bytes("Foo.mlpackage/Manifest.json", bytes_of("{\"a\": 1}"), false);
    writer.add_file("Foo.mlpackage/Data/weight.bin", weights_file, true);
    writer.add_file("Foo.mlpackage/Data/model.mlmodel", model_file, false);
    writer.add_bytes("Foo.mlpackage/Data/notes.txt", bytes_of("stored text"), true);
    writer.close();
  }
  ZipReader reader(zip);
  std::vector<std::string> names;
  for (const ZipEntryInfo& entry : reader.entries()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "Foo.mlpackage/", "Foo.mlpackage/Data/", "Foo.mlpackage/Manifest.json",
                       "Foo.mlpackage/Data/weight.bin", "Foo.mlpackage/Data/model.mlmodel",
                       "Foo.mlpackage/Data/notes.txt"}));
  EXPECT_TRUE(reader.find("Foo.mlpackage/Data/")->is_directory);
  EXPECT_TRUE(reader.find("Foo.mlpackage/Data/weight.bin")->is_stored);
  EXPECT_TRUE(reader.find("Foo.mlpackage/Data/notes.txt")->is_stored);
  EXPECT_FALSE(reader.find("Foo.mlpackage/Data/model.mlmodel")->is_stored);
  EXPECT_FALSE(reader.find("Foo.mlpackage/Manifest.json")->is_stored);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Manifest.json", 100), bytes_of("{\"a\": 1}"));
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/weight.bin")), weights);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/model.mlmodel")), model);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Data/notes.txt", 100), bytes_of("stored text"));
}

TEST_F(ZipWriterTest, StoredEntriesLieUncompressedInTheFile) {
  const std::vector<std::byte> weights = counting_bytes(50000);
  const std::string zip = path("stored.zip");
  {
    ZipWriter writer(zip);
    writer.add_bytes("Foo.mlpackage/Data/weight.bin", weights, true);
    writer.add_bytes("Foo.mlpackage/Data/deflated.bin", weights, false);
    writer.close();
  }
  const std::vector<std::byte> file = read_file(zip);
  EXPECT_NE(std::search(file.begin(), file.end(), weights.begin(), weights.end()), file.end());
  // Only the stored copy is verbatim; the deflated one is much smaller than the data.
  EXPECT_LT(file.size(), weights.size() * 3 / 2);
}

TEST_F(ZipWriterTest, DestructorWithoutCloseLeavesNoFile) {
  const std::string source = path("weight.bin");
  write_file(source, counting_bytes(1000));
  {
    ZipWriter writer(path("abandoned.zip"));
    writer.add_directory("Foo.mlpackage/");
    writer.add_file("Foo.mlpackage/Data/weight.bin", source, true);
    writer.add_bytes("Foo.mlpackage/Manifest.json", bytes_of("{}"), false);
  }
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"weight.bin"});
}

TEST_F(ZipWriterTest, AbandonedWriterKeepsAnExistingFileIntact) {
  const std::string zip = path("existing.zip");
  write_file(zip, bytes_of("previous contents"));
  {
    ZipWriter writer(zip);
    writer.add_bytes("x", bytes_of("new"), false);
  }
  EXPECT_EQ(read_file(zip), bytes_of("previous contents"));
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"existing.zip"});
}

TEST_F(ZipWriterTest, CloseReplacesAnExistingFile) {
  const std::string zip = path("existing.zip");
  write_file(zip, bytes_of("not a zip at all"));
  {
    ZipWriter writer(zip);
    writer.add_bytes("Foo.mlpackage/Manifest.json", bytes_of("{}"), false);
    writer.close();
  }
  ZipReader reader(zip);
  ASSERT_EQ(reader.entries().size(), 1u);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/Manifest.json", 10), bytes_of("{}"));
}

TEST_F(ZipWriterTest, EmptyArchiveIsStillWritten) {
  const std::string zip = path("empty.zip");
  write_file(zip, bytes_of("old"));
  {
    ZipWriter writer(zip);
    writer.close();
  }
  ZipReader reader(zip);
  EXPECT_TRUE(reader.entries().empty());
  EXPECT_EQ(read_file(zip).size(), 22u);
}

TEST_F(ZipWriterTest, CloseIsIdempotentAndAddingAfterCloseThrows) {
  const std::string zip = path("closed.zip");
  ZipWriter writer(zip);
  writer.add_bytes("a", bytes_of("1"), true);
  writer.close();
  writer.close();
  try {
    writer.add_bytes("b", bytes_of("2"), true);
    ADD_FAILURE() << "added after close";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": archive is already closed");
  }
  EXPECT_EQ(ZipReader(zip).entries().size(), 1u);
}

TEST_F(ZipWriterTest, MissingSourceFileIsNamedWhenAdded) {
  const std::string zip = path("out.zip");
  const std::string missing = path("no-such-weight.bin");
  ZipWriter writer(zip);
  try {
    writer.add_file("Foo.mlpackage/Data/weight.bin", missing, true);
    ADD_FAILURE() << "missing file added";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": cannot add entry 'Foo.mlpackage/Data/weight.bin': " +
                                         missing + " is not a readable regular file");
  }
}

// A source that cannot be read discards the archive, as a staged file that cannot be read does.
TEST_F(ZipWriterTest, UnreadableSourceDiscardsTheArchive) {
  class Unreadable final : public ByteSource {
   public:
    uint64_t size() const override { return 10; }
    void read_at(uint64_t, std::span<std::byte>) override { throw Error("src: cannot read"); }
    std::string describe() const override { return "src"; }
  };
  const std::string zip = path("unreadable.zip");
  ZipWriter writer(zip);
  Unreadable source;
  try {
    writer.add_source("Foo.mlpackage/x.bin", source, true);
    ADD_FAILURE() << "unreadable source added";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              zip + ": cannot add entry 'Foo.mlpackage/x.bin': src: cannot read");
  }
  try {
    writer.close();
    ADD_FAILURE() << "close succeeded after a failure";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": archive was discarded after an earlier failure");
  }
  EXPECT_FALSE(std::filesystem::exists(zip));
}

TEST_F(ZipWriterTest, DuplicateEntryNamesAreRefused) {
  const std::string zip = path("dup.zip");
  ZipWriter writer(zip);
  writer.add_bytes("Foo.mlpackage/Manifest.json", bytes_of("{}"), false);
  try {
    writer.add_bytes("Foo.mlpackage/Manifest.json", bytes_of("[]"), false);
    ADD_FAILURE() << "duplicate added";
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()).rfind(zip + ": cannot add entry 'Foo.mlpackage/Manifest.json'", 0),
        0u)
        << e.what();
  }
}

TEST_F(ZipWriterTest, OutOfOrderWriteDiscardsTheArchive) {
  const std::string zip = path("failed.zip");
  ZipWriter writer(zip);
  writer.add_bytes("Foo.mlpackage/Manifest.json", bytes_of("{}"), false);
  ByteSink& sink = writer.begin_stored("Foo.mlpackage/Data/weight.bin", 8);
  sink.write_at(0, counting_bytes(100));
  sink.write_at(4, counting_bytes(4));  // inside the rewritable head: allowed
  try {
    sink.write_at(50, counting_bytes(10));
    ADD_FAILURE() << "a write behind the end of the entry was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip +
                                         ":Foo.mlpackage/Data/weight.bin: written out of order "
                                         "(10 bytes at offset 50, the entry has 100)");
  }
  EXPECT_TRUE(files_in_dir().empty());
  try {
    writer.close();
    ADD_FAILURE() << "close succeeded after a failure";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": archive was discarded after an earlier failure");
  }
}

TEST_F(ZipWriterTest, NoOtherEntryWhileOneIsStreamed) {
  const std::string zip = path("busy.zip");
  ZipWriter writer(zip);
  writer.begin_stored("a.bin", 0);
  EXPECT_THROW(writer.add_bytes("b", bytes_of("1"), false), Error);
  writer.close();  // finishes the streamed entry
  ZipReader reader(zip);
  ASSERT_EQ(reader.entries().size(), 1u);
  EXPECT_EQ(reader.entries()[0].size, 0u);
}

// The same entries written by libzip (as mlpress wrote archives before it had its own writer):
// fixed time and modes, level-6 deflate, stored where asked.
struct RefEntry {
  std::string name;
  std::vector<std::byte> data;
  bool store = false;
};

void write_with_libzip(const std::string& path, const std::vector<RefEntry>& entries) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  ASSERT_NE(archive, nullptr);
  for (const RefEntry& entry : entries) {
    zip_int64_t index;
    const bool dir = entry.name.back() == '/';
    if (dir) {
      index = zip_dir_add(archive, entry.name.c_str(), ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t* source = zip_source_buffer(archive, entry.data.data(), entry.data.size(), 0);
      index = zip_file_add(archive, entry.name.c_str(), source, ZIP_FL_ENC_UTF_8);
      ASSERT_GE(index, 0);
      ASSERT_EQ(zip_set_file_compression(archive, zip_uint64_t(index),
                                         entry.store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 6),
                0);
    }
    ASSERT_GE(index, 0) << entry.name;
    ASSERT_EQ(zip_file_set_dostime(archive, zip_uint64_t(index), 0, (1 << 5) | 1, 0), 0);
    ASSERT_EQ(zip_file_set_external_attributes(archive, zip_uint64_t(index), 0, ZIP_OPSYS_UNIX,
                                               (dir ? 040755u : 0100644u) << 16),
              0);
  }
  ASSERT_EQ(zip_close(archive), 0) << zip_strerror(archive);
}

std::vector<RefEntry> reference_entries() {
  std::vector<std::byte> text;
  for (int i = 0; i < 2000; ++i) {
    const auto line = bytes_of("{\"weight_" + std::to_string(i % 37) +
                               "\": " + std::to_string(i * i % 1009) + "},\n");
    text.insert(text.end(), line.begin(), line.end());
  }
  return {{"Foo.mlpackage/", {}, false},
          {"Foo.mlpackage/Data/", {}, false},
          {"Foo.mlpackage/Manifest.json", bytes_of("{\"fileFormatVersion\": \"1.0.0\"}"), false},
          {"Foo.mlpackage/Data/model.mlmodel", counting_bytes(300001), false},
          {"Foo.mlpackage/Data/text.json", text, false},
          {"Foo.mlpackage/Data/empty.txt", {}, false},
          {"Foo.mlpackage/Data/empty.bin", {}, true},
          {"Foo.mlpackage/Data/caf\xc3\xa9.bin", counting_bytes(1000), true},
          {"Foo.mlpackage/Data/weight.bin", counting_bytes(2500000), true}};
}

TEST_F(ZipWriterTest, SameBytesAsLibzip) {
  const std::vector<RefEntry> entries = reference_entries();
  write_with_libzip(path("libzip.zip"), entries);
  {
    ZipWriter writer(path("ours.zip"));
    for (const RefEntry& entry : entries) {
      if (entry.name.back() == '/') {
        writer.add_directory(entry.name);
      } else if (entry.name.ends_with("model.mlmodel")) {
        write_file(path("model.mlmodel"), entry.data);  // from a file, read in pieces
        writer.add_file(entry.name, path("model.mlmodel"), entry.store);
      } else {
        writer.add_bytes(entry.name, entry.data, entry.store);
      }
    }
    writer.close();
  }
  const std::vector<std::byte> ours = read_file(path("ours.zip"));
  const std::vector<std::byte> reference = read_file(path("libzip.zip"));
  ASSERT_EQ(ours.size(), reference.size());
  EXPECT_TRUE(ours == reference);
}

TEST_F(ZipWriterTest, StreamedEntryIsTheBytesLibzipWritesForTheFinalData) {
  // A file whose 64-byte head is rewritten as it grows (as BlobWriter's header is), written
  // in uneven pieces; libzip gets the final bytes whole.
  std::vector<std::byte> data = counting_bytes(3000000);
  const std::vector<RefEntry> entries = {{"Foo.mlpackage/Data/weight.bin", data, true},
                                         {"Foo.mlpackage/", {}, false},
                                         {"Foo.mlpackage/Manifest.json", bytes_of("{}"), false}};
  write_with_libzip(path("libzip.zip"), entries);
  {
    ZipWriter writer(path("ours.zip"));
    ByteSink& sink = writer.begin_stored(entries[0].name, 64);
    std::vector<std::byte> head(64, std::byte{0xAA});
    sink.write_at(0, std::span(head).first(20));
    sink.write_at(20, std::span(head).subspan(20));
    size_t done = 64;
    for (size_t piece = 7; done < data.size(); piece = piece * 3 + 1) {
      const size_t n = std::min(piece, data.size() - done);
      sink.write_at(done, std::span(data).subspan(done, n));
      sink.write_at(0, head);  // stale head bytes, overwritten below
      done += n;
    }
    sink.write_at(0, std::span(data).first(64));
    writer.finish_stored();
    writer.add_directory(entries[1].name);
    writer.add_bytes(entries[2].name, entries[2].data, false);
    writer.close();
  }
  EXPECT_TRUE(read_file(path("ours.zip")) == read_file(path("libzip.zip")));
}

TEST_F(ZipWriterTest, Zip64RecordsReadBack) {
  // With the ZIP64 thresholds lowered, every record kind is written: a streamed entry whose
  // data moves up for its local ZIP64 extra, stored and deflated entries past the size limit,
  // offsets past it, and the ZIP64 end records for the entry count.
  const std::vector<std::byte> streamed = counting_bytes(5000);
  const std::vector<std::byte> stored = counting_bytes(3000);
  const std::vector<std::byte> small = bytes_of("small");
  const std::string zip = path("zip64.zip");
  {
    ZipWriter writer(zip);
    writer.set_zip64_threshold_for_testing(1000, 3);
    ByteSink& sink = writer.begin_stored("Foo.mlpackage/Data/weight.bin", 64);
    sink.write_at(0, std::span(streamed).first(10));
    sink.write_at(10, std::span(streamed).subspan(10));
    writer.finish_stored();
    writer.add_directory("Foo.mlpackage/");
    writer.add_bytes("Foo.mlpackage/stored.bin", stored, true);
    writer.add_bytes("Foo.mlpackage/deflated.bin", stored, false);
    writer.add_bytes("Foo.mlpackage/small.txt", small, false);
    writer.close();
  }
  ZipReader reader(zip);
  ASSERT_EQ(reader.entries().size(), 5u);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/weight.bin")), streamed);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/stored.bin")), stored);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/deflated.bin")), stored);
  EXPECT_EQ(reader.read_entry("Foo.mlpackage/small.txt", 100), small);
  // libzip itself checks the CRCs when it reads every entry through.
  int code = 0;
  zip_t* archive = zip_open(zip.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  ASSERT_NE(archive, nullptr) << code;
  for (zip_int64_t i = 0; i < zip_get_num_entries(archive, 0); ++i) {
    zip_file_t* file = zip_fopen_index(archive, zip_uint64_t(i), 0);
    ASSERT_NE(file, nullptr);
    std::vector<char> buffer(10000);
    while (zip_fread(file, buffer.data(), buffer.size()) > 0) {
    }
    EXPECT_EQ(zip_fclose(file), 0) << "entry " << i;
  }
  zip_discard(archive);
}

TEST_F(ZipWriterTest, MissingDirectoryIsReportedAtOnce) {
  const std::string zip = path("no-such-dir/out.zip");
  try {
    ZipWriter writer(zip);
    ADD_FAILURE() << "writer created";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              zip + ": cannot create: " + path("no-such-dir") + " is not a directory");
  }
}

}  // namespace
}  // namespace mlpress
