#pragma once
// The weight index: every constant tensor of a program with its type, storage, consumers and
// any compression it already carries. Walks every function and nested block.
#include <optional>
#include <string>
#include <vector>

#include "core/mil/model_file.h"
#include "core/mil/tensor_type.h"

namespace mlpress::mil {

struct Consumer {
  std::string op_type;
  std::string op_name;
  std::string parameter;
};

// What an existing constexpr chain does to the weight it produces.
struct ExistingCompression {
  std::string kind;              // "quantized", "palettized", "sparse", "sparse+palettized", ...
  std::vector<std::string> ops;  // the chain's op types, producer first
  std::optional<int> nbits;      // index or quantized-value width
  std::string granularity;       // per_tensor, per_channel, per_block, per_grouped_channel
  std::optional<int> axis;       // per_channel axis
  std::vector<uint64_t> block_sizes;    // per_block / grouped: size of a block along each axis
  std::optional<uint64_t> cluster_dim;  // vector palettization
  std::optional<double> sparsity;       // fraction of zeros fixed by a mask
  bool lut_quantized = false;           // the LUT itself is int8/uint8 + scale
  bool per_channel_scale = false;       // LUT output multiplied by a per-channel scale
};

struct WeightInfo {
  std::string program;  // ProgramRef::id
  std::string function;
  std::string name;  // the output var consumers bind to
  std::string op_name;
  std::string op_type;  // "const" or the final constexpr op
  TensorShape shape;
  const CoreML::Specification::MILSpec::Value* value = nullptr;  // const ops: their "val"
  std::vector<Consumer> consumers;
  bool is_block_output = false;
  std::optional<ExistingCompression> compression;
};

struct FunctionInfo {
  std::string name;
  std::string opset;
  uint64_t op_count = 0;  // including nested blocks
};

struct ProgramIndex {
  std::string id;
  int specification_version = 0;
  std::vector<FunctionInfo> functions;  // sorted by name
  std::vector<WeightInfo> weights;      // function order, then op order
};

// Throws naming `origin` on a malformed program (version != 1, opset without its block, a
// const without a tensor value).
ProgramIndex index_program(const ProgramRef& program, const std::string& origin);

}  // namespace mlpress::mil
