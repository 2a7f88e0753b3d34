// A mapped input cut short by another process while it is read: the recorded mapping turns the
// SIGBUS into the CLI's error (the file's name, the offset, exit status 1) instead of a crash,
// and the noted temporary outputs are removed. The fault is real: a file is mapped, truncated,
// and read past its new end in a child process (a gtest death test), with the handler the CLI
// installs.
#include "core/io/mapped_file_faults.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/temporary_outputs.h"
#include "tests/core/temp_dir_test.h"

namespace mlpress {
namespace {

class MappedFileFaultsTest : public testing_support::TempDirTest {
 protected:
  MappedFileFaultsTest() : TempDirTest("mapped_faults_") {}

  std::string write_file(size_t n) {
    const std::string path = (dir_ / "weight.bin").string();
    std::vector<char> bytes(n, 'w');
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(n));
    return path;
  }
};

TEST_F(MappedFileFaultsTest, AFaultIsDescribedOnlyInsideALiveMapping) {
  const std::string path = write_file(size_t(256) << 10);
  FileSource source(path);
  char message[1024];
  const std::byte* inside = nullptr;
  {
    const auto mapped = source.map_range(8192, size_t(128) << 10);
    ASSERT_NE(mapped, nullptr) << "native builds map ranges of 64 KiB and up";
    inside = mapped->bytes().data() + 1000;
    ASSERT_TRUE(describe_mapped_fault(inside, message, sizeof message));
    const std::string text = message;
    EXPECT_NE(text.find(path), std::string::npos) << text;
    EXPECT_NE(text.find("cut short"), std::string::npos) << text;
    EXPECT_NE(text.find("offset 9192"), std::string::npos) << text;  // 8192 + 1000 into the file
    const int local = 0;
    EXPECT_FALSE(describe_mapped_fault(&local, message, sizeof message));
    // A short buffer still ends in a NUL.
    char tiny[8];
    ASSERT_TRUE(describe_mapped_fault(inside, tiny, sizeof tiny));
    EXPECT_EQ(std::strlen(tiny), sizeof tiny - 1);
  }
  EXPECT_FALSE(describe_mapped_fault(inside, message, sizeof message)) << "unmapped, forgotten";
}

// A staging folder as PackageWriter makes one: nested folders and files.
std::filesystem::path make_tree(const std::filesystem::path& root) {
  std::filesystem::create_directories(root / "Data" / "com.apple.CoreML" / "weights");
  for (int i = 0; i < 40; ++i) {
    std::ofstream(root / ("file" + std::to_string(i))) << "x";
  }
  std::ofstream(root / "Data" / "com.apple.CoreML" / "weights" / "weight.bin") << "w";
  return root;
}

TEST_F(MappedFileFaultsTest, NotedTemporaryOutputsAreRemovedUntilForgotten) {
  const auto noted = make_tree(dir_ / ".out.mlpackage.mlpress-1");
  const auto forgotten = make_tree(dir_ / ".out.mlpackage.mlpress-2");
  const auto file = dir_ / ".out.zip.part-3";
  std::ofstream(file) << "zip";
  {
    TemporaryOutputNote a(noted.string());
    TemporaryOutputNote b(forgotten.string());
    TemporaryOutputNote c(file.string());
    TemporaryOutputNote moved = std::move(c);
    b.forget();
    remove_noted_temporary_outputs();
  }
  EXPECT_FALSE(std::filesystem::exists(noted));
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_TRUE(std::filesystem::exists(forgotten / "Data" / "com.apple.CoreML" / "weights"));
  // Gone from the notes with their objects: nothing more is removed.
  const auto later = make_tree(dir_ / ".out.mlpackage.mlpress-1");
  remove_noted_temporary_outputs();
  EXPECT_TRUE(std::filesystem::exists(later / "file0"));
}

TEST_F(MappedFileFaultsTest, ReadingPastATruncationExitsWithTheError) {
  // Forked at this point (no threads run here), so the child sees the same folder as the test.
  GTEST_FLAG_SET(death_test_style, "fast");
  const std::string path = write_file(size_t(256) << 10);
  const auto staging = make_tree(dir_ / ".out.mlpackage.mlpress-4");
  EXPECT_EXIT(
      {
        TemporaryOutputNote note(staging.string());
        install_mapped_file_fault_handler();
        FileSource source(path);
        const auto mapped = source.map_range(0, size_t(256) << 10);
        if (!mapped || truncate(path.c_str(), 4096) != 0) _exit(3);
        volatile const std::byte* p = mapped->bytes().data();
        const std::byte b = p[200000];  // past the new end: SIGBUS
        _exit(int(b) == 0 ? 4 : 5);
      },
      testing::ExitedWithCode(1), "weight\\.bin: the file was cut short.*offset 200000");
  EXPECT_FALSE(std::filesystem::exists(staging)) << "the handler removes noted outputs";
}

}  // namespace
}  // namespace mlpress
