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
  // Creates `path`; an existing file is replaced when close() succeeds, not before.
  explicit ZipWriter(const std::string& path);
  // Discards an archive that was not closed: no file is written (an existing one is left as it
  // was), so no half-written file is left behind.
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  void add_directory(const std::string& name);  // name ends in '/'
  // `store` = true writes the entry uncompressed (weight.bin: random access for readers).
  // The file is read only by close(), so it must stay in place and unchanged until then.
  void add_file(const std::string& entry_name, const std::string& source_path, bool store);
  void add_bytes(const std::string& entry_name, std::vector<std::byte> data, bool store);

  // Writes the archive; throws mlpress::Error naming the path on failure, after which the
  // archive is discarded. Calling close() again after success does nothing. An archive without
  // entries is written as a valid empty zip.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace mlpress
