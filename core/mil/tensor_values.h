#pragma once
// Decodes the elements of a constant tensor (inline or in a blob) as doubles, streaming in
// chunks so that no more than one chunk of a large blob is in memory.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/mil/blob_files.h"
#include "core/mil/tensor_type.h"

namespace mlpress::mil {

using ValueChunkVisitor = std::function<void(std::span<const double>)>;

// Calls `visit` with consecutive runs of the tensor's elements in row-major order. Throws
// naming `where` when the value's storage does not match `shape`.
void visit_tensor_values(const CoreML::Specification::MILSpec::Value& value,
                         const TensorShape& shape, BlobFiles& blobs, const std::string& where,
                         const ValueChunkVisitor& visit);

// The tensor's storage bytes, whole: little-endian elements (2 bytes for fp16, 4 for fp32)
// whether the value is inline or in a blob. For the weight being compressed: one at a time.
std::vector<std::byte> read_tensor_bytes(const CoreML::Specification::MILSpec::Value& value,
                                         const TensorShape& shape, BlobFiles& blobs,
                                         const std::string& where);
// The same into `out`, which must hold exactly the tensor's storage bytes (so the caller picks
// the buffer: the kernels read fp16 and fp32 weights straight from it, with no copy).
void read_tensor_bytes(const CoreML::Specification::MILSpec::Value& value, const TensorShape& shape,
                       BlobFiles& blobs, const std::string& where, std::span<std::byte> out);

struct ValueStats {
  uint64_t count = 0;
  uint64_t zeros = 0;
  uint64_t unique = 0;  // distinct values; -0 equals 0 and all NaNs count once, as numpy does
};

ValueStats value_stats(const CoreML::Specification::MILSpec::Value& value, const TensorShape& shape,
                       BlobFiles& blobs, const std::string& where);

}  // namespace mlpress::mil
