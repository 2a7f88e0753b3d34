#include "core/io/file_mapping.h"

#ifndef __EMSCRIPTEN__
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <limits>

#include "core/io/mapped_file_faults.h"

namespace mlpress {

#ifndef __EMSCRIPTEN__
namespace {

class FileRangeMapping final : public MappedBytes {
 public:
  FileRangeMapping(void* base, size_t mapped_length, size_t skip, size_t length,
                   std::string_view name, uint64_t file_offset)
      : base_(base),
        mapped_length_(mapped_length),
        skip_(skip),
        length_(length),
        noted_(note_mapped_range(base_, mapped_length_, name, file_offset)) {}
  ~FileRangeMapping() override {
    forget_mapped_range(noted_);
    munmap(base_, mapped_length_);
  }
  FileRangeMapping(const FileRangeMapping&) = delete;
  FileRangeMapping& operator=(const FileRangeMapping&) = delete;

  std::span<const std::byte> bytes() const override {
    return {static_cast<const std::byte*>(base_) + skip_, length_};
  }

 private:
  void* base_;
  size_t mapped_length_;
  size_t skip_;  // from the page boundary the mapping starts at to the range's first byte
  size_t length_;
  int noted_;  // mapped_file_faults.h's record of the mapping
};

}  // namespace

std::unique_ptr<MappedBytes> map_file_range(int fd, uint64_t offset, uint64_t length,
                                            std::string_view name) {
  if (fd < 0 || length < kMinMappedBytes) return nullptr;
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return nullptr;
  // mmap starts at a page boundary of the file; the range begins `skip` bytes into that page.
  const uint64_t skip = offset % uint64_t(page);
  const uint64_t start = offset - skip;
  if (length > std::numeric_limits<size_t>::max() - skip ||
      start > uint64_t(std::numeric_limits<off_t>::max())) {
    return nullptr;
  }
  const size_t mapped_length = size_t(skip + length);
  void* base = mmap(nullptr, mapped_length, PROT_READ, MAP_PRIVATE, fd, off_t(start));
  if (base == MAP_FAILED) return nullptr;
  return std::make_unique<FileRangeMapping>(base, mapped_length, size_t(skip), size_t(length), name,
                                            start);
}

#else

std::unique_ptr<MappedBytes> map_file_range(int, uint64_t, uint64_t, std::string_view) {
  return nullptr;
}

#endif

}  // namespace mlpress
