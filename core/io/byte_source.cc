#include "core/io/byte_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/io/error.h"
#include "core/io/stdio_buffer.h"

namespace mlpress {

std::vector<std::byte> read_all(ByteSource& source) {
  std::vector<std::byte> bytes(source.size());
  source.read_at(0, bytes);
  return bytes;
}

void require_range(const ByteSource& source, uint64_t offset, uint64_t length,
                   const std::string& what) {
  const uint64_t size = source.size();
  if (offset > size || length > size - offset) {
    throw Error(source.describe() + ": " + what + " at offset " + std::to_string(offset) +
                " with length " + std::to_string(length) + " lies outside the " +
                std::to_string(size) + "-byte file");
  }
}

std::unique_ptr<MappedBytes> ByteSource::map_range(uint64_t offset, uint64_t length) {
  require_range(*this, offset, length, "read");
  return nullptr;
}

MemorySource::MemorySource(std::vector<std::byte> bytes, std::string name)
    : bytes_(std::move(bytes)), name_(std::move(name)) {}

void MemorySource::read_at(uint64_t offset, std::span<std::byte> dst) {
  require_range(*this, offset, dst.size(), "read");
  // memcpy must not see the null data() of an empty span or vector, even for 0 bytes.
  if (!dst.empty()) std::memcpy(dst.data(), bytes_.data() + offset, dst.size());
}

void MemorySink::write_at(uint64_t offset, std::span<const std::byte> src) {
  if (bytes_.size() < offset + src.size()) bytes_.resize(offset + src.size());
  if (!src.empty()) std::memcpy(bytes_.data() + offset, src.data(), src.size());
}

namespace {
// FileSource's read-ahead window; reads longer than a quarter of it go straight to the caller.
constexpr size_t kReadAheadBytes = size_t(256) << 10;

std::string errno_text() { return std::strerror(errno); }

void seek_or_throw(std::FILE* file, uint64_t offset, const std::string& path) {
  if (fseeko(file, static_cast<off_t>(offset), SEEK_SET) != 0) {
    throw Error(path + ": cannot seek to offset " + std::to_string(offset) + ": " + errno_text());
  }
}
}  // namespace

FileSource::FileSource(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) throw Error(path + ": cannot open for reading: " + errno_text());
  if (fseeko(file_, 0, SEEK_END) != 0) throw Error(path + ": cannot seek: " + errno_text());
  size_ = static_cast<uint64_t>(ftello(file_));
}

FileSource::~FileSource() {
  if (file_) std::fclose(file_);
}

void FileSource::read_at(uint64_t offset, std::span<std::byte> dst) {
  require_range(*this, offset, dst.size(), "read");
  if (dst.empty()) return;
  if (offset >= window_offset_ && offset - window_offset_ <= window_size_ &&
      dst.size() <= window_size_ - (offset - window_offset_)) {
    std::memcpy(dst.data(), window_.data() + (offset - window_offset_), dst.size());
    return;
  }
  if (dst.size() > kReadAheadBytes / 4) {
    read_exact(offset, dst);
    return;
  }
  window_.resize(kReadAheadBytes);
  window_size_ = 0;
  const size_t n = size_t(std::min<uint64_t>(kReadAheadBytes, size_ - offset));
  read_exact(offset, std::span(window_).first(n));
  window_offset_ = offset;
  window_size_ = n;
  std::memcpy(dst.data(), window_.data(), dst.size());
}

void FileSource::read_exact(uint64_t offset, std::span<std::byte> dst) {
  size_t done = 0;
  while (done < dst.size()) {
    const ssize_t n = pread(fileno(file_), dst.data() + done, dst.size() - done,
                            static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw Error(path_ + ": cannot read " + std::to_string(dst.size()) + " bytes at offset " +
                  std::to_string(offset) + ": " + errno_text());
    }
    if (n == 0) {
      throw Error(path_ + ": short read of " + std::to_string(dst.size()) + " bytes at offset " +
                  std::to_string(offset));
    }
    done += size_t(n);
  }
}

std::unique_ptr<MappedBytes> FileSource::map_range(uint64_t offset, uint64_t length) {
  require_range(*this, offset, length, "read");
  return map_file_range(fileno(file_), offset, length, path_);
}

FileSink::FileSink(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb+");
  if (!file_) throw Error(path + ": cannot open for writing: " + errno_text());
  file_buffer_ = attach_stdio_buffer(file_);
}

FileSink::~FileSink() {
  if (file_) std::fclose(file_);
}

void FileSink::write_at(uint64_t offset, std::span<const std::byte> src) {
  if (!file_) throw Error(path_ + ": write after close");
  constexpr uint64_t kUnknown = ~uint64_t{0};
  if (position_ != kUnknown && offset < position_ && src.size() <= position_ - offset) {
    // A rewrite of bytes already written (the blob count in the header, after every blob):
    // pwrite leaves stdio's offset and buffer alone, so the appends that follow need no seek and
    // the buffer no flush. Only bytes that may still sit in that buffer are flushed first.
    if (offset + src.size() > buffered_from_) {
      if (std::fflush(file_) != 0) throw Error(path_ + ": cannot write: " + errno_text());
      buffered_from_ = position_;
    }
    size_t done = 0;
    while (done < src.size()) {
      const ssize_t n = pwrite(fileno(file_), src.data() + done, src.size() - done,
                               static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        throw Error(path_ + ": cannot write " + std::to_string(src.size()) + " bytes at offset " +
                    std::to_string(offset) + ": " + errno_text());
      }
      done += size_t(n);
    }
    return;
  }
  // A seek makes stdio flush its buffer, so appends (almost every write) skip it.
  if (offset != position_) {
    seek_or_throw(file_, offset, path_);
    buffered_from_ = offset;
  }
  position_ = kUnknown;  // unknown until the write has succeeded
  if (std::fwrite(src.data(), 1, src.size(), file_) != src.size()) {
    throw Error(path_ + ": cannot write " + std::to_string(src.size()) + " bytes at offset " +
                std::to_string(offset) + ": " + errno_text());
  }
  position_ = offset + src.size();
}

void FileSink::close() {
  if (!file_) return;
  const bool ok = std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) throw Error(path_ + ": cannot finish writing: " + errno_text());
}

}  // namespace mlpress
