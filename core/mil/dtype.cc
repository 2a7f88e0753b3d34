#include "core/mil/dtype.h"

namespace mlpress::mil {
namespace M = CoreML::Specification::MILSpec;

namespace {
struct DtypeInfo {
  int dtype;
  const char* name;
  int bits;  // 0: not numeric
  std::optional<blob::BlobDType> blob;
  bool is_float;
};

constexpr DtypeInfo kTable[] = {
    {M::BOOL, "bool", 0, std::nullopt, false},
    {M::STRING, "string", 0, std::nullopt, false},
    {M::FLOAT8E4M3FN, "fp8e4m3fn", 8, blob::BlobDType::Float8E4M3FN, true},
    {M::FLOAT8E5M2, "fp8e5m2", 8, blob::BlobDType::Float8E5M2, true},
    {M::FLOAT16, "fp16", 16, blob::BlobDType::Float16, true},
    {M::FLOAT32, "fp32", 32, blob::BlobDType::Float32, true},
    {M::FLOAT64, "fp64", 64, std::nullopt, true},
    {M::BFLOAT16, "bf16", 16, blob::BlobDType::BFloat16, true},
    {M::INT8, "int8", 8, blob::BlobDType::Int8, false},
    {M::INT16, "int16", 16, blob::BlobDType::Int16, false},
    {M::INT32, "int32", 32, blob::BlobDType::Int32, false},
    {M::INT64, "int64", 64, std::nullopt, false},
    {M::INT4, "int4", 4, blob::BlobDType::Int4, false},
    {M::UINT8, "uint8", 8, blob::BlobDType::UInt8, false},
    {M::UINT16, "uint16", 16, blob::BlobDType::UInt16, false},
    {M::UINT32, "uint32", 32, blob::BlobDType::UInt32, false},
    {M::UINT64, "uint64", 64, std::nullopt, false},
    {M::UINT4, "uint4", 4, blob::BlobDType::UInt4, false},
    {M::UINT2, "uint2", 2, blob::BlobDType::UInt2, false},
    {M::UINT1, "uint1", 1, blob::BlobDType::UInt1, false},
    {M::UINT6, "uint6", 6, blob::BlobDType::UInt6, false},
    {M::UINT3, "uint3", 3, blob::BlobDType::UInt3, false},
};

const DtypeInfo* find(int dtype) {
  for (const auto& info : kTable) {
    if (info.dtype == dtype) return &info;
  }
  return nullptr;
}
}  // namespace

std::string dtype_name(int dtype) {
  const DtypeInfo* info = find(dtype);
  return info ? info->name : "dtype(" + std::to_string(dtype) + ")";
}

std::optional<int> dtype_bits(int dtype) {
  const DtypeInfo* info = find(dtype);
  if (!info || info->bits == 0) return std::nullopt;
  return info->bits;
}

bool is_float(int dtype) {
  const DtypeInfo* info = find(dtype);
  return info && info->is_float;
}

bool is_numeric(int dtype) { return dtype_bits(dtype).has_value(); }

std::optional<blob::BlobDType> blob_dtype_for(int dtype) {
  const DtypeInfo* info = find(dtype);
  return info ? info->blob : std::nullopt;
}

}  // namespace mlpress::mil
