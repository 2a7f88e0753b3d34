// A mapped input cut short by another process while it is read: the recorded mapping turns the
// SIGBUS into the CLI's error (the file's name, the offset, exit status 1) instead of a crash.
// The fault is real: a file is mapped, truncated, and read past its new end in a child process
// (a gtest death test), with the handler the CLI installs.
#include "core/io/mapped_file_faults.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
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

TEST_F(MappedFileFaultsTest, ReadingPastATruncationExitsWithTheError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string path = write_file(size_t(256) << 10);
  EXPECT_EXIT(
      {
        install_mapped_file_fault_handler();
        FileSource source(path);
        const auto mapped = source.map_range(0, size_t(256) << 10);
        if (!mapped || truncate(path.c_str(), 4096) != 0) _exit(3);
        volatile const std::byte* p = mapped->bytes().data();
        const std::byte b = p[200000];  // past the new end: SIGBUS
        _exit(int(b) == 0 ? 4 : 5);
      },
      testing::ExitedWithCode(1), "weight\\.bin: the file was cut short.*offset 200000");
}

}  // namespace
}  // namespace mlpress
