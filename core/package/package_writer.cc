#include "core/package/package_writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/io/error.h"
#include "core/io/temp_name.h"
#include "core/package/zip_writer.h"

namespace mlpress {
namespace fs = std::filesystem;

namespace {

std::string without_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string strip(std::string s, const std::string& suffix) {
  if (ends_with(s, suffix)) s.resize(s.size() - suffix.size());
  return s;
}

// Files are copied in pieces of this size, so a large file never sits in memory whole.
constexpr uint64_t kCopyChunk = uint64_t(1) << 20;

// Adds every folder above `relative` ("a/b/c" -> "a", "a/b"; "a/b/" -> "a", "a/b") to `dirs`.
void add_parent_folders(const std::string& relative, std::set<std::string>& dirs) {
  for (size_t slash = relative.find('/'); slash != std::string::npos;
       slash = relative.find('/', slash + 1)) {
    if (slash > 0 && relative[slash - 1] != '/') dirs.insert(relative.substr(0, slash));
  }
}

// A staged file.
class StagedFile final : public PackageFileSink {
 public:
  explicit StagedFile(const std::string& path) : sink_(path) {}
  void write_at(uint64_t offset, std::span<const std::byte> src) override {
    sink_.write_at(offset, src);
  }
  std::string describe() const override { return sink_.describe(); }
  void close() override { sink_.close(); }

 private:
  FileSink sink_;
};

// The archive's streamed entry, named after the output in messages.
class ZipEntryFile final : public PackageFileSink {
 public:
  ZipEntryFile(ZipWriter& zip, ByteSink& sink, std::string name)
      : zip_(zip), sink_(sink), name_(std::move(name)) {}
  void write_at(uint64_t offset, std::span<const std::byte> src) override {
    if (closed_) throw Error(name_ + ": write after close");
    sink_.write_at(offset, src);
  }
  std::string describe() const override { return name_; }
  void close() override {
    if (closed_) return;
    closed_ = true;
    zip_.finish_stored();
  }

 private:
  ZipWriter& zip_;
  ByteSink& sink_;
  std::string name_;
  bool closed_ = false;
};

}  // namespace

OutputKind output_kind_for(const std::string& out_path) {
  const std::string path = without_trailing_slash(out_path);
  if (ends_with(path, ".zip")) return OutputKind::Zip;
  if (ends_with(path, ".mlpackage")) return OutputKind::Directory;
  throw Error(out_path + ": output must end in .zip (a zipped package) or .mlpackage (a folder)");
}

PackageWriter::PackageWriter(const std::string& out_path)
    : out_(without_trailing_slash(out_path)), kind_(output_kind_for(out_path)) {
  name_ = strip(strip(out_.filename().string(), ".zip"), ".mlpackage");
  if (name_.empty()) name_ = "model";
  const fs::path parent = out_.has_parent_path() ? out_.parent_path() : fs::path(".");
  if (!fs::is_directory(parent))
    throw Error(out_.string() + ": folder " + parent.string() + " does not exist");
  staging_ = parent / ("." + out_.filename().string() + ".mlpress-" + random_file_suffix());
  staging_note_ = TemporaryOutputNote(staging_.string());
  staging_zip_note_ = TemporaryOutputNote(staging_.string() + ".zip");
  if (kind_ == OutputKind::Directory) make_staging();
}

PackageWriter::~PackageWriter() {
  if (committed_) return;
  std::error_code ec;
  if (staging_made_) fs::remove_all(staging_, ec);
  fs::remove(staging_.string() + ".zip", ec);
}

void PackageWriter::mark_committed() {
  committed_ = true;
  staging_note_.forget();
  staging_zip_note_.forget();
}

void PackageWriter::make_staging() {
  if (staging_made_) return;
  std::error_code ec;
  fs::create_directory(staging_, ec);
  if (ec) throw Error(staging_.string() + ": cannot create a temporary folder: " + ec.message());
  staging_made_ = true;
}

std::string PackageWriter::staged_path(const std::string& relative) {
  make_staging();
  const fs::path path = staging_ / relative;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error(path.string() + ": cannot create folder: " + ec.message());
  return path.string();
}

std::unique_ptr<PackageFileSink> PackageWriter::open_file(const std::string& relative,
                                                          uint64_t rewritable_head) {
  if (kind_ == OutputKind::Directory || streamed_) {
    return std::make_unique<StagedFile>(staged_path(relative));
  }
  add_parent_folders(relative, zip_dirs_);  // the archive's folder entries
  if (!zip_) zip_ = std::make_unique<ZipWriter>(staging_.string() + ".zip");
  const std::string entry = name_ + ".mlpackage/" + relative;
  ByteSink& sink = zip_->begin_stored(entry, rewritable_head);
  streamed_ = true;
  return std::make_unique<ZipEntryFile>(*zip_, sink, out_.string() + ":" + entry);
}

void PackageWriter::put_file(const std::string& relative, std::string bytes) {
  if (kind_ == OutputKind::Zip) {
    add_parent_folders(relative, zip_dirs_);
    unstaged_[relative] = Unstaged{std::move(bytes), nullptr};
    return;
  }
  FileSink sink(staged_path(relative));
  sink.write_at(0, std::as_bytes(std::span(bytes)));
  sink.close();
}

void PackageWriter::copy_file(const std::string& relative,
                              std::function<std::unique_ptr<ByteSource>()> open) {
  if (kind_ == OutputKind::Zip) {
    add_parent_folders(relative, zip_dirs_);
    unstaged_[relative] = Unstaged{{}, std::move(open)};
    return;
  }
  const std::unique_ptr<ByteSource> source = open();
  FileSink sink(staged_path(relative));
  std::vector<std::byte> chunk;
  for (uint64_t offset = 0; offset < source->size(); offset += kCopyChunk) {
    chunk.resize(size_t(std::min<uint64_t>(kCopyChunk, source->size() - offset)));
    source->read_at(offset, chunk);
    sink.write_at(offset, chunk);
  }
  sink.close();
}

void PackageWriter::add_directory(const std::string& relative) {
  if (kind_ == OutputKind::Zip) {
    add_parent_folders(relative + "/", zip_dirs_);
    return;
  }
  std::error_code ec;
  fs::create_directories(staging_ / relative, ec);
  if (ec) throw Error((staging_ / relative).string() + ": cannot create folder: " + ec.message());
}

uint64_t PackageWriter::commit() {
  std::vector<std::string> files;
  std::set<std::string> dirs = zip_dirs_;
  uint64_t total = 0;
  if (staging_made_) {
    for (const auto& entry : fs::recursive_directory_iterator(staging_)) {
      const std::string rel = fs::relative(entry.path(), staging_).generic_string();
      if (entry.is_directory()) {
        dirs.insert(rel);
      } else {
        files.push_back(rel);
        total += entry.file_size();
      }
    }
  }
  if (kind_ == OutputKind::Zip) return commit_zip(std::move(files), dirs);
  std::error_code ec;
  if (fs::exists(out_)) {
    // Replace an old output only once the new one is complete.
    const fs::path old = staging_.string() + ".old";
    fs::rename(out_, old, ec);
    if (ec) throw Error(out_.string() + ": cannot replace the existing output: " + ec.message());
    fs::rename(staging_, out_, ec);
    if (ec) {
      fs::rename(old, out_);
      throw Error(out_.string() + ": cannot move the finished package into place: " + ec.message());
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(staging_, out_, ec);
    if (ec)
      throw Error(out_.string() + ": cannot move the finished package into place: " + ec.message());
  }
  mark_committed();
  return total;
}

uint64_t PackageWriter::commit_zip(std::vector<std::string> files,
                                   const std::set<std::string>& dirs) {
  for (const auto& [relative, content] : unstaged_) {
    if (std::find(files.begin(), files.end(), relative) != files.end()) {
      throw Error(out_.string() + ": package file '" + relative + "' was written twice");
    }
    files.push_back(relative);
  }
  // After the streamed entry (if any), the folders (sorted), then Manifest.json, then the rest in
  // sorted order; weight files stored, not deflated, so that readers can seek in them.
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    if ((a == "Manifest.json") != (b == "Manifest.json")) return a == "Manifest.json";
    return a < b;
  });
  const std::string top = name_ + ".mlpackage/";
  const fs::path zip_tmp = staging_.string() + ".zip";
  std::error_code ec;
  {
    if (!zip_) zip_ = std::make_unique<ZipWriter>(zip_tmp.string());
    ZipWriter& zip = *zip_;
    zip.add_directory(top);
    for (const auto& dir : dirs) zip.add_directory(top + dir + "/");
    for (const auto& file : files) {
      const bool store = ends_with(file, ".bin");
      const auto unstaged = unstaged_.find(file);
      if (unstaged == unstaged_.end()) {
        zip.add_file(top + file, (staging_ / file).string(), store);
      } else if (unstaged->second.open) {
        zip.add_source(top + file, *unstaged->second.open(), store);
      } else {
        zip.add_bytes(top + file, std::as_bytes(std::span(unstaged->second.bytes)), store);
      }
    }
    zip.close();
    zip_.reset();
  }
  fs::rename(zip_tmp, out_, ec);
  if (ec) {
    fs::remove(zip_tmp);
    throw Error(out_.string() + ": cannot move the finished archive into place: " + ec.message());
  }
  const uint64_t size = fs::file_size(out_);
  if (staging_made_) fs::remove_all(staging_, ec);
  mark_committed();
  return size;
}

}  // namespace mlpress
