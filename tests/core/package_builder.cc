#include "tests/core/package_builder.h"

#include <fstream>
#include <random>

#include "core/blob/blob_writer.h"
#include "core/io/byte_source.h"
#include "core/package/zip_writer.h"

namespace mlpress::testing {
namespace fs = std::filesystem;
namespace M = CoreML::Specification::MILSpec;

namespace {

void set_tensor_type(M::ValueType* type, M::DataType dtype, const std::vector<uint64_t>& dims) {
  auto* tensor = type->mutable_tensortype();
  tensor->set_datatype(dtype);
  tensor->set_rank(static_cast<int64_t>(dims.size()));
  for (uint64_t d : dims) tensor->add_dimensions()->mutable_constant()->set_size(d);
}

M::Value string_value(const std::string& s) {
  M::Value value;
  set_tensor_type(value.mutable_type(), M::STRING, {});
  value.mutable_immediatevalue()->mutable_tensor()->mutable_strings()->add_values(s);
  return value;
}

void write_file(const fs::path& path, const void* data, size_t size) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

CoreML::Specification::Model tiny_model() {
  CoreML::Specification::Model model;
  model.set_specificationversion(7);
  auto* program = model.mutable_mlprogram();
  program->set_version(1);
  auto& function = (*program->mutable_functions())["main"];
  function.set_opset("CoreML6");
  auto& block = (*function.mutable_block_specializations())["CoreML6"];
  block.add_outputs("y");

  auto* weight = block.add_operations();
  weight->set_type("const");
  (*weight->mutable_attributes())["name"] = string_value("w");
  M::Value val;
  set_tensor_type(val.mutable_type(), M::FLOAT16, {4, 4});
  val.mutable_blobfilevalue()->set_filename("@model_path/weights/weight.bin");
  val.mutable_blobfilevalue()->set_offset(64);
  (*weight->mutable_attributes())["val"] = val;
  auto* w_out = weight->add_outputs();
  w_out->set_name("w");
  set_tensor_type(w_out->mutable_type(), M::FLOAT16, {4, 4});

  auto* relu = block.add_operations();
  relu->set_type("relu");
  (*relu->mutable_attributes())["name"] = string_value("y");
  (*relu->mutable_inputs())["x"].add_arguments()->set_name("w");
  auto* y_out = relu->add_outputs();
  y_out->set_name("y");
  set_tensor_type(y_out->mutable_type(), M::FLOAT16, {4, 4});
  return model;
}

std::vector<std::byte> tiny_weights() {
  MemorySink sink("weight.bin");
  blob::BlobWriter writer(sink);
  std::vector<std::byte> data(32);
  for (size_t i = 0; i < 16; ++i) data[2 * i + 1] = std::byte{0x3C};  // fp16 1.0
  writer.append_bytes(blob::BlobDType::Float16, data, 0);
  return sink.bytes();
}

std::string tiny_manifest(const std::string& root_path) {
  return R"({
    "fileFormatVersion": "1.0.0",
    "itemInfoEntries": {
        "A": {"author": "com.apple.CoreML", "description": "CoreML Model Weights",
              "name": "weights", "path": "com.apple.CoreML/weights"},
        "B": {"author": "com.apple.CoreML", "description": "CoreML Model Specification",
              "name": "model.mlmodel", "path": ")" +
         root_path + R"("}
    },
    "rootModelIdentifier": "B"
})";
}

PackageParts tiny_parts() {
  return {tiny_manifest(), tiny_model().SerializeAsString(), tiny_weights()};
}

TempDir::TempDir() {
  std::random_device device;
  path_ = fs::temp_directory_path() / ("mlpress-test-" + std::to_string(device()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string write_package_dir(const fs::path& dir, const std::string& name,
                              const PackageParts& parts) {
  const fs::path root = dir / (name + ".mlpackage");
  write_file(root / "Manifest.json", parts.manifest.data(), parts.manifest.size());
  write_file(root / "Data/com.apple.CoreML/model.mlmodel", parts.model.data(), parts.model.size());
  write_file(root / "Data/com.apple.CoreML/weights/weight.bin", parts.weights.data(),
             parts.weights.size());
  return root.string();
}

void zip_package_dir(const std::string& package_dir, const std::string& zip_path,
                     const std::string& top) {
  ZipWriter zip(zip_path);
  for (const auto& entry : fs::recursive_directory_iterator(package_dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), package_dir).generic_string();
    zip.add_file(top + rel, entry.path().string(), false);
  }
  zip.close();
}

}  // namespace mlpress::testing
