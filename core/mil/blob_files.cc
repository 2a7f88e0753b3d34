#include "core/mil/blob_files.h"

#include "core/io/error.h"
#include "core/mil/dtype.h"

namespace mlpress::mil {

BlobFiles::BlobFiles(PackageReader& package) : package_(package) {
  const std::string& root = package.root_model_file();
  const auto slash = root.find_last_of('/');
  model_dir_ = slash == std::string::npos ? "" : root.substr(0, slash + 1);
}

std::string BlobFiles::resolve(const std::string& file_name, const std::string& where) const {
  static const std::string kModelPath = "@model_path/";
  if (file_name.starts_with(kModelPath)) {
    const std::string candidate = model_dir_ + file_name.substr(kModelPath.size());
    if (package_.has_file(candidate)) return candidate;
  }
  const auto slash = file_name.find_last_of('/');
  const std::string base = slash == std::string::npos ? file_name : file_name.substr(slash + 1);
  if (!package_.weights_dir().empty()) {
    const std::string candidate = package_.weights_dir() + "/" + base;
    if (package_.has_file(candidate)) return candidate;
  }
  throw Error(where + ": blob file \"" + file_name + "\" is not in the package");
}

std::string BlobFiles::output_path_for(const std::string& file_name) const {
  static const std::string kModelPath = "@model_path/";
  if (file_name.starts_with(kModelPath)) return model_dir_ + file_name.substr(kModelPath.size());
  return model_dir_ + "weights/weight.bin";
}

LocatedBlob BlobFiles::locate(const CoreML::Specification::MILSpec::Value::BlobFileValue& blob,
                              const TensorShape& shape, const std::string& where) {
  const std::string file = resolve(blob.filename(), where);
  auto it = open_.find(file);
  if (it == open_.end()) {
    OpenFile opened;
    opened.source = package_.open_file(file);
    opened.reader = std::make_unique<blob::BlobReader>(*opened.source);
    it = open_.emplace(file, std::move(opened)).first;
  }
  blob::BlobReader& reader = *it->second.reader;
  const blob::BlobRecord record = reader.record_at(blob.offset());
  const std::string at = package_.describe(file) + ": blob at offset " +
                         std::to_string(blob.offset()) + " (" + where + ")";

  const auto expected_dtype = blob_dtype_for(shape.dtype);
  if (!expected_dtype) {
    throw Error(at + ": " + shape.to_string() + " cannot be stored in a blob file");
  }
  if (record.dtype != *expected_dtype) {
    throw Error(at + ": blob dtype is " + blob::dtype_name(record.dtype) +
                " but the program declares " + shape.to_string());
  }
  const int bits = *dtype_bits(shape.dtype);
  const uint64_t count = shape.element_count();
  const uint64_t expected_bytes = blob::packed_size_in_bytes(count, bits);
  if (record.size_in_bytes != expected_bytes ||
      (bits < 8 && record.padding_bits != blob::padding_bits(count, bits))) {
    throw Error(at + ": blob holds " + std::to_string(record.size_in_bytes) + " bytes (padding " +
                std::to_string(record.padding_bits) + " bits) but " + shape.to_string() +
                " needs " + std::to_string(expected_bytes) + " bytes");
  }
  return {file, record, &reader};
}

}  // namespace mlpress::mil
