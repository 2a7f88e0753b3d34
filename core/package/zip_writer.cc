#include "core/package/zip_writer.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "core/io/error.h"
#include "core/io/stdio_buffer.h"
#include "core/io/temp_name.h"
#include "core/io/temporary_outputs.h"
#include "core/package/crc32.h"
#include "core/package/zip_records.h"

namespace mlpress {

namespace {

namespace fs = std::filesystem;

using namespace zip_records;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kMadeBy = (3 << 8) | 63;  // Unix, spec 6.3 (as libzip writes it)
constexpr uint16_t kNeedStored = 10;
constexpr uint16_t kNeedDeflatedOrDirectory = 20;
constexpr uint16_t kNeedZip64 = 45;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflated = 8;
constexpr uint16_t kFlagUtf8Name = 1 << 11;
// Every entry gets the same timestamp and Unix mode (see the header).
constexpr uint16_t kDosTime = 0;                        // 00:00:00
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
constexpr uint32_t kFileMode = 0100644;
constexpr uint32_t kDirMode = 040755;
// zlib's default level (general purpose flags 0, "normal"). Level 9 took 2.3 times as long on a
// 192 KB model.mlmodel for a 4% smaller entry (11,195 against 11,711 bytes), and the model is the
// one entry deflated; weight.bin is stored.
constexpr int kDeflateLevel = 6;
constexpr int kDeflateMemLevel = 9;  // libzip's MAX_MEM_LEVEL
constexpr size_t kChunk = size_t(1) << 20;
constexpr uint64_t kRecordLimit = kZip64Marker;  // 32-bit fields: this value and up go to ZIP64
constexpr uint64_t kCountLimit = 0xFFFF;

class Bytes {
 public:
  Bytes& u16(uint64_t v) { return put(v, 2); }
  Bytes& u32(uint64_t v) { return put(v, 4); }
  Bytes& u64(uint64_t v) { return put(v, 8); }
  Bytes& text(const std::string& s) {
    for (char c : s) data_.push_back(std::byte(uint8_t(c)));
    return *this;
  }
  Bytes& append(const Bytes& other) {
    data_.insert(data_.end(), other.data_.begin(), other.data_.end());
    return *this;
  }
  std::span<const std::byte> span() const { return data_; }
  size_t size() const { return data_.size(); }

 private:
  Bytes& put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) data_.push_back(std::byte(uint8_t(v >> (8 * i))));
    return *this;
  }
  std::vector<std::byte> data_;
};

std::string errno_text() { return std::strerror(errno); }

bool has_non_ascii(const std::string& name) {
  return std::any_of(name.begin(), name.end(), [](char c) { return uint8_t(c) >= 0x80; });
}

struct Entry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = kMethodStored;
  uint16_t need = kNeedStored;
  uint32_t crc = 0;
  uint64_t compressed = 0;
  uint64_t size = 0;
  uint64_t offset = 0;  // of the local header
  uint32_t mode = kFileMode;
  bool zip64_local = false;  // the local header carries a ZIP64 extra with both sizes
};

}  // namespace

struct ZipWriter::Impl {
  std::string path;
  std::string temp;
  std::FILE* file = nullptr;
  std::unique_ptr<char[]> file_buffer;  // file's stdio buffer, until it is closed
  TemporaryOutputNote temp_note;        // temp, for the fault handler, until renamed or removed
  uint64_t end = 0;  // bytes written; the file position is kept here between writes
  std::vector<Entry> entries;
  std::set<std::string> names;
  bool closed = false;
  bool failed = false;
  uint64_t limit = kRecordLimit;
  uint64_t count_limit = kCountLimit;

  // The entry being streamed (begin_stored), its sink and CRC state.
  class StoredSink;
  std::unique_ptr<StoredSink> streaming;
  std::string streaming_name;

  ~Impl() { discard(); }

  void discard() {
    if (file) std::fclose(file);
    file = nullptr;
    if (!temp.empty()) {
      std::error_code ec;
      fs::remove(temp, ec);
      temp.clear();
      temp_note.forget();
    }
  }

  // Every failure discards the archive: later calls say so.
  [[noreturn]] void fail(const std::string& message) {
    failed = true;
    discard();
    throw Error(message);
  }

  void check_open() const {
    if (failed) throw Error(path + ": archive was discarded after an earlier failure");
    if (closed) throw Error(path + ": archive is already closed");
  }

  void check_can_add(const std::string& entry_name) const {
    check_open();
    if (streaming) {
      throw Error(path + ": cannot add entry '" + entry_name + "' while entry '" + streaming_name +
                  "' is being written");
    }
    if (names.count(entry_name)) {
      throw Error(path + ": cannot add entry '" + entry_name +
                  "': the archive already has an entry of that name");
    }
  }

  void append(std::span<const std::byte> bytes) {
    if (bytes.empty()) return;
    if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
      fail(path + ": cannot write zip archive: " + errno_text());
    }
    end += bytes.size();
  }

  void seek(uint64_t offset) {
    if (fseeko(file, off_t(offset), SEEK_SET) != 0) {
      fail(path + ": cannot write zip archive: seek failed: " + errno_text());
    }
  }

  void patch(uint64_t offset, std::span<const std::byte> bytes) {
    seek(offset);
    if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
      fail(path + ": cannot write zip archive: " + errno_text());
    }
    seek(end);
  }

  void read_back(uint64_t offset, std::span<std::byte> into) {
    seek(offset);
    if (std::fread(into.data(), 1, into.size(), file) != into.size()) {
      fail(path + ": cannot write zip archive: reading back failed: " + errno_text());
    }
  }

  Entry new_entry(const std::string& name, uint16_t method, uint32_t mode) const {
    Entry entry;
    entry.name = name;
    entry.method = method;
    entry.mode = mode;
    entry.offset = end;
    const bool directory = !name.empty() && name.back() == '/';
    entry.need = (method == kMethodDeflated || directory) ? kNeedDeflatedOrDirectory : kNeedStored;
    if (has_non_ascii(name)) entry.flags |= kFlagUtf8Name;
    return entry;
  }

  Bytes local_header(const Entry& entry) const {
    Bytes header;
    const bool z = entry.zip64_local;
    header.u32(kLocalHeaderSignature)
        .u16(z ? kNeedZip64 : entry.need)
        .u16(entry.flags)
        .u16(entry.method)
        .u16(kDosTime)
        .u16(kDosDate)
        .u32(entry.crc)
        .u32(z ? kZip64Marker : entry.compressed)
        .u32(z ? kZip64Marker : entry.size)
        .u16(entry.name.size())
        .u16(z ? 20 : 0)
        .text(entry.name);
    if (z) header.u16(kZip64ExtraId).u16(16).u64(entry.size).u64(entry.compressed);
    return header;
  }

  Bytes central_header(const Entry& entry) const {
    const bool big_size = entry.size >= limit;
    const bool big_compressed = entry.compressed >= limit;
    const bool big_offset = entry.offset >= limit;
    Bytes extra;
    if (big_size) extra.u64(entry.size);
    if (big_compressed) extra.u64(entry.compressed);
    if (big_offset) extra.u64(entry.offset);
    const bool zip64 = extra.size() > 0;
    Bytes header;
    header.u32(kCentralHeaderSignature)
        .u16(kMadeBy)
        .u16(zip64 ? kNeedZip64 : entry.need)
        .u16(entry.flags)
        .u16(entry.method)
        .u16(kDosTime)
        .u16(kDosDate)
        .u32(entry.crc)
        .u32(big_compressed ? kZip64Marker : entry.compressed)
        .u32(big_size ? kZip64Marker : entry.size)
        .u16(entry.name.size())
        .u16(zip64 ? extra.size() + 4 : 0)
        .u16(0)  // comment
        .u16(0)  // disk
        .u16(0)  // internal attributes
        .u32(uint32_t(entry.mode) << 16)
        .u32(big_offset ? kZip64Marker : entry.offset)
        .text(entry.name);
    if (zip64) header.u16(kZip64ExtraId).u16(extra.size()).append(extra);
    return header;
  }

  // Writes the entry's local header now and again once its data, CRC and sizes are known.
  void start_entry(Entry& entry) {
    if (entry.name.size() > 0xFFFF) fail(path + ": entry name too long: " + entry.name);
    entry.offset = end;
    append(local_header(entry).span());
  }

  void finish_entry(Entry&& entry) {
    if (!entry.zip64_local && (entry.size >= limit || entry.compressed >= limit)) {
      fail(path + ": entry '" + entry.name + "' grew past 4 GiB after its header was written");
    }
    patch(entry.offset, local_header(entry).span());
    names.insert(entry.name);
    entries.push_back(std::move(entry));
  }

  // Deflates (level 6, raw deflate, as libzip does at that level) what `next` hands out until it
  // returns an empty span, and writes it.
  template <typename Next>
  void deflate_entry(Entry& entry, Next&& next) {
    z_stream stream{};
    if (deflateInit2(&stream, kDeflateLevel, Z_DEFLATED, -MAX_WBITS, kDeflateMemLevel,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      fail(path + ": cannot start deflating entry '" + entry.name + "'");
    }
    struct End {
      z_stream* s;
      ~End() { deflateEnd(s); }
    } end_stream{&stream};
    std::vector<std::byte> out(kChunk);
    bool input_done = false;
    for (;;) {
      if (stream.avail_in == 0 && !input_done) {
        const std::span<const std::byte> in = next();
        input_done = in.empty();
        entry.crc = crc32_update(entry.crc, in);
        entry.size += in.size();
        stream.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
        stream.avail_in = uInt(in.size());
      }
      stream.next_out = reinterpret_cast<Bytef*>(out.data());
      stream.avail_out = uInt(out.size());
      const int result = deflate(&stream, input_done ? Z_FINISH : Z_NO_FLUSH);
      if (result != Z_OK && result != Z_STREAM_END && result != Z_BUF_ERROR) {
        fail(path + ": cannot deflate entry '" + entry.name + "'");
      }
      const size_t produced = out.size() - stream.avail_out;
      append(std::span(out).first(produced));
      entry.compressed += produced;
      if (result == Z_STREAM_END) break;
    }
  }

  template <typename Next>
  void add_data(const std::string& entry_name, bool store, uint64_t size, Next&& next) {
    Entry entry = new_entry(entry_name, store ? kMethodStored : kMethodDeflated, kFileMode);
    // Known sizes decide the local header's ZIP64 extra, as in libzip.
    entry.zip64_local = size >= limit;
    if (store) {
      entry.compressed = entry.size = size;
      start_entry(entry);
      uint64_t written = 0;
      for (std::span<const std::byte> in = next(); !in.empty(); in = next()) {
        entry.crc = crc32_update(entry.crc, in);
        append(in);
        written += in.size();
      }
      if (written != size) {
        fail(path + ": entry '" + entry_name + "' changed size while it was being added");
      }
    } else {
      start_entry(entry);
      deflate_entry(entry, next);
    }
    finish_entry(std::move(entry));
  }

  void write_end_records() {
    const uint64_t directory_offset = end;
    for (const Entry& entry : entries) append(central_header(entry).span());
    const uint64_t directory_size = end - directory_offset;
    const uint64_t count = entries.size();
    if (count >= count_limit || directory_size >= limit || directory_offset >= limit) {
      const uint64_t zip64_end = end;
      Bytes record;
      record.u32(kZip64EndSignature)
          .u64(44)  // size of the rest of this record
          .u16(kMadeBy)
          .u16(kNeedZip64)
          .u32(0)
          .u32(0)
          .u64(count)
          .u64(count)
          .u64(directory_size)
          .u64(directory_offset);
      record.u32(kZip64LocatorSignature).u32(0).u64(zip64_end).u32(1);
      append(record.span());
    }
    Bytes record;
    record.u32(kEndSignature)
        .u16(0)
        .u16(0)
        .u16(count >= count_limit ? kCountLimit : count)
        .u16(count >= count_limit ? kCountLimit : count)
        .u32(directory_size >= limit ? kZip64Marker : directory_size)
        .u32(directory_offset >= limit ? kZip64Marker : directory_offset)
        .u16(0);
    append(record.span());
  }
};

// Bytes at `end()` are appended (the CRC runs over all but the rewritable head); bytes inside the
// head may be written again; anything else is refused.
class ZipWriter::Impl::StoredSink final : public ByteSink {
 public:
  StoredSink(Impl& zip, Entry entry, uint64_t head_size)
      : zip_(zip),
        entry_(std::move(entry)),
        data_start_(entry_.offset + zip.local_header(entry_).size()),
        head_(size_t(head_size)) {}

  void write_at(uint64_t offset, std::span<const std::byte> src) override {
    zip_.check_open();
    if (offset == size_) {
      if (offset < head_.size()) {
        const size_t n = size_t(std::min<uint64_t>(src.size(), head_.size() - offset));
        std::memcpy(head_.data() + offset, src.data(), n);
        crc_ = crc32_update(crc_, src.subspan(n));
      } else {
        crc_ = crc32_update(crc_, src);
      }
      zip_.append(src);
      size_ += src.size();
    } else if (offset + src.size() <= std::min<uint64_t>(size_, head_.size())) {
      // The head goes to the file once, in finish(): a blob writer rewrites its header after
      // every blob, and a patch costs two seeks, each flushing stdio's buffer (in wasm, every
      // one a call out to JavaScript).
      std::memcpy(head_.data() + offset, src.data(), src.size());
      head_dirty_ = true;
    } else {
      zip_.fail(describe() + ": written out of order (" + std::to_string(src.size()) +
                " bytes at offset " + std::to_string(offset) + ", the entry has " +
                std::to_string(size_) + ")");
    }
  }

  std::string describe() const override { return zip_.path + ":" + entry_.name; }

  Entry finish() {
    const uint64_t head = std::min<uint64_t>(size_, head_.size());
    if (head_dirty_) zip_.patch(data_start_, std::span(head_).first(size_t(head)));
    head_dirty_ = false;
    const uint32_t head_crc = crc32_update(0, std::span(head_).first(size_t(head)));
    entry_.crc = crc32_combine_lengths(head_crc, crc_, size_ - head);
    entry_.size = entry_.compressed = size_;
    if (size_ >= zip_.limit) {
      // The header went out without the ZIP64 extra (the size was not known): move the data up
      // by the extra's 20 bytes, from the end backwards. Only archives over 4 GiB pay this.
      entry_.zip64_local = true;
      move_data_up(data_start_, 20);
    }
    return std::move(entry_);
  }

 private:
  void move_data_up(uint64_t data_start, uint64_t by) {
    std::vector<std::byte> buffer(std::min<uint64_t>(kChunk, std::max<uint64_t>(size_, 1)));
    for (uint64_t left = size_; left > 0;) {
      const uint64_t n = std::min<uint64_t>(left, buffer.size());
      left -= n;
      const std::span<std::byte> part(buffer.data(), size_t(n));
      zip_.read_back(data_start + left, part);
      zip_.patch(data_start + left + by, part);
    }
    zip_.end += by;
    zip_.seek(zip_.end);
  }

  Impl& zip_;
  Entry entry_;
  uint64_t data_start_;  // file offset of the entry's first byte
  std::vector<std::byte> head_;
  uint64_t size_ = 0;
  uint32_t crc_ = 0;         // of the bytes after the head
  bool head_dirty_ = false;  // head_ was rewritten since it was appended
};

ZipWriter::ZipWriter(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
  impl_->path = path;
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    throw Error(path + ": cannot create: " + parent.string() + " is not a directory");
  }
  const std::string temp = path + ".part-" + random_file_suffix();
  impl_->file = std::fopen(temp.c_str(), "wb+");
  if (!impl_->file) throw Error(path + ": cannot create zip archive: " + errno_text());
  impl_->file_buffer = attach_stdio_buffer(impl_->file);
  impl_->temp = temp;
  impl_->temp_note = TemporaryOutputNote(temp);
}

ZipWriter::~ZipWriter() = default;

void ZipWriter::set_zip64_threshold_for_testing(uint64_t threshold, uint64_t count_threshold) {
  impl_->limit = threshold;
  impl_->count_limit = count_threshold;
}

void ZipWriter::add_directory(const std::string& name) {
  impl_->check_can_add(name);
  Entry entry = impl_->new_entry(name, kMethodStored, kDirMode);
  impl_->start_entry(entry);
  impl_->finish_entry(std::move(entry));
}

void ZipWriter::add_file(const std::string& entry_name, const std::string& source_path,
                         bool store) {
  impl_->check_can_add(entry_name);
  std::error_code ec;
  const bool regular = fs::is_regular_file(source_path, ec);
  const uint64_t size = regular ? fs::file_size(source_path, ec) : 0;
  std::FILE* source = regular && !ec ? std::fopen(source_path.c_str(), "rb") : nullptr;
  if (!source) {
    throw Error(path_ + ": cannot add entry '" + entry_name + "': " + source_path +
                " is not a readable regular file");
  }
  struct Close {
    std::FILE* f;
    ~Close() { std::fclose(f); }
  } close_source{source};
  std::vector<std::byte> buffer(size_t(std::min<uint64_t>(kChunk, std::max<uint64_t>(size, 1))));
  impl_->add_data(entry_name, store, size, [&]() -> std::span<const std::byte> {
    const size_t n = std::fread(buffer.data(), 1, buffer.size(), source);
    if (n == 0 && std::ferror(source)) {
      impl_->fail(path_ + ": cannot add entry '" + entry_name + "': cannot read " + source_path);
    }
    return std::span(buffer).first(n);
  });
}

void ZipWriter::add_bytes(const std::string& entry_name, std::span<const std::byte> data,
                          bool store) {
  impl_->check_can_add(entry_name);
  bool given = false;
  impl_->add_data(entry_name, store, data.size(), [&]() -> std::span<const std::byte> {
    if (given) return {};
    given = true;
    return data;
  });
}

void ZipWriter::add_source(const std::string& entry_name, ByteSource& source, bool store) {
  impl_->check_can_add(entry_name);
  const uint64_t size = source.size();
  std::vector<std::byte> buffer(size_t(std::min<uint64_t>(kChunk, std::max<uint64_t>(size, 1))));
  uint64_t offset = 0;
  impl_->add_data(entry_name, store, size, [&]() -> std::span<const std::byte> {
    const size_t n = size_t(std::min<uint64_t>(buffer.size(), size - offset));
    const std::span<std::byte> piece = std::span(buffer).first(n);
    try {
      source.read_at(offset, piece);
    } catch (const Error& e) {
      // As add_file's read failures: the archive is discarded, later calls say so.
      impl_->fail(path_ + ": cannot add entry '" + entry_name + "': " + e.what());
    }
    offset += n;
    return piece;
  });
}

ByteSink& ZipWriter::begin_stored(const std::string& entry_name, uint64_t rewritable_head) {
  impl_->check_can_add(entry_name);
  Entry entry = impl_->new_entry(entry_name, kMethodStored, kFileMode);
  impl_->start_entry(entry);
  impl_->names.insert(entry_name);
  impl_->streaming_name = entry_name;
  impl_->streaming = std::make_unique<Impl::StoredSink>(*impl_, std::move(entry), rewritable_head);
  return *impl_->streaming;
}

void ZipWriter::finish_stored() {
  impl_->check_open();
  if (!impl_->streaming) throw Error(path_ + ": no entry is being written");
  Entry entry = impl_->streaming->finish();
  impl_->streaming.reset();
  impl_->names.erase(entry.name);
  impl_->finish_entry(std::move(entry));
}

void ZipWriter::close() {
  if (impl_->closed) return;
  impl_->check_open();
  if (impl_->streaming) finish_stored();
  impl_->write_end_records();
  const bool flushed = std::fflush(impl_->file) == 0;
  const bool closed = std::fclose(impl_->file) == 0;
  impl_->file = nullptr;
  if (!flushed || !closed) impl_->fail(path_ + ": cannot write zip archive: " + errno_text());
  std::error_code ec;
  fs::rename(impl_->temp, path_, ec);
  if (ec) impl_->fail(path_ + ": cannot write zip archive: " + ec.message());
  impl_->temp.clear();
  impl_->temp_note.forget();
  impl_->closed = true;
}

}  // namespace mlpress
