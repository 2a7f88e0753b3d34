// Streams out a large synthetic .mlpackage (zip or folder) for the memory tests: an ML Program
// (CoreML6) that chains `layers` linear ops over an fp16 vector of `dim` values, each with an
// fp16 [dim, dim] weight and a [dim] bias in weight.bin. The weights are written one 1 MiB chunk
// at a time through the project's BlobWriter and zipped (weight.bin stored) by its
// PackageWriter, so the program's memory does not grow with the package.
//
//   make_synthetic_package OUT.mlpackage.zip LAYERS DIM
//
// Weight values are deterministic pseudo-random fp16 numbers with magnitudes in [2^-7, 2^-3).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "Model.pb.h"
#include "core/blob/blob_writer.h"
#include "core/io/byte_source.h"
#include "core/io/error.h"
#include "core/package/package_writer.h"

namespace {

namespace M = CoreML::Specification::MILSpec;
namespace S = CoreML::Specification;

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

void add_const(M::Block& block, const std::string& name, const std::vector<uint64_t>& dims,
               uint64_t blob_offset) {
  auto* op = block.add_operations();
  op->set_type("const");
  (*op->mutable_attributes())["name"] = string_value(name);
  M::Value val;
  set_tensor_type(val.mutable_type(), M::FLOAT16, dims);
  val.mutable_blobfilevalue()->set_filename("@model_path/weights/weight.bin");
  val.mutable_blobfilevalue()->set_offset(blob_offset);
  (*op->mutable_attributes())["val"] = val;
  auto* out = op->add_outputs();
  out->set_name(name);
  set_tensor_type(out->mutable_type(), M::FLOAT16, dims);
}

void add_linear(M::Block& block, const std::string& name, const std::string& x,
                const std::string& weight, const std::string& bias, uint64_t dim) {
  auto* op = block.add_operations();
  op->set_type("linear");
  (*op->mutable_attributes())["name"] = string_value(name);
  (*op->mutable_inputs())["x"].add_arguments()->set_name(x);
  (*op->mutable_inputs())["weight"].add_arguments()->set_name(weight);
  (*op->mutable_inputs())["bias"].add_arguments()->set_name(bias);
  auto* out = op->add_outputs();
  out->set_name(name);
  set_tensor_type(out->mutable_type(), M::FLOAT16, {1, dim});
}

void describe_feature(S::FeatureDescription* feature, const std::string& name, uint64_t dim) {
  feature->set_name(name);
  auto* array = feature->mutable_type()->mutable_multiarraytype();
  array->add_shape(1);
  array->add_shape(static_cast<int64_t>(dim));
  array->set_datatype(S::ArrayFeatureType::FLOAT16);
}

// xorshift64*: fast, deterministic, good enough for weights nobody reads for meaning.
struct Random {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  uint64_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Dull;
  }
};

// Four fp16 values per draw: random sign and mantissa, exponent field 8..11.
void fill_fp16(Random& random, std::span<std::byte> chunk) {
  for (size_t i = 0; i + 8 <= chunk.size(); i += 8) {
    uint64_t bits = random.next();
    for (size_t k = 0; k < 4; ++k, bits >>= 16) {
      const auto v = static_cast<uint16_t>(bits);
      const uint16_t half = static_cast<uint16_t>((v & 0x83FF) | ((8 + ((v >> 10) & 3)) << 10));
      chunk[i + 2 * k] = std::byte(half & 0xFF);
      chunk[i + 2 * k + 1] = std::byte(half >> 8);
    }
  }
}

std::string manifest() {
  return R"({
    "fileFormatVersion": "1.0.0",
    "itemInfoEntries": {
        "A": {"author": "com.apple.CoreML", "description": "CoreML Model Weights",
              "name": "weights", "path": "com.apple.CoreML/weights"},
        "B": {"author": "com.apple.CoreML", "description": "CoreML Model Specification",
              "name": "model.mlmodel", "path": "com.apple.CoreML/model.mlmodel"}
    },
    "rootModelIdentifier": "B"
}
)";
}

void write_text(const std::string& path, const std::string& text) {
  mlpress::FileSink sink(path);
  sink.write_at(0, std::as_bytes(std::span(text.data(), text.size())));
  sink.close();
}

uint64_t make_package(const std::string& out, uint64_t layers, uint64_t dim) {
  mlpress::PackageWriter writer(out);
  write_text(writer.staged_path("Manifest.json"), manifest());

  S::Model model;
  model.set_specificationversion(7);
  describe_feature(model.mutable_description()->add_input(), "x", dim);
  describe_feature(model.mutable_description()->add_output(), "y", dim);
  auto* program = model.mutable_mlprogram();
  program->set_version(1);
  auto& function = (*program->mutable_functions())["main"];
  function.set_opset("CoreML6");
  auto* input = function.add_inputs();
  input->set_name("x");
  set_tensor_type(input->mutable_type(), M::FLOAT16, {1, dim});
  auto& block = (*function.mutable_block_specializations())["CoreML6"];

  mlpress::FileSink weights(writer.staged_path("Data/com.apple.CoreML/weights/weight.bin"));
  mlpress::blob::BlobWriter blobs(weights);
  Random random;
  const auto fill = [&random](uint64_t, std::span<std::byte> chunk) { fill_fp16(random, chunk); };
  std::string x = "x";
  for (uint64_t i = 0; i < layers; ++i) {
    const std::string n = std::to_string(i);
    const uint64_t w = blobs.append(mlpress::blob::BlobDType::Float16, dim * dim * 2, 0, fill);
    const uint64_t b = blobs.append(mlpress::blob::BlobDType::Float16, dim * 2, 0, fill);
    add_const(block, "layer" + n + "_weight", {dim, dim}, w);
    add_const(block, "layer" + n + "_bias", {dim}, b);
    const std::string y = i + 1 == layers ? std::string("y") : "layer" + n;
    add_linear(block, y, x, "layer" + n + "_weight", "layer" + n + "_bias", dim);
    x = y;
  }
  weights.close();
  block.add_outputs("y");
  write_text(writer.staged_path("Data/com.apple.CoreML/model.mlmodel"), model.SerializeAsString());
  return writer.commit();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: make_synthetic_package OUT.mlpackage.zip LAYERS DIM\n");
    return 2;
  }
  const uint64_t layers = std::strtoull(argv[2], nullptr, 10);
  const uint64_t dim = std::strtoull(argv[3], nullptr, 10);
  if (layers == 0 || dim == 0 || dim % 4 != 0) {
    std::fprintf(stderr, "make_synthetic_package: LAYERS > 0 and DIM a multiple of 4\n");
    return 2;
  }
  try {
    const uint64_t size = make_package(argv[1], layers, dim);
    std::printf("%s: %llu bytes\n", argv[1], static_cast<unsigned long long>(size));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_synthetic_package: %s\n", e.what());
    return 1;
  }
  return 0;
}
