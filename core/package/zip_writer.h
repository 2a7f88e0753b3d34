#pragma once
// Writes a new zip archive. Entries are streamed by libzip when close() runs, so a large
// weight.bin is added by path and never held in memory. ZIP64 is used where sizes need it.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace mlpress {

class ZipWriter {
 public:
  // Creates `path` (truncating an existing file).
  explicit ZipWriter(const std::string& path);
  // Discards an archive that was not closed (no half-written file is left behind).
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  void add_directory(const std::string& name);  // name ends in '/'
  // `store` = true writes the entry uncompressed (weight.bin: random access for readers).
  void add_file(const std::string& entry_name, const std::string& source_path, bool store);
  void add_bytes(const std::string& entry_name, std::vector<std::byte> data, bool store);

  // Writes the archive; throws mlpress::Error naming the path on failure.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace mlpress
