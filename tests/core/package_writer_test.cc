// PackageWriter: files opened with open_file while the package is made land in the output as
// written — for a zip, the first one streamed into the archive (first entry, stored), later ones
// staged, even while the first is still open — and nothing is left behind when it is not
// committed.
#include "core/package/package_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/package/zip_reader.h"
#include "tests/core/temp_dir_test.h"

namespace mlpress {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> pattern(size_t size, uint8_t seed) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(uint8_t(i * 13 + seed));
  return bytes;
}

std::vector<std::byte> read_file(const fs::path& path) {
  FileSource source(path.string());
  return read_all(source);
}

class PackageWriterTest : public testing_support::TempDirTest {
 protected:
  PackageWriterTest() : TempDirTest("mlpress_package_writer_") {}

  // Two blob files written interleaved (the first with its head rewritten at the end, as
  // BlobWriter does), plus a staged Manifest.json.
  void write_package(PackageWriter& writer) {
    auto first = writer.open_file("Data/weights/weight.bin", 64);
    auto second = writer.open_file("Data/weights/other.bin", 64);
    first->write_at(0, std::vector<std::byte>(64));
    second->write_at(0, b_);
    first->write_at(64, std::span(a_).subspan(64));
    first->write_at(0, std::span(a_).first(64));
    second->close();
    first->close();
    FileSink manifest(writer.staged_path("Manifest.json"));
    manifest.write_at(0, m_);
    manifest.close();
  }

  std::vector<std::string> leftovers() const {
    std::vector<std::string> names;
    for (const auto& item : fs::directory_iterator(dir_)) {
      names.push_back(item.path().filename().string());
    }
    return names;
  }

  const std::vector<std::byte> a_ = pattern(200000, 1);
  const std::vector<std::byte> b_ = pattern(3000, 2);
  const std::vector<std::byte> m_ = pattern(10, 3);
};

TEST_F(PackageWriterTest, ZipStreamsTheFirstFileAndStagesTheOthers) {
  const fs::path out = dir_ / "Foo.mlpackage.zip";
  {
    PackageWriter writer(out.string());
    write_package(writer);
    writer.commit();
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{"Foo.mlpackage.zip"});
  ZipReader reader(out.string());
  std::vector<std::string> names;
  for (const ZipEntryInfo& entry : reader.entries()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "Foo.mlpackage/Data/weights/weight.bin", "Foo.mlpackage/",
                       "Foo.mlpackage/Data/", "Foo.mlpackage/Data/weights/",
                       "Foo.mlpackage/Manifest.json", "Foo.mlpackage/Data/weights/other.bin"}));
  EXPECT_TRUE(reader.find("Foo.mlpackage/Data/weights/weight.bin")->is_stored);
  EXPECT_TRUE(reader.find("Foo.mlpackage/Data/weights/other.bin")->is_stored);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/weights/weight.bin")), a_);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/weights/other.bin")), b_);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Manifest.json")), m_);
}

TEST_F(PackageWriterTest, FolderGetsEveryFile) {
  const fs::path out = dir_ / "Foo.mlpackage";
  {
    PackageWriter writer(out.string());
    write_package(writer);
    writer.commit();
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{"Foo.mlpackage"});
  EXPECT_EQ(read_file(out / "Data/weights/weight.bin"), a_);
  EXPECT_EQ(read_file(out / "Data/weights/other.bin"), b_);
  EXPECT_EQ(read_file(out / "Manifest.json"), m_);
}

TEST_F(PackageWriterTest, UncommittedZipLeavesNothingAndKeepsTheOldOutput) {
  const fs::path out = dir_ / "Foo.mlpackage.zip";
  { std::ofstream(out) << "old"; }
  {
    PackageWriter writer(out.string());
    write_package(writer);
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{"Foo.mlpackage.zip"});
  EXPECT_EQ(fs::file_size(out), 3u);
}

// put_file and copy_file: for a zip they go into the archive at commit, with no temporary folder
// at any time (only the archive being written sits beside the output); the copy is read at
// commit, in pieces larger and smaller than one; the folders of every file and the added empty
// folder become folder entries, in the order the staged ones had.
TEST_F(PackageWriterTest, ZipTakesWholeAndCopiedFilesWithoutAFolder) {
  const fs::path out = dir_ / "Foo.mlpackage.zip";
  const std::vector<std::byte> big = pattern(3 * 1024 * 1024 + 5, 4);
  bool opened = false;
  {
    PackageWriter writer(out.string());
    auto weights = writer.open_file("Data/w/weight.bin", 64);
    weights->write_at(0, a_);
    weights->close();
    writer.put_file("Data/m/model.mlmodel", std::string(1000, 'x'));
    writer.copy_file("Data/extra/big.bin", [&] {
      opened = true;
      return std::make_unique<MemorySource>(big, "big");
    });
    writer.put_file("Manifest.json", "{}");
    writer.add_directory("Data/empty/");
    EXPECT_FALSE(opened);  // read only at commit
    for (const auto& item : fs::directory_iterator(dir_)) {
      EXPECT_FALSE(item.is_directory()) << item.path();
    }
    writer.commit();
  }
  EXPECT_TRUE(opened);
  EXPECT_EQ(leftovers(), std::vector<std::string>{"Foo.mlpackage.zip"});
  ZipReader reader(out.string());
  std::vector<std::string> names;
  for (const ZipEntryInfo& entry : reader.entries()) names.push_back(entry.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "Foo.mlpackage/Data/w/weight.bin", "Foo.mlpackage/", "Foo.mlpackage/Data/",
                "Foo.mlpackage/Data/empty/", "Foo.mlpackage/Data/extra/", "Foo.mlpackage/Data/m/",
                "Foo.mlpackage/Data/w/", "Foo.mlpackage/Manifest.json",
                "Foo.mlpackage/Data/extra/big.bin", "Foo.mlpackage/Data/m/model.mlmodel"}));
  EXPECT_TRUE(reader.find("Foo.mlpackage/Data/extra/big.bin")->is_stored);
  EXPECT_FALSE(reader.find("Foo.mlpackage/Data/m/model.mlmodel")->is_stored);
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/extra/big.bin")), big);
  const std::string text(1000, 'x');
  EXPECT_EQ(read_all(*reader.open_entry("Foo.mlpackage/Data/m/model.mlmodel")),
            std::vector<std::byte>(reinterpret_cast<const std::byte*>(text.data()),
                                   reinterpret_cast<const std::byte*>(text.data()) + text.size()));
}

TEST_F(PackageWriterTest, FolderTakesWholeAndCopiedFiles) {
  const fs::path out = dir_ / "Foo.mlpackage";
  {
    PackageWriter writer(out.string());
    writer.put_file("Data/m/model.mlmodel", "abc");
    writer.copy_file("Data/extra/b.bin", [&] { return std::make_unique<MemorySource>(b_, "b"); });
    writer.add_directory("Data/empty/");
    writer.commit();
  }
  EXPECT_EQ(leftovers(), std::vector<std::string>{"Foo.mlpackage"});
  EXPECT_EQ(read_file(out / "Data/extra/b.bin"), b_);
  EXPECT_EQ(fs::file_size(out / "Data/m/model.mlmodel"), 3u);
  EXPECT_TRUE(fs::is_directory(out / "Data/empty"));
}

}  // namespace
}  // namespace mlpress
