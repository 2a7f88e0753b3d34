#include "core/blob/blob_format.h"

#include "core/io/error.h"

namespace mlpress::blob {
namespace {

// Apple writes these structs as raw memory on little-endian CPUs; spell LE out for portability.
template <typename T>
void store_le(std::span<std::byte> dst, size_t at, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) dst[at + i] = std::byte((value >> (8 * i)) & 0xFF);
}

template <typename T>
T load_le(std::span<const std::byte> src, size_t at) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= T(std::to_integer<uint8_t>(src[at + i])) << (8 * i);
  return value;
}

// Field offsets of §4.1 and §4.2.
constexpr size_t kHeaderCountAt = 0;
constexpr size_t kHeaderVersionAt = 4;
constexpr size_t kSentinelAt = 0;
constexpr size_t kDTypeAt = 4;
constexpr size_t kSizeAt = 8;
constexpr size_t kDataOffsetAt = 16;
constexpr size_t kPaddingAt = 24;

}  // namespace

std::optional<int> bits_per_element(uint32_t code) {
  switch (BlobDType(code)) {
    case BlobDType::UInt1:
      return 1;
    case BlobDType::UInt2:
      return 2;
    case BlobDType::UInt3:
      return 3;
    case BlobDType::Int4:
    case BlobDType::UInt4:
      return 4;
    case BlobDType::UInt6:
      return 6;
    case BlobDType::UInt8:
    case BlobDType::Int8:
    case BlobDType::Float8E4M3FN:
    case BlobDType::Float8E5M2:
      return 8;
    case BlobDType::Float16:
    case BlobDType::BFloat16:
    case BlobDType::Int16:
    case BlobDType::UInt16:
      return 16;
    case BlobDType::Float32:
    case BlobDType::Int32:
    case BlobDType::UInt32:
      return 32;
  }
  return std::nullopt;
}

std::string dtype_name(BlobDType dtype) {
  switch (dtype) {
    case BlobDType::Float16:
      return "float16";
    case BlobDType::Float32:
      return "float32";
    case BlobDType::UInt8:
      return "uint8";
    case BlobDType::Int8:
      return "int8";
    case BlobDType::BFloat16:
      return "bfloat16";
    case BlobDType::Int16:
      return "int16";
    case BlobDType::UInt16:
      return "uint16";
    case BlobDType::Int4:
      return "int4";
    case BlobDType::UInt1:
      return "uint1";
    case BlobDType::UInt2:
      return "uint2";
    case BlobDType::UInt4:
      return "uint4";
    case BlobDType::UInt3:
      return "uint3";
    case BlobDType::UInt6:
      return "uint6";
    case BlobDType::Int32:
      return "int32";
    case BlobDType::UInt32:
      return "uint32";
    case BlobDType::Float8E4M3FN:
      return "float8e4m3fn";
    case BlobDType::Float8E5M2:
      return "float8e5m2";
  }
  return "unknown(" + std::to_string(uint32_t(dtype)) + ")";
}

uint64_t BlobRecord::element_count() const {
  const std::optional<int> bits = bits_per_element(uint32_t(dtype));
  if (!bits) throw Error("unknown blob data type code " + std::to_string(uint32_t(dtype)));
  if (*bits >= 8) return size_in_bytes / uint64_t(*bits / 8);
  const uint64_t data_bits = size_in_bytes * 8;
  return data_bits < padding_bits ? 0 : (data_bits - padding_bits) / uint64_t(*bits);
}

std::optional<std::string> sub_byte_layout_problem(BlobDType dtype, uint64_t size_in_bytes,
                                                   uint64_t padding_bits) {
  if (!is_sub_byte(dtype)) return std::nullopt;
  const uint64_t bits = uint64_t(*bits_per_element(uint32_t(dtype)));
  const std::string padding =
      dtype_name(dtype) + " padding_size_in_bits is " + std::to_string(padding_bits);
  if (padding_bits >= 8) return padding + ", must be less than 8";
  // For widths dividing 8 the padding is whole unused elements; 3 and 6 straddle bytes.
  if (8 % bits == 0 && padding_bits % bits != 0) {
    return padding + ", must be a multiple of " + std::to_string(bits);
  }
  const uint64_t data_bits = size_in_bytes * 8;
  if (padding_bits > data_bits) {
    return padding + " but the data has only " + std::to_string(data_bits) + " bits";
  }
  if ((data_bits - padding_bits) % bits != 0) {
    return padding + ", so the " + std::to_string(size_in_bytes) + " data bytes hold " +
           std::to_string(data_bits - padding_bits) + " bits, not a whole number of " +
           std::to_string(bits) + "-bit elements";
  }
  return std::nullopt;
}

std::array<std::byte, kHeaderSize> encode_header(const StorageHeader& header) {
  std::array<std::byte, kHeaderSize> bytes{};
  store_le<uint32_t>(bytes, kHeaderCountAt, header.count);
  store_le<uint32_t>(bytes, kHeaderVersionAt, header.version);
  return bytes;
}

StorageHeader decode_header(std::span<const std::byte, kHeaderSize> bytes) {
  return {.count = load_le<uint32_t>(bytes, kHeaderCountAt),
          .version = load_le<uint32_t>(bytes, kHeaderVersionAt)};
}

std::array<std::byte, kMetadataSize> encode_metadata(const BlobRecord& record) {
  std::array<std::byte, kMetadataSize> bytes{};
  store_le<uint32_t>(bytes, kSentinelAt, kSentinel);
  store_le<uint32_t>(bytes, kDTypeAt, uint32_t(record.dtype));
  store_le<uint64_t>(bytes, kSizeAt, record.size_in_bytes);
  store_le<uint64_t>(bytes, kDataOffsetAt, record.data_offset);
  store_le<uint64_t>(bytes, kPaddingAt, record.padding_bits);
  return bytes;
}

StoredMetadata decode_metadata(std::span<const std::byte, kMetadataSize> bytes) {
  return {.sentinel = load_le<uint32_t>(bytes, kSentinelAt),
          .dtype_code = load_le<uint32_t>(bytes, kDTypeAt),
          .size_in_bytes = load_le<uint64_t>(bytes, kSizeAt),
          .data_offset = load_le<uint64_t>(bytes, kDataOffsetAt),
          .padding_bits = load_le<uint64_t>(bytes, kPaddingAt)};
}

}  // namespace mlpress::blob
