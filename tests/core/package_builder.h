#pragma once
// Builds small, valid .mlpackage folders (and zips of them) in a temporary folder, so that
// tests can break one part at a time and check the error that part produces.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "Model.pb.h"

namespace mlpress::testing {

struct PackageParts {
  std::string manifest;            // Manifest.json text
  std::string model;               // serialized Model
  std::vector<std::byte> weights;  // weight.bin
};

// A one-function ML Program (CoreML6): const "w" fp16 [4, 4] in weight.bin at offset 64,
// consumed by relu "y", which is the function's output.
CoreML::Specification::Model tiny_model();
std::vector<std::byte> tiny_weights();  // the weight.bin tiny_model() points into
std::string tiny_manifest(const std::string& root_path = "com.apple.CoreML/model.mlmodel");
PackageParts tiny_parts();

// A fresh temporary folder, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `parts` as `<dir>/<name>.mlpackage` and returns its path.
std::string write_package_dir(const std::filesystem::path& dir, const std::string& name,
                              const PackageParts& parts);
// Zips a package folder into `zip_path` under the top folder `top` ("" = at the zip root).
void zip_package_dir(const std::string& package_dir, const std::string& zip_path,
                     const std::string& top);

}  // namespace mlpress::testing
