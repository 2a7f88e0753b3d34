#pragma once
// The values of the const being compressed, read whole (the one weight in memory) and viewed
// as the fp16 or fp32 tensor the kernels take.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/compress/tensor_view.h"
#include "core/mil/blob_files.h"
#include "core/mil/tensor_type.h"

namespace mlpress::rewrite {

struct ConstTensor {
  mil::TensorShape shape;
  std::vector<std::byte> bytes;  // little-endian storage bytes, for consts other than fp16 / fp32
  // fp16 and fp32 consts: their storage bytes, which `view` shows as the tensor the kernels take.
  // Natively a blob's bytes are mapped from the input file where they are aligned for the
  // element type (`mapped`: no read, no copy; unmapped with the tensor); else they are read
  // straight from the blob into `float_storage` (no zero fill, no copy).
  std::unique_ptr<MappedBytes> mapped;
  std::unique_ptr<std::byte[]> float_storage;
  std::optional<compress::TensorView> view;  // set for fp16 and fp32 consts
  std::string file_name;                     // the blob file new payloads go to ("@model_path/...")
};

ConstTensor read_const_tensor(const CoreML::Specification::MILSpec::Operation& const_op,
                              mil::BlobFiles& blobs, const std::string& where);

// The tensor's bytes of the weight dtype for a kernel result held as fp16 bits or fp32.
std::vector<std::byte> float_bytes(const std::vector<uint16_t>& fp16,
                                   const std::vector<float>& fp32);

}  // namespace mlpress::rewrite
