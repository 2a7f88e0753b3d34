#include "core/blob/blob_reader.h"

#include <array>
#include <cstdio>
#include <string>

#include "core/io/error.h"

namespace mlpress::blob {
namespace {

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(value));
  return text;
}

}  // namespace

BlobReader::BlobReader(ByteSource& source) : source_(source) {
  require_range(source_, 0, kHeaderSize, "blob storage header");
  std::array<std::byte, kHeaderSize> bytes;
  source_.read_at(0, bytes);
  const StorageHeader header = decode_header(bytes);
  if (header.version != kStorageVersion) {
    throw Error(source_.describe() + ": blob storage version is " + std::to_string(header.version) +
                ", expected " + std::to_string(kStorageVersion));
  }
  count_ = header.count;
}

BlobRecord BlobReader::record_at(uint64_t metadata_offset) const {
  require_range(source_, metadata_offset, kMetadataSize, "blob metadata");
  std::array<std::byte, kMetadataSize> bytes;
  source_.read_at(metadata_offset, bytes);
  const StoredMetadata stored = decode_metadata(bytes);

  const std::string where =
      source_.describe() + ": blob at offset " + std::to_string(metadata_offset) + ": ";
  if (stored.sentinel != kSentinel) {
    throw Error(where + "sentinel is " + hex32(stored.sentinel) + ", expected " + hex32(kSentinel));
  }
  if (!bits_per_element(stored.dtype_code)) {
    throw Error(where + "unknown data type code " + std::to_string(stored.dtype_code));
  }
  const auto dtype = BlobDType(stored.dtype_code);
  // require_range names the file itself; give it the rest of the prefix.
  require_range(source_, stored.data_offset, stored.size_in_bytes,
                "blob at offset " + std::to_string(metadata_offset) + ": data");
  // Real files carry junk in the padding field of types that are not sub-byte.
  const uint64_t padding = is_sub_byte(dtype) ? stored.padding_bits : 0;
  if (auto problem = sub_byte_layout_problem(dtype, stored.size_in_bytes, padding)) {
    throw Error(where + *problem);
  }
  return {.metadata_offset = metadata_offset,
          .dtype = dtype,
          .size_in_bytes = stored.size_in_bytes,
          .data_offset = stored.data_offset,
          .padding_bits = padding};
}

void BlobReader::require_data_range(const BlobRecord& record, uint64_t offset_in_data,
                                    uint64_t length) const {
  if (offset_in_data > record.size_in_bytes || length > record.size_in_bytes - offset_in_data) {
    throw Error(source_.describe() + ": blob at offset " + std::to_string(record.metadata_offset) +
                ": read of " + std::to_string(length) + " bytes at " +
                std::to_string(offset_in_data) + " runs past its " +
                std::to_string(record.size_in_bytes) + " data bytes");
  }
}

void BlobReader::read_data(const BlobRecord& record, uint64_t offset_in_data,
                           std::span<std::byte> dst) const {
  require_data_range(record, offset_in_data, dst.size());
  source_.read_at(record.data_offset + offset_in_data, dst);
}

std::unique_ptr<MappedBytes> BlobReader::map_data(const BlobRecord& record, uint64_t offset_in_data,
                                                  uint64_t length) const {
  require_data_range(record, offset_in_data, length);
  return source_.map_range(record.data_offset + offset_in_data, length);
}

std::vector<BlobRecord> BlobReader::records() const {
  std::vector<BlobRecord> result;
  uint64_t next = kHeaderSize;
  for (uint32_t i = 0; i < count_; ++i) {
    result.push_back(record_at(next));
    next = round_up_to_alignment(result.back().data_offset + result.back().size_in_bytes);
  }
  return result;
}

}  // namespace mlpress::blob
