#pragma once
// Writes an output package completely or not at all: files are staged in a temporary folder
// beside the output, then either renamed into place (OUT.mlpackage) or zipped into a
// temporary archive that is renamed into place (OUT.zip, one NAME.mlpackage/ top folder).
// Destroying an uncommitted writer removes everything it staged.
#include <filesystem>
#include <string>

namespace mlpress {

enum class OutputKind { Zip, Directory };

class PackageWriter {
 public:
  // Throws when `out_path` ends in neither ".zip" nor ".mlpackage".
  explicit PackageWriter(const std::string& out_path);
  ~PackageWriter();
  PackageWriter(const PackageWriter&) = delete;
  PackageWriter& operator=(const PackageWriter&) = delete;

  OutputKind kind() const { return kind_; }
  // Package name for the zip's top folder: "foo" for foo.mlpackage.zip, foo.zip, foo.mlpackage.
  const std::string& name() const { return name_; }
  // Local path where the package-relative file `relative` is to be written (parents created).
  std::string staged_path(const std::string& relative);
  // Makes sure the folder `relative` exists in the output, even if it stays empty (a manifest
  // item may name an empty weights folder, and every item path must exist).
  void add_directory(const std::string& relative);
  // Finishes the output; returns its size in bytes (zip size, or the sum of the files).
  uint64_t commit();

 private:
  std::filesystem::path out_;
  std::filesystem::path staging_;
  std::string name_;
  OutputKind kind_ = OutputKind::Zip;
  bool committed_ = false;
};

// Output kind from the path, or throws naming the path.
OutputKind output_kind_for(const std::string& out_path);

}  // namespace mlpress
