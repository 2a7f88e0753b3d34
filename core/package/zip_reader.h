#pragma once
// Reads zip archives as people actually upload them (shared/spec/FORMAT.md §1.5): stored and
// deflated entries, ZIP64, directory entries; macOS junk (__MACOSX/, ._*, .DS_Store) hidden.
// Every entry name is checked on open: names with "..", absolute paths, backslashes, duplicate
// names, encrypted entries, compression other than stored/deflate and declared sizes beyond
// ZipLimits are refused with an Error naming the entry.
// A reader and the sources it hands out share one libzip handle: use them from one thread.
// Sources stay valid after the reader is destroyed.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io/byte_source.h"

namespace mlpress {

struct ZipLimits {
  uint64_t max_entry_size = uint64_t{64} << 30;   // declared uncompressed size of one entry
  uint64_t max_total_size = uint64_t{256} << 30;  // sum over all entries
  uint64_t max_entries = 100000;
};

struct ZipEntryInfo {
  std::string name;  // as stored, '/'-separated
  uint64_t index = 0;
  uint64_t size = 0;  // declared uncompressed size
  uint64_t compressed_size = 0;
  uint32_t crc = 0;  // CRC-32 of the uncompressed data, from the central directory
  bool is_directory = false;
  bool is_stored = false;  // method 0: random access without inflating
};

class ZipReader {
 public:
  // Opens `path`; throws mlpress::Error ("<path>: not a zip archive", "... truncated", entry
  // errors as above).
  explicit ZipReader(const std::string& path, const ZipLimits& limits = {});
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  // All entries except macOS junk, in archive order.
  const std::vector<ZipEntryInfo>& entries() const { return entries_; }
  const ZipEntryInfo* find(const std::string& name) const;

  // Random-access view of an entry. Stored entries are read in place (plain file reads at the
  // data's offset; no CRC-32 is computed on the way); deflated ones through an
  // InflatingSource (no inflated copy anywhere; memory bounded whatever the entry's size),
  // which checks the declared size and the CRC on opening (entries up to 1 MiB) or when a read
  // reaches the end; a mismatch or damaged stream throws naming the archive and the entry.
  // Random reads of stored entries cannot check the CRC (read_entry() does). Stored entries read
  // in place also map (ByteSource::map_range: natively, large ranges come from the page cache).
  std::unique_ptr<ByteSource> open_entry(const std::string& name);

  // Whole entry into memory, CRC checked; refuses entries larger than `max_bytes`.
  std::vector<std::byte> read_entry(const std::string& name, uint64_t max_bytes);

  const std::string& path() const { return path_; }

  // For tests: whether open_entry(name) reads the entry's bytes straight from the archive file
  // (stored data, or a deflated entry's raw stream, at the offset its local header gives) rather
  // than through libzip, which it falls back to where the records do not parse as expected.
  bool reads_in_place(const std::string& name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  std::vector<ZipEntryInfo> entries_;
};

}  // namespace mlpress
