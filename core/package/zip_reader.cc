#include "core/package/zip_reader.h"

#include <zip.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/io/error.h"
#include "core/package/inflating_source.h"
#include "core/package/zip_records.h"

namespace mlpress {

namespace {

// The libzip handle, shared by the reader and every source it hands out, so that a source
// stays readable after its ZipReader is gone. libzip handles are not thread-safe: a reader
// and its sources belong to one thread.
struct Archive {
  zip_t* handle = nullptr;
  std::string path;

  Archive(zip_t* h, std::string p) : handle(h), path(std::move(p)) {}
  ~Archive() { zip_discard(handle); }
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;
};

std::string entry_label(const std::string& zip_path, const std::string& name) {
  return zip_path + ": entry '" + name + "'";
}

std::string libzip_error_text(zip_error_t* error) {
  std::string text = zip_error_strerror(error);
  zip_error_fini(error);
  return text;
}

// Signatures a zip file starts with: local file header, empty archive, spanning marker.
bool starts_like_zip(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return false;
  std::array<char, 4> magic{};
  const bool got = std::fread(magic.data(), 1, magic.size(), file) == magic.size();
  std::fclose(file);
  if (!got || magic[0] != 'P' || magic[1] != 'K') return false;
  return (magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6) ||
         (magic[2] == 7 && magic[3] == 8);
}

zip_t* open_archive(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(path + ": is a directory, not a zip archive");
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_file_create(path.c_str(), 0, 0, &error);
  if (!source) throw Error(path + ": cannot open: " + libzip_error_text(&error));
  zip_t* handle = zip_open_from_source(source, ZIP_RDONLY, &error);
  if (handle) {
    zip_error_fini(&error);
    return handle;
  }
  zip_source_free(source);
  const int code = zip_error_code_zip(&error);
  const std::string detail = libzip_error_text(&error);
  switch (code) {
    case ZIP_ER_NOENT:
      throw Error(path + ": no such file");
    case ZIP_ER_NOZIP:
      // Without its end-of-central-directory record a cut-off zip looks like no zip at all to
      // libzip; the leading signature tells the two apart.
      if (starts_like_zip(path)) throw Error(path + ": truncated or damaged zip archive");
      throw Error(path + ": not a zip archive");
    case ZIP_ER_INCONS:
    case ZIP_ER_EOF:
    case ZIP_ER_SEEK:
      throw Error(path + ": truncated or damaged zip archive (" + detail + ")");
    case ZIP_ER_MULTIDISK:
      throw Error(path + ": split (multi-part) zip archives are not supported");
    default:
      throw Error(path + ": cannot open zip archive: " + detail);
  }
}

// Finder and Archive Utility add these; they mirror real files but hold no package data
// (FORMAT.md §1.5).
bool is_macos_junk(const std::string& name) {
  if (name.starts_with("__MACOSX/")) return true;
  std::string_view trimmed = name;
  if (trimmed.ends_with('/')) trimmed.remove_suffix(1);
  const size_t slash = trimmed.rfind('/');
  const std::string_view base =
      slash == std::string_view::npos ? trimmed : trimmed.substr(slash + 1);
  return base.starts_with("._") || base == ".DS_Store";
}

// Returns why `name` cannot be accepted as a path inside the package, or nullptr.
//
// Backslashes: APPNOTE 4.4.17 makes '/' the only separator, but Windows extractors (and old
// Windows zip tools when writing) treat '\' as one too, so "a\..\..\x" would escape the root
// there while looking harmless here. No Apple tool puts a backslash into a package path, so
// rather than guess which meaning was intended, any backslash is refused.
const char* name_problem(const std::string& name) {
  if (name.empty()) return "name is empty";
  if (name.find('\\') != std::string::npos) {
    return "name contains a backslash, which some tools treat as a path separator; re-create "
           "the archive with '/' separators";
  }
  const bool drive_letter =
      name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'));
  if (name[0] == '/' || drive_letter) return "name is an absolute path";
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    if (std::string_view(name).substr(start, end - start) == "..") {
      return "name leaves the archive root";
    }
    start = end + 1;
  }
  return nullptr;
}

std::string method_text(uint16_t method) {
  std::string text = std::to_string(method);
  switch (method) {
    case 9:
      return text + " (deflate64)";
    case 12:
      return text + " (bzip2)";
    case 14:
      return text + " (LZMA)";
    case 93:
      return text + " (zstd)";
    case 95:
      return text + " (xz)";
    case 98:
      return text + " (PPMd)";
    default:
      return text;
  }
}

bool stored_sizes_disagree(const zip_stat_t& st) {
  return st.comp_method == ZIP_CM_STORE && st.comp_size != st.size;
}

// `raw`: the entry's data as stored in the archive (for a deflated entry, the deflate stream).
zip_file_t* open_entry_file(const Archive& archive, const ZipEntryInfo& entry, bool raw = false) {
  zip_file_t* file = zip_fopen_index(archive.handle, entry.index, raw ? ZIP_FL_COMPRESSED : 0);
  if (!file) {
    throw Error(entry_label(archive.path, entry.name) +
                ": cannot open: " + zip_strerror(archive.handle));
  }
  return file;
}

// Reads up to dst.size() bytes; returns fewer only at the end of the entry's data.
size_t read_fully(zip_file_t* file, std::span<std::byte> dst, const std::string& what) {
  size_t done = 0;
  while (done < dst.size()) {
    const zip_int64_t n = zip_fread(file, dst.data() + done, dst.size() - done);
    if (n < 0) throw Error(what + ": " + zip_file_strerror(file));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

std::string short_data_text(uint64_t got, uint64_t declared) {
  return "entry data ends after " + std::to_string(got) + " of the declared " +
         std::to_string(declared) + " bytes (truncated or damaged archive)";
}

std::string long_data_text(uint64_t declared) {
  return "entry data is longer than the declared " + std::to_string(declared) +
         " bytes (damaged archive)";
}

// A stored entry is read in place: libzip seeks inside stored, unencrypted entries. The CRC
// cannot be checked on random access; read_entry() checks it for small entries.
// With `raw`, the same for the compressed bytes of a deflated entry.
class StoredEntrySource final : public ByteSource {
 public:
  StoredEntrySource(std::shared_ptr<Archive> archive, const ZipEntryInfo& entry, bool raw = false)
      : archive_(std::move(archive)),
        name_(entry.name),
        size_(raw ? entry.compressed_size : entry.size),
        file_(open_entry_file(*archive_, entry, raw)) {}
  ~StoredEntrySource() override { zip_fclose(file_); }
  StoredEntrySource(const StoredEntrySource&) = delete;
  StoredEntrySource& operator=(const StoredEntrySource&) = delete;

  uint64_t size() const override { return size_; }
  std::string describe() const override { return archive_->path + ":" + name_; }

  void read_at(uint64_t offset, std::span<std::byte> dst) override {
    require_range(*this, offset, dst.size(), "read");
    if (dst.empty()) return;
    const std::string what = describe() + ": cannot read " + std::to_string(dst.size()) +
                             " bytes at offset " + std::to_string(offset);
    if (zip_fseek(file_, static_cast<zip_int64_t>(offset), SEEK_SET) != 0) {
      throw Error(what + ": " + zip_file_strerror(file_));
    }
    const size_t got = read_fully(file_, dst, what);
    if (got != dst.size()) throw Error(what + ": " + short_data_text(offset + got, size_));
  }

 private:
  std::shared_ptr<Archive> archive_;
  std::string name_;
  uint64_t size_;
  zip_file_t* file_;
};

// Little-endian fields of the zip records (APPNOTE 4.3).
uint64_t le(const std::byte* p, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | std::to_integer<uint64_t>(p[i]);
  return v;
}

using namespace zip_records;

// The offset of every entry's local header, in central directory order (libzip's index order),
// read from the archive's end records and central directory; empty when they do not parse
// exactly as expected (prefixed or odd archives: those entries are then read through libzip).
// libzip has validated the archive already; this only finds where entry data starts, so that
// stored data can be read with plain file reads, without libzip's layers and the CRC-32 its
// reading computes along the way and never checks on random access.
std::vector<uint64_t> local_header_offsets(FileSource& file, uint64_t count) {
  const uint64_t size = file.size();
  const uint64_t tail_size = std::min<uint64_t>(size, 22 + 0xFFFF);
  std::vector<std::byte> tail(tail_size);
  file.read_at(size - tail_size, tail);
  if (tail_size < 22) return {};
  // The last end record whose comment reaches exactly to the end of the file.
  size_t end = tail_size - 22 + 1;
  bool found = false;
  while (!found && end > 0) {
    --end;
    found = le(&tail[end], 4) == kEndSignature && end + 22 + le(&tail[end + 20], 2) == tail_size;
  }
  if (!found) return {};
  const uint64_t end_offset = size - tail_size + end;
  uint64_t entries = le(&tail[end + 10], 2);
  uint64_t directory_size = le(&tail[end + 12], 4);
  uint64_t directory_offset = le(&tail[end + 16], 4);
  if (end_offset >= 20) {
    std::array<std::byte, 20> locator{};
    file.read_at(end_offset - 20, locator);
    if (le(locator.data(), 4) == kZip64LocatorSignature) {
      const uint64_t record_offset = le(&locator[8], 8);
      if (record_offset > size || size - record_offset < 56) return {};
      std::array<std::byte, 56> record{};
      file.read_at(record_offset, record);
      if (le(record.data(), 4) != kZip64EndSignature) return {};
      entries = le(&record[32], 8);
      directory_size = le(&record[40], 8);
      directory_offset = le(&record[48], 8);
    }
  }
  if (entries != count || directory_offset > size || directory_size > size - directory_offset) {
    return {};
  }
  std::vector<std::byte> directory(static_cast<size_t>(directory_size));
  file.read_at(directory_offset, directory);
  std::vector<uint64_t> offsets;
  offsets.reserve(static_cast<size_t>(count));
  size_t at = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (directory.size() - at < 46 || le(&directory[at], 4) != kCentralHeaderSignature) return {};
    const std::byte* header = &directory[at];
    const size_t name_length = le(header + 28, 2);
    const size_t extra_length = le(header + 30, 2);
    const size_t comment_length = le(header + 32, 2);
    if (directory.size() - at - 46 < name_length + extra_length + comment_length) return {};
    uint64_t offset = le(header + 42, 4);
    if (offset == kZip64Marker) {
      // The ZIP64 extra field holds, in this order, those of the uncompressed size, compressed
      // size and offset that are 0xFFFFFFFF in the header.
      const std::byte* extra = header + 46 + name_length;
      size_t pos = 0;
      bool have = false;
      while (!have && extra_length - pos >= 4) {
        const uint64_t id = le(extra + pos, 2);
        const size_t length = le(extra + pos + 2, 2);
        if (extra_length - pos - 4 < length) return {};
        if (id == 1) {
          size_t field = (le(header + 24, 4) == kZip64Marker ? 8 : 0) +
                         (le(header + 20, 4) == kZip64Marker ? 8 : 0);
          if (length < field + 8) return {};
          offset = le(extra + pos + 4 + field, 8);
          have = true;
        }
        pos += 4 + length;
      }
      if (!have) return {};
    }
    offsets.push_back(offset);
    at += 46 + name_length + extra_length + comment_length;
  }
  return offsets;
}

// Stored bytes read straight from the archive file at a known offset: the same random access as
// StoredEntrySource without libzip in between (no CRC-32 computed on the way, one file read per
// read).
class DirectEntrySource final : public ByteSource {
 public:
  DirectEntrySource(std::unique_ptr<FileSource> file, uint64_t data_offset, uint64_t size,
                    std::string description)
      : file_(std::move(file)),
        data_offset_(data_offset),
        size_(size),
        description_(std::move(description)) {}

  uint64_t size() const override { return size_; }
  std::string describe() const override { return description_; }

  void read_at(uint64_t offset, std::span<std::byte> dst) override {
    require_range(*this, offset, dst.size(), "read");
    if (!dst.empty()) file_->read_at(data_offset_ + offset, dst);
  }

  // Stored data is the entry's bytes as they are: a range of it maps like a range of a file.
  std::unique_ptr<MappedBytes> map_range(uint64_t offset, uint64_t length) override {
    require_range(*this, offset, length, "read");
    return file_->map_range(data_offset_ + offset, length);
  }

 private:
  std::unique_ptr<FileSource> file_;
  uint64_t data_offset_;
  uint64_t size_;
  std::string description_;
};

}  // namespace

struct ZipReader::Impl {
  std::shared_ptr<Archive> archive;
  std::unordered_map<std::string, size_t> by_name;  // index into entries_
  std::vector<uint64_t> local_offsets;              // by libzip index; empty: use libzip

  // The entry's data in the archive file (`raw`: its stored bytes, compressed or not) when the
  // local header is where the central directory says and names the entry, else nullptr (libzip
  // reads it then, and reports what is wrong).
  std::unique_ptr<ByteSource> open_direct(const ZipEntryInfo& entry, uint64_t length) const {
    if (entry.index >= local_offsets.size()) return nullptr;
    try {
      auto file = std::make_unique<FileSource>(archive->path);
      const uint64_t header = local_offsets[entry.index];
      const uint64_t size = file->size();
      if (header > size || size - header < 30) return nullptr;
      std::array<std::byte, 30> fixed{};
      file->read_at(header, fixed);
      if (le(fixed.data(), 4) != kLocalHeaderSignature) return nullptr;
      const uint64_t name_length = le(&fixed[26], 2);
      const uint64_t extra_length = le(&fixed[28], 2);
      if (size - header - 30 < name_length + extra_length) return nullptr;
      std::string name(static_cast<size_t>(name_length), '\0');
      file->read_at(header + 30, std::as_writable_bytes(std::span(name)));
      if (name != entry.name) return nullptr;
      const uint64_t data = header + 30 + name_length + extra_length;
      if (size - data < length) return nullptr;
      return std::make_unique<DirectEntrySource>(std::move(file), data, length,
                                                 archive->path + ":" + entry.name);
    } catch (const Error&) {
      return nullptr;
    }
  }

  const ZipEntryInfo& file_entry(const std::vector<ZipEntryInfo>& entries,
                                 const std::string& name) const {
    const auto it = by_name.find(name);
    if (it == by_name.end()) throw Error(archive->path + ": no entry '" + name + "'");
    const ZipEntryInfo& entry = entries[it->second];
    if (entry.is_directory) throw Error(entry_label(archive->path, name) + " is a directory");
    return entry;
  }
};

ZipReader::ZipReader(const std::string& path, const ZipLimits& limits)
    : impl_(std::make_unique<Impl>()), path_(path) {
  impl_->archive = std::make_shared<Archive>(open_archive(path), path);
  zip_t* handle = impl_->archive->handle;

  const zip_int64_t count = zip_get_num_entries(handle, 0);
  if (count < 0) throw Error(path + ": truncated or damaged zip archive");
  if (static_cast<uint64_t>(count) > limits.max_entries) {
    throw Error(path + ": archive has " + std::to_string(count) + " entries, above the limit of " +
                std::to_string(limits.max_entries));
  }

  uint64_t total = 0;
  for (zip_uint64_t index = 0; index < static_cast<zip_uint64_t>(count); ++index) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(handle, index, 0, &st) != 0) {
      throw Error(path + ": truncated or damaged zip archive (entry #" + std::to_string(index) +
                  ": " + zip_strerror(handle) + ")");
    }
    const std::string name = st.name ? st.name : "";
    const std::string label = entry_label(path, name);
    // Names are checked even on junk entries: a hostile name is refused wherever it hides.
    if (const char* problem = name_problem(name)) throw Error(label + ": " + problem);
    if (is_macos_junk(name)) continue;

    if (st.encryption_method != ZIP_EM_NONE) {
      throw Error(label + " is encrypted; mlpress cannot read encrypted archives");
    }
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
      throw Error(label + " uses compression method " + method_text(st.comp_method) +
                  "; mlpress reads only stored and deflated entries");
    }
    if (st.size > limits.max_entry_size) {
      throw Error(label + " declares " + std::to_string(st.size) +
                  " bytes uncompressed, above the limit of " +
                  std::to_string(limits.max_entry_size) + " (a zip bomb?)");
    }
    if (stored_sizes_disagree(st)) {
      throw Error(label + " is stored with " + std::to_string(st.comp_size) +
                  " bytes of data but declares " + std::to_string(st.size) +
                  " (truncated or damaged archive)");
    }
    // `total` never exceeds the limit, so the subtraction cannot wrap.
    if (st.size > limits.max_total_size - total) {
      throw Error(label + " brings the declared uncompressed total above the limit of " +
                  std::to_string(limits.max_total_size) + " bytes (a zip bomb?)");
    }
    total += st.size;

    // Two entries with one name are read differently by different tools; refuse the ambiguity.
    if (!impl_->by_name.emplace(name, entries_.size()).second) {
      throw Error(label + " appears more than once");
    }
    ZipEntryInfo info;
    info.name = name;
    info.index = index;
    info.size = st.size;
    info.compressed_size = st.comp_size;
    info.crc = (st.valid & ZIP_STAT_CRC) != 0 ? st.crc : 0;
    info.is_directory = name.ends_with('/');
    info.is_stored = st.comp_method == ZIP_CM_STORE;
    entries_.push_back(std::move(info));
  }

  try {
    FileSource file(path);
    impl_->local_offsets = local_header_offsets(file, static_cast<uint64_t>(count));
  } catch (const Error&) {
    impl_->local_offsets.clear();  // libzip reads every entry then
  }
}

ZipReader::~ZipReader() = default;

const ZipEntryInfo* ZipReader::find(const std::string& name) const {
  const auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &entries_[it->second];
}

std::unique_ptr<ByteSource> ZipReader::open_entry(const std::string& name) {
  const ZipEntryInfo& entry = impl_->file_entry(entries_, name);
  if (entry.is_stored) {
    if (auto direct = impl_->open_direct(entry, entry.size)) return direct;
    return std::make_unique<StoredEntrySource>(impl_->archive, entry);
  }
  std::unique_ptr<ByteSource> deflated = impl_->open_direct(entry, entry.compressed_size);
  if (!deflated) deflated = std::make_unique<StoredEntrySource>(impl_->archive, entry, true);
  return std::make_unique<InflatingSource>(std::move(deflated), entry.size, entry.crc,
                                           path_ + ":" + entry.name);
}

bool ZipReader::reads_in_place(const std::string& name) const {
  const ZipEntryInfo& entry = impl_->file_entry(entries_, name);
  return impl_->open_direct(entry, entry.is_stored ? entry.size : entry.compressed_size) != nullptr;
}

std::vector<std::byte> ZipReader::read_entry(const std::string& name, uint64_t max_bytes) {
  const ZipEntryInfo& entry = impl_->file_entry(entries_, name);
  const std::string label = entry_label(path_, name);
  if (entry.size > max_bytes || entry.size > std::numeric_limits<size_t>::max()) {
    throw Error(label + " is " + std::to_string(entry.size) + " bytes, above the limit of " +
                std::to_string(max_bytes) + " bytes for reading into memory");
  }
  std::vector<std::byte> bytes(static_cast<size_t>(entry.size));
  zip_file_t* file = open_entry_file(*impl_->archive, entry);
  try {
    const std::string what = path_ + ":" + name + ": cannot read";
    const size_t got = read_fully(file, bytes, what);
    if (got != bytes.size()) {
      throw Error(path_ + ":" + name + ": " + short_data_text(got, entry.size));
    }
    // Reading on to the end of the data is what makes libzip check the CRC.
    std::byte extra{};
    if (read_fully(file, std::span(&extra, 1), what) != 0) {
      throw Error(path_ + ":" + name + ": " + long_data_text(entry.size));
    }
  } catch (...) {
    zip_fclose(file);
    throw;
  }
  zip_fclose(file);
  return bytes;
}

}  // namespace mlpress
