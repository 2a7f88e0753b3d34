#pragma once
// Random-access input and output interfaces. Native files, zip entries, in-memory buffers and
// browser files mounted in a worker all look the same to the core through these.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/io/file_mapping.h"

namespace mlpress {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Fills `dst` from `offset`; throws mlpress::Error (naming describe()) when the range is not
  // inside the source or the read fails.
  virtual void read_at(uint64_t offset, std::span<std::byte> dst) = 0;
  // [offset, offset + length) as read-only memory without a copy, when the source can map it
  // (native files and the stored zip entries read in place, ranges of kMinMappedBytes and up);
  // nullptr otherwise, and the caller reads the range with read_at. Throws as read_at does when
  // the range is not inside the source.
  virtual std::unique_ptr<MappedBytes> map_range(uint64_t offset, uint64_t length);
  // Human-readable origin, e.g. "model.zip:Foo.mlpackage/Data/.../weight.bin".
  virtual std::string describe() const = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write_at(uint64_t offset, std::span<const std::byte> src) = 0;
  virtual std::string describe() const = 0;
};

// Reads the whole source; for small entries only (Manifest.json, model.mlmodel).
std::vector<std::byte> read_all(ByteSource& source);

// Checks that [offset, offset + length) lies inside `source`, else throws naming `what`.
void require_range(const ByteSource& source, uint64_t offset, uint64_t length,
                   const std::string& what);

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::vector<std::byte> bytes, std::string name);
  uint64_t size() const override { return bytes_.size(); }
  void read_at(uint64_t offset, std::span<std::byte> dst) override;
  std::string describe() const override { return name_; }

 private:
  std::vector<std::byte> bytes_;
  std::string name_;
};

class MemorySink final : public ByteSink {
 public:
  explicit MemorySink(std::string name) : name_(std::move(name)) {}
  void write_at(uint64_t offset, std::span<const std::byte> src) override;
  std::string describe() const override { return name_; }
  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
  std::string name_;
};

// A file on the native (or Emscripten virtual) file system.
class FileSource final : public ByteSource {
 public:
  explicit FileSource(const std::string& path);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  uint64_t size() const override { return size_; }
  void read_at(uint64_t offset, std::span<std::byte> dst) override;
  // Maps the range (file_mapping.h): in native builds the bytes come straight from the page cache.
  std::unique_ptr<MappedBytes> map_range(uint64_t offset, uint64_t length) override;
  std::string describe() const override { return path_; }

 private:
  // Reads [offset, offset + dst.size()) with positioned reads; throws on a short read.
  void read_exact(uint64_t offset, std::span<std::byte> dst);

  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  // Small reads (a blob's 64-byte header, then its few KiB of data, weight after weight) are
  // served from a window read ahead: one read call instead of a seek and a read for each, which
  // in wasm are calls out to JavaScript.
  std::vector<std::byte> window_;
  uint64_t window_offset_ = 0;
  size_t window_size_ = 0;
};

class FileSink final : public ByteSink {
 public:
  // Creates (truncates) `path`.
  explicit FileSink(const std::string& path);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write_at(uint64_t offset, std::span<const std::byte> src) override;
  std::string describe() const override { return path_; }
  // Flushes and closes; throws if the data could not be written completely.
  void close();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<char[]> file_buffer_;  // file_'s stdio buffer, until it is closed
  uint64_t position_ = 0;                // the stream's offset after the last write
  // Where the bytes that may still sit in stdio's buffer begin (they end at position_); moved
  // by every seek and flush.
  uint64_t buffered_from_ = 0;
};

}  // namespace mlpress
