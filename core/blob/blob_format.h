#pragma once
// MIL blob storage v2 (weight.bin), shared/spec/FORMAT.md §4: constants and record layout.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mlpress::blob {

inline constexpr uint32_t kStorageVersion = 2;
inline constexpr uint32_t kSentinel = 0xDEADBEEF;
inline constexpr uint64_t kAlignment = 64;
inline constexpr uint64_t kHeaderSize = 64;
inline constexpr uint64_t kMetadataSize = 64;

// BlobDataType codes as stored in the metadata record (append-only, not in bit order).
enum class BlobDType : uint32_t {
  Float16 = 1,
  Float32 = 2,
  UInt8 = 3,
  Int8 = 4,
  BFloat16 = 5,
  Int16 = 6,
  UInt16 = 7,
  Int4 = 8,
  UInt1 = 9,
  UInt2 = 10,
  UInt4 = 11,
  UInt3 = 12,
  UInt6 = 13,
  Int32 = 14,
  UInt32 = 15,
  Float8E4M3FN = 16,
  Float8E5M2 = 17,
};

// Bits per element, or nullopt for a code this format does not define.
std::optional<int> bits_per_element(uint32_t code);
// Lower-case name ("float16", "uint4", ...); "unknown(<code>)" for an undefined code.
std::string dtype_name(BlobDType dtype);
inline bool is_sub_byte(BlobDType dtype) {
  return bits_per_element(uint32_t(dtype)).value_or(8) < 8;
}

// Packed size of `count` elements of `bits` each, and the unused high bits of the last byte.
inline uint64_t packed_size_in_bytes(uint64_t count, int bits) { return (count * bits + 7) / 8; }
inline uint64_t padding_bits(uint64_t count, int bits) { return (8 - (count * bits) % 8) % 8; }
inline uint64_t round_up_to_alignment(uint64_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

// One blob's metadata record, as read or to be written.
struct BlobRecord {
  uint64_t metadata_offset = 0;  // what BlobFileValue.offset holds
  BlobDType dtype = BlobDType::Float32;
  uint64_t size_in_bytes = 0;
  uint64_t data_offset = 0;   // absolute
  uint64_t padding_bits = 0;  // 0 for types that are not sub-byte
  // Derived from size, padding and dtype width; padding counts for sub-byte types only.
  // Throws mlpress::Error for an undefined dtype code.
  uint64_t element_count() const;
};

// The sub-byte rule of §4.3 that `padding_bits` breaks for `size_in_bytes` bytes of `dtype`,
// as a phrase for an error message; nullopt when the bytes hold whole elements. Types that are
// not sub-byte carry no padding, so there is never a problem with them.
std::optional<std::string> sub_byte_layout_problem(BlobDType dtype, uint64_t size_in_bytes,
                                                   uint64_t padding_bits);

// On-disk encodings (little-endian) of the 64-byte header and metadata record.
struct StorageHeader {
  uint32_t count = 0;
  uint32_t version = kStorageVersion;
};
// Fields of a metadata record exactly as stored, before any check.
struct StoredMetadata {
  uint32_t sentinel = 0;
  uint32_t dtype_code = 0;
  uint64_t size_in_bytes = 0;
  uint64_t data_offset = 0;
  uint64_t padding_bits = 0;
};

std::array<std::byte, kHeaderSize> encode_header(const StorageHeader& header);
StorageHeader decode_header(std::span<const std::byte, kHeaderSize> bytes);
// Sentinel, the record's fields, reserved bytes zero. `metadata_offset` is not stored.
std::array<std::byte, kMetadataSize> encode_metadata(const BlobRecord& record);
// Reserved bytes are ignored.
StoredMetadata decode_metadata(std::span<const std::byte, kMetadataSize> bytes);

}  // namespace mlpress::blob
