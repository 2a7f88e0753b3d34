#pragma once
// Read-only memory views of file ranges (mmap), for reading a weight's bytes straight from the
// page cache instead of copying them into a buffer. Native builds only: in wasm, mmap would be
// emulated by a copy of the range into the heap (and WORKERFS files cannot be mapped at all),
// so there map_file_range always declines and readers fall back to ByteSource::read_at.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace mlpress {

// A view that stays valid while this object lives, independent of the source or file
// descriptor it came from (the mapping holds its own reference to the file).
class MappedBytes {
 public:
  virtual ~MappedBytes() = default;
  virtual std::span<const std::byte> bytes() const = 0;
};

// Below this many bytes a copy costs less than a mapping's system calls and page faults.
inline constexpr uint64_t kMinMappedBytes = uint64_t{64} << 10;

// Maps [offset, offset + length) of the open file `fd` read-only and private (the file can never
// be written through it). Returns nullptr when the range is shorter than kMinMappedBytes, when
// mmap is unavailable (wasm) or when it fails; the caller then reads the range instead. The
// caller has checked that the range lies inside the file; a file cut short after that faults on
// access rather than failing a read, which is why only files this process opened as inputs
// (never written while being read) are mapped, and why each mapping is recorded under `name`
// (mapped_file_faults.h): the CLI's SIGBUS handler then names the file and exits.
std::unique_ptr<MappedBytes> map_file_range(int fd, uint64_t offset, uint64_t length,
                                            std::string_view name);

}  // namespace mlpress
