#pragma once
// The blob files of a package as a program sees them: resolves BlobFileValue.fileName
// ("@model_path/weights/weight.bin") to a package file, opens each file once, and checks each
// referenced record against the tensor type that points at it.
#include <map>
#include <memory>
#include <string>

#include "MIL.pb.h"
#include "core/blob/blob_reader.h"
#include "core/mil/tensor_type.h"
#include "core/package/package_reader.h"

namespace mlpress::mil {

struct LocatedBlob {
  std::string file;  // package-relative path
  blob::BlobRecord record;
  blob::BlobReader* reader = nullptr;
};

class BlobFiles {
 public:
  explicit BlobFiles(PackageReader& package);

  // Package-relative path of `file_name`: "@model_path/" is the root model's folder; failing
  // that, the basename inside the manifest's weights folder (coremltools' own fallback).
  std::string resolve(const std::string& file_name, const std::string& where) const;

  // Package-relative path `file_name` names under the root model's folder, whether or not the
  // input has that file (where new blobs go when a program had none).
  std::string output_path_for(const std::string& file_name) const;

  // Opens the file (once) and validates the record at `blob.offset()` for tensor `shape`:
  // sentinel, dtype code matching the tensor dtype, byte size matching the element count.
  LocatedBlob locate(const CoreML::Specification::MILSpec::Value::BlobFileValue& blob,
                     const TensorShape& shape, const std::string& where);

 private:
  struct OpenFile {
    std::unique_ptr<ByteSource> source;
    std::unique_ptr<blob::BlobReader> reader;
  };
  PackageReader& package_;
  std::string model_dir_;
  std::map<std::string, OpenFile> open_;
};

}  // namespace mlpress::mil
