#pragma once
// An opened .mlpackage, zipped or a directory: its file tree (relative to the package root),
// its manifest and where the root model lives. The input is only ever read.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io/byte_source.h"
#include "core/package/manifest.h"
#include "core/package/zip_reader.h"

namespace mlpress {

struct PackageLimits {
  ZipLimits zip;
  uint64_t max_manifest_bytes = uint64_t{1} << 20;
  uint64_t max_model_bytes = uint64_t{2} << 30;  // protobuf's own 2 GiB message limit
};

class PackageReader {
 public:
  virtual ~PackageReader() = default;

  // Opens a .zip (by content, whatever its extension) or a package directory.
  static std::unique_ptr<PackageReader> open(const std::string& path,
                                             const PackageLimits& limits = {});

  // Regular files, '/'-separated, relative to the package root, sorted.
  const std::vector<std::string>& files() const { return files_; }
  bool has_file(const std::string& relative) const;
  virtual std::unique_ptr<ByteSource> open_file(const std::string& relative) = 0;
  virtual uint64_t file_size(const std::string& relative) const = 0;
  // Whole file in memory; refuses files over `max_bytes`, naming the file.
  virtual std::vector<std::byte> read_file(const std::string& relative, uint64_t max_bytes) = 0;
  // "in.zip:Foo.mlpackage/Manifest.json" or "/path/Foo.mlpackage/Manifest.json".
  virtual std::string describe(const std::string& relative) const = 0;

  const std::string& input_path() const { return input_path_; }
  // The package's name without ".mlpackage" (from its folder, else from the zip's file name).
  const std::string& name() const { return name_; }
  const Manifest& manifest() const { return manifest_; }
  // "Data/com.apple.CoreML/model.mlmodel" or wherever the manifest points.
  const std::string& root_model_file() const { return root_model_file_; }
  // The weights item's directory ("Data/com.apple.CoreML/weights"), empty when there is none.
  const std::string& weights_dir() const { return weights_dir_; }
  const PackageLimits& limits() const { return limits_; }

 protected:
  PackageReader(std::string input_path, PackageLimits limits)
      : input_path_(std::move(input_path)), limits_(limits) {}
  // Sorts the file list, then reads Manifest.json and resolves the root model; each
  // implementation calls it once it has listed its files.
  void load_manifest();
  // Throws naming the file when the package has no such file.
  void require(const std::string& relative) const;
  std::string name_;
  std::vector<std::string> files_;

 private:
  std::string input_path_;
  PackageLimits limits_;
  Manifest manifest_;
  std::string root_model_file_;
  std::string weights_dir_;
};

}  // namespace mlpress
