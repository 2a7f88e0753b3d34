#pragma once
// Writes an output package completely or not at all: files are staged in a temporary folder
// beside the output, then either renamed into place (OUT.mlpackage) or zipped into a
// temporary archive that is renamed into place (OUT.zip, one NAME.mlpackage/ top folder).
// For a zip, the first file opened with open_file (the weight.bin) is not staged: it is
// written straight into the archive as its first entry, and the other files follow it; files
// given whole (put_file) or as a source to copy (copy_file) go into the archive at commit
// without being staged, so a zip made of those alone needs no temporary folder (each staged
// file costs file-system calls, which are slow through the wasm module's file systems).
// Destroying an uncommitted writer removes everything it staged or wrote.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/io/byte_source.h"
#include "core/io/temporary_outputs.h"

namespace mlpress {

class ZipWriter;

enum class OutputKind { Zip, Directory };

// A package file written while the package is being made; close() finishes it (and throws if
// it could not be written completely).
class PackageFileSink : public ByteSink {
 public:
  virtual void close() = 0;
};

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
  // Opens the package-relative file `relative` for writing. For a zip output the first file
  // opened this way goes straight into the archive (a stored entry): it must be written in
  // order, except that its first `rewritable_head` bytes may be written again
  // (ZipWriter::begin_stored), and closed before commit(). Files opened after it are staged
  // (and may be written in any order) while it is still open.
  std::unique_ptr<PackageFileSink> open_file(const std::string& relative, uint64_t rewritable_head);
  // The package-relative file `relative` with the content `bytes` (a small file: the model).
  void put_file(const std::string& relative, std::string bytes);
  // The package-relative file `relative` as a copy of what `open` returns; for a zip, opened and
  // read (in pieces) only at commit.
  void copy_file(const std::string& relative, std::function<std::unique_ptr<ByteSource>()> open);
  // Makes sure the folder `relative` exists in the output, even if it stays empty (a manifest
  // item may name an empty weights folder, and every item path must exist).
  void add_directory(const std::string& relative);
  // Finishes the output; returns its size in bytes (zip size, or the sum of the files).
  uint64_t commit();

 private:
  // A zip entry written at commit, not staged: bytes, or a source opened then.
  struct Unstaged {
    std::string bytes;
    std::function<std::unique_ptr<ByteSource>()> open;
  };
  void make_staging();
  // The output is in place: nothing of staging_ is left for the destructor or the fault handler.
  void mark_committed();
  // commit() for a zip: the staged files and the folders, with the unstaged files.
  uint64_t commit_zip(std::vector<std::string> files, const std::set<std::string>& dirs);

  std::filesystem::path out_;
  std::filesystem::path staging_;  // made by the constructor (folder output) or when first needed
  bool staging_made_ = false;
  std::map<std::string, Unstaged> unstaged_;  // zip output: relative path -> content
  std::set<std::string> zip_dirs_;  // zip output: folders of unstaged and streamed files, and
                                    // the folders added, with no staged counterpart
  std::string name_;
  OutputKind kind_ = OutputKind::Zip;
  bool committed_ = false;
  std::unique_ptr<ZipWriter> zip_;  // zip output: made by the first open_file, or by commit()
  bool streamed_ = false;           // the archive's streamed entry is taken
  // staging_ and its ".zip", for the fault handler (temporary_outputs.h), until commit.
  TemporaryOutputNote staging_note_;
  TemporaryOutputNote staging_zip_note_;
};

// Output kind from the path, or throws naming the path.
OutputKind output_kind_for(const std::string& out_path);

}  // namespace mlpress
