// ZipWriter: archives it writes read back byte for byte, stored entries lie uncompressed in the
// file, and a writer that is not closed (or fails to close) leaves no file behind.
#include "core/package/zip_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "core/package/zip_reader.h"

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

class ZipWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(testing::TempDir()) /
           ("mlpress_zip_writer_" + std::string(info->name()) + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& item : fs::directory_iterator(dir_)) {
      names.push_back(item.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
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

TEST_F(ZipWriterTest, FailedCloseNamesThePathAndLeavesNoFile) {
  const std::string source = path("weight.bin");
  write_file(source, counting_bytes(1000));
  const std::string zip = path("failed.zip");
  ZipWriter writer(zip);
  writer.add_bytes("Foo.mlpackage/Manifest.json", bytes_of("{}"), false);
  writer.add_file("Foo.mlpackage/Data/weight.bin", source, true);
  fs::remove(source);
  try {
    writer.close();
    ADD_FAILURE() << "close succeeded without its source file";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(zip + ": cannot write zip archive: ", 0), 0u) << e.what();
  }
  EXPECT_TRUE(files_in_dir().empty());
  try {
    writer.close();
    ADD_FAILURE() << "second close succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), zip + ": archive was discarded after an earlier failure");
  }
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
