#pragma once
// Output blob files: one per input blob file the program references (plus the default
// weight.bin when compression adds blobs to a program that had none). Existing blobs are
// copied once each and every reference re-pointed; new payloads are appended as they come,
// so blobs land in program order and at most one weight is in memory.
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>

#include "MIL.pb.h"
#include "core/blob/blob_writer.h"
#include "core/io/byte_source.h"
#include "core/mil/blob_files.h"
#include "core/package/package_writer.h"
#include "core/rewrite/rewrite.h"

namespace mlpress::rewrite {

class BlobRelocator {
 public:
  BlobRelocator(mil::BlobFiles& blobs, PackageWriter& writer) : blobs_(blobs), writer_(writer) {}

  // Copies the blob `value` refers to (once) and re-points `value` at the copy.
  void relocate(CoreML::Specification::MILSpec::Value& value, const std::string& where);

  // Appends new data to the package-relative blob file `file`; returns its metadata offset.
  uint64_t append_new(const std::string& file, blob::BlobDType dtype,
                      std::span<const std::byte> bytes, uint64_t padding_bits);

  const std::set<std::string>& written_files() const { return files_; }
  void finish(RewriteReport& report);

 private:
  struct Output {
    std::unique_ptr<PackageFileSink> sink;
    std::unique_ptr<blob::BlobWriter> writer;
    std::map<uint64_t, uint64_t> moved;  // input metadata offset -> output metadata offset
  };
  Output& output_for(const std::string& file);

  mil::BlobFiles& blobs_;
  PackageWriter& writer_;
  std::map<std::string, Output> outputs_;
  std::set<std::string> files_;
};

}  // namespace mlpress::rewrite
