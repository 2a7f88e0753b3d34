#include "core/package/package_reader.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/io/error.h"

namespace mlpress {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifest = "Manifest.json";
constexpr const char* kPackageSuffix = ".mlpackage";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string strip_suffix(std::string s, const std::string& suffix) {
  if (ends_with(s, suffix)) s.resize(s.size() - suffix.size());
  return s;
}

std::string basename_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

size_t depth_of(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

bool looks_like_zip(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char magic[4] = {};
  const size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  // Local file header "PK\3\4", or an empty archive's end record "PK\5\6".
  return n == 4 && magic[0] == 'P' && magic[1] == 'K' &&
         ((magic[2] == 3 && magic[3] == 4) || (magic[2] == 5 && magic[3] == 6));
}

class DirectoryPackage final : public PackageReader {
 public:
  DirectoryPackage(const std::string& path, const PackageLimits& limits)
      : PackageReader(path, limits), root_(path) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      // Lexically: fs::relative resolves real paths, which the browser's WORKERFS (a dropped
      // package folder) cannot do; the iterator's paths all start with root_ anyway.
      const std::string rel = it->path().lexically_relative(root_).generic_string();
      const std::string base = basename_of(rel);
      if (base.starts_with("._") || base == ".DS_Store") continue;
      files_.push_back(rel);
    }
    if (ec) throw Error(path + ": cannot list the package folder: " + ec.message());
    name_ = strip_suffix(fs::path(path).lexically_normal().filename().string(), kPackageSuffix);
    if (name_.empty()) {
      name_ = strip_suffix(fs::path(path).lexically_normal().parent_path().filename().string(),
                           kPackageSuffix);
    }
    load_manifest();
  }

  std::unique_ptr<ByteSource> open_file(const std::string& rel) override {
    require(rel);
    return std::make_unique<FileSource>((root_ / rel).string());
  }
  uint64_t file_size(const std::string& rel) const override {
    require(rel);
    return fs::file_size(root_ / rel);
  }
  std::vector<std::byte> read_file(const std::string& rel, uint64_t max_bytes) override {
    auto source = open_file(rel);
    if (source->size() > max_bytes) {
      throw Error(describe(rel) + ": " + std::to_string(source->size()) +
                  " bytes, above the limit of " + std::to_string(max_bytes));
    }
    return read_all(*source);
  }
  std::string describe(const std::string& rel) const override {
    return (root_ / rel).generic_string();
  }

 private:
  fs::path root_;
};

class ZipPackage final : public PackageReader {
 public:
  ZipPackage(const std::string& path, const PackageLimits& limits)
      : PackageReader(path, limits), zip_(path, limits.zip) {
    prefix_ = find_root();
    for (const auto& entry : zip_.entries()) {
      if (entry.is_directory || !entry.name.starts_with(prefix_)) continue;
      files_.push_back(entry.name.substr(prefix_.size()));
    }
    const std::string folder =
        prefix_.empty() ? "" : basename_of(prefix_.substr(0, prefix_.size() - 1));
    name_ = strip_suffix(folder, kPackageSuffix);
    if (name_.empty()) {
      name_ = strip_suffix(strip_suffix(basename_of(fs::path(path).generic_string()), ".zip"),
                           kPackageSuffix);
    }
    load_manifest();
  }

  std::unique_ptr<ByteSource> open_file(const std::string& rel) override {
    require(rel);
    return zip_.open_entry(prefix_ + rel);
  }
  uint64_t file_size(const std::string& rel) const override {
    require(rel);
    return zip_.find(prefix_ + rel)->size;
  }
  std::vector<std::byte> read_file(const std::string& rel, uint64_t max_bytes) override {
    require(rel);
    return zip_.read_entry(prefix_ + rel, max_bytes);
  }
  std::string describe(const std::string& rel) const override {
    return input_path() + ":" + prefix_ + rel;
  }

 private:
  // The package root is the folder of the shallowest Manifest.json, preferring a folder named
  // *.mlpackage (shared/spec/FORMAT.md §1.5). Returns "" or "Some/Folder/".
  std::string find_root() const {
    const ZipEntryInfo* best = nullptr;
    auto better = [](const ZipEntryInfo& a, const ZipEntryInfo& b) {
      const bool a_pkg = ends_with(a.name, std::string(kPackageSuffix) + "/" + kManifest);
      const bool b_pkg = ends_with(b.name, std::string(kPackageSuffix) + "/" + kManifest);
      if (depth_of(a.name) != depth_of(b.name)) return depth_of(a.name) < depth_of(b.name);
      return a_pkg && !b_pkg;
    };
    for (const auto& entry : zip_.entries()) {
      if (entry.is_directory || basename_of(entry.name) != kManifest) continue;
      if (!best || better(entry, *best)) best = &entry;
    }
    if (!best) {
      throw Error(input_path() + ": no Manifest.json in the archive; is this a zipped .mlpackage?");
    }
    return best->name.substr(0, best->name.size() - std::string(kManifest).size());
  }

  ZipReader zip_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<PackageReader> PackageReader::open(const std::string& path,
                                                   const PackageLimits& limits) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(path + ": no such file or folder");
  if (fs::is_directory(status)) {
    if (!fs::exists(fs::path(path) / kManifest)) {
      throw Error(path + ": no Manifest.json in this folder; is it an .mlpackage?");
    }
    return std::make_unique<DirectoryPackage>(path, limits);
  }
  if (!looks_like_zip(path)) {
    throw Error(path + ": not a zip archive or an .mlpackage folder");
  }
  return std::make_unique<ZipPackage>(path, limits);
}

bool PackageReader::has_file(const std::string& relative) const {
  return std::binary_search(files_.begin(), files_.end(), relative);
}

void PackageReader::require(const std::string& relative) const {
  if (!has_file(relative)) throw Error(describe(relative) + ": no such file in the package");
}

void PackageReader::load_manifest() {
  std::sort(files_.begin(), files_.end());
  if (!has_file(kManifest)) throw Error(describe(kManifest) + ": missing");
  const auto bytes = read_file(kManifest, limits_.max_manifest_bytes);
  manifest_ = parse_manifest(bytes, describe(kManifest));
  const ManifestItem& root = manifest_.root_model(describe(kManifest));
  root_model_file_ = "Data/" + root.path;
  if (!has_file(root_model_file_)) {
    throw Error(describe(kManifest) + ": root model \"" + root.path + "\" (item " +
                root.identifier + ") is not in the package");
  }
  if (const ManifestItem* weights = manifest_.find("weights", "com.apple.CoreML")) {
    weights_dir_ = "Data/" + weights->path;
  }
}

}  // namespace mlpress
