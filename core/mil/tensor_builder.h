#pragma once
// Builds MIL Values for tensors mlpress writes (constexpr payloads), choosing inline or blob
// storage the way coremltools does (shared/spec/FORMAT.md §5.2): tensors of 10 or more
// elements of a blob-able dtype go to weight.bin, everything else inline.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/blob/blob_format.h"

namespace mlpress::mil {

namespace spec = CoreML::Specification::MILSpec;

void set_tensor_type(spec::ValueType* type, int dtype, std::span<const uint64_t> dims);
spec::Value string_scalar_value(const std::string& text);
spec::Value int32_scalar_value(int32_t value);

// Appends a blob (packed bytes, padding bits) to the output blob file and returns its
// metadata offset.
using BlobAppender = std::function<uint64_t(blob::BlobDType dtype, std::span<const std::byte> bytes,
                                            uint64_t padding)>;

// A tensor value of `dtype` and `dims` whose elements are `elements`: one byte per element for
// 8-bit and sub-byte types (packed here), 2 bytes (LE) for fp16, 4 for fp32/int32.
spec::Value tensor_value(int dtype, std::span<const uint64_t> dims,
                         std::span<const std::byte> elements, const std::string& blob_file_name,
                         const BlobAppender& append_blob);

}  // namespace mlpress::mil
