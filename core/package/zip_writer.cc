#include "core/package/zip_writer.h"

#include <zip.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/io/error.h"

namespace mlpress {

namespace {

std::string libzip_error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

// libzip deletes an archive that ends up with no entries instead of writing one; a caller
// that asked for an archive gets the 22-byte end-of-central-directory record alone.
void write_empty_archive(const std::string& path) {
  constexpr std::array<unsigned char, 22> kEmptyZip = {'P', 'K', 5, 6};
  std::FILE* file = std::fopen(path.c_str(), "wb");
  const bool ok =
      file && std::fwrite(kEmptyZip.data(), 1, kEmptyZip.size(), file) == kEmptyZip.size();
  const bool closed = file && std::fclose(file) == 0;
  if (!ok || !closed) throw Error(path + ": cannot write the empty zip archive");
}

}  // namespace

struct ZipWriter::Impl {
  // libzip writes nothing before zip_close: it then streams every entry into a temporary file
  // next to `path` and renames it over the old file. Discarding leaves the old file untouched.
  zip_t* handle = nullptr;
  bool failed = false;
  // add_bytes() data, read by libzip only at close. Growing the outer vector moves the inner
  // vectors, which keeps their buffers in place.
  std::vector<std::vector<std::byte>> buffers;

  zip_t* open_handle(const std::string& path) const {
    if (!handle) throw Error(path + ": archive is already closed");
    return handle;
  }

  // Takes ownership of `source`.
  void add_source(const std::string& path, const std::string& entry_name, zip_source_t* source,
                  bool store) {
    const zip_int64_t index = zip_file_add(handle, entry_name.c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      throw Error(path + ": cannot add entry '" + entry_name + "': " + zip_strerror(handle));
    }
    if (zip_set_file_compression(handle, static_cast<zip_uint64_t>(index),
                                 store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0) != 0) {
      throw Error(path + ": cannot set compression of entry '" + entry_name +
                  "': " + zip_strerror(handle));
    }
    set_fixed_metadata(path, static_cast<zip_uint64_t>(index), entry_name, kFileMode);
  }

  // Every entry gets the same timestamp and Unix mode, so that the same package and config
  // give the same archive bytes everywhere (native, wasm in a browser, any time zone or umask).
  void set_fixed_metadata(const std::string& path, zip_uint64_t index,
                          const std::string& entry_name, zip_uint32_t mode) {
    if (zip_file_set_dostime(handle, index, kDosTime, kDosDate, 0) != 0 ||
        zip_file_set_external_attributes(handle, index, 0, ZIP_OPSYS_UNIX, mode << 16) != 0) {
      throw Error(path + ": cannot set attributes of entry '" + entry_name +
                  "': " + zip_strerror(handle));
    }
  }

  static constexpr zip_uint16_t kDosTime = 0;                        // 00:00:00
  static constexpr zip_uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
  static constexpr zip_uint32_t kFileMode = 0100644;
  static constexpr zip_uint32_t kDirMode = 040755;
};

ZipWriter::ZipWriter(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
  // libzip would notice a missing directory only at close(), after all the caller's work.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
    throw Error(path + ": cannot create: " + parent.string() + " is not a directory");
  }
  int code = ZIP_ER_OK;
  impl_->handle = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  if (!impl_->handle) {
    throw Error(path + ": cannot create zip archive: " + libzip_error_text(code));
  }
}

ZipWriter::~ZipWriter() {
  if (impl_->handle) zip_discard(impl_->handle);
}

void ZipWriter::add_directory(const std::string& name) {
  zip_t* handle = impl_->open_handle(path_);
  const zip_int64_t index = zip_dir_add(handle, name.c_str(), ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    throw Error(path_ + ": cannot add directory '" + name + "': " + zip_strerror(handle));
  }
  impl_->set_fixed_metadata(path_, static_cast<zip_uint64_t>(index), name, Impl::kDirMode);
}

void ZipWriter::add_file(const std::string& entry_name, const std::string& source_path,
                         bool store) {
  zip_t* handle = impl_->open_handle(path_);
  // libzip would accept a missing file here and fail only at close() without naming it.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(source_path, ec)) {
    throw Error(path_ + ": cannot add entry '" + entry_name + "': " + source_path +
                " is not a readable regular file");
  }
  zip_source_t* source = zip_source_file(handle, source_path.c_str(), 0, 0);
  if (!source) {
    throw Error(path_ + ": cannot add entry '" + entry_name + "' from " + source_path + ": " +
                zip_strerror(handle));
  }
  impl_->add_source(path_, entry_name, source, store);
}

void ZipWriter::add_bytes(const std::string& entry_name, std::vector<std::byte> data, bool store) {
  zip_t* handle = impl_->open_handle(path_);
  const std::vector<std::byte>& buffer = impl_->buffers.emplace_back(std::move(data));
  zip_source_t* source = zip_source_buffer(handle, buffer.data(), buffer.size(), 0);
  if (!source) {
    impl_->buffers.pop_back();
    throw Error(path_ + ": cannot add entry '" + entry_name + "': " + zip_strerror(handle));
  }
  impl_->add_source(path_, entry_name, source, store);
}

void ZipWriter::close() {
  if (!impl_->handle) {
    if (impl_->failed) throw Error(path_ + ": archive was discarded after an earlier failure");
    return;
  }
  zip_t* handle = impl_->handle;
  const bool empty = zip_get_num_entries(handle, 0) == 0;
  if (zip_close(handle) != 0) {
    const std::string detail = zip_strerror(handle);
    // zip_close() has already removed its temporary file; nothing half-written remains.
    zip_discard(handle);
    impl_->handle = nullptr;
    impl_->failed = true;
    impl_->buffers.clear();
    throw Error(path_ + ": cannot write zip archive: " + detail);
  }
  impl_->handle = nullptr;
  impl_->buffers.clear();
  if (empty) write_empty_archive(path_);
}

}  // namespace mlpress
