#pragma once
// Reads records and data of a weight.bin through a ByteSource, checking every rule of
// shared/spec/FORMAT.md §4.3 with messages that name the file and offset. The reserved
// metadata bytes are ignored (real files carry junk there), and so is padding_size_in_bits
// for types that are not sub-byte.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/blob/blob_format.h"
#include "core/io/byte_source.h"

namespace mlpress::blob {

class BlobReader {
 public:
  // Validates the 64-byte header (version 2). Does not read any blob.
  explicit BlobReader(ByteSource& source);

  // Reads and validates the metadata record at `metadata_offset`: inside the file, sentinel,
  // known dtype, data range inside the file, sub-byte padding rules.
  BlobRecord record_at(uint64_t metadata_offset) const;

  // Reads `dst.size()` raw data bytes of `record`, starting `offset_in_data` bytes into its data;
  // throws when that range runs past the record's data.
  void read_data(const BlobRecord& record, uint64_t offset_in_data, std::span<std::byte> dst) const;

  // The same range as read-only memory without a copy when the source can map it
  // (ByteSource::map_range), else nullptr (then read_data); throws as read_data does.
  std::unique_ptr<MappedBytes> map_data(const BlobRecord& record, uint64_t offset_in_data,
                                        uint64_t length) const;

  // Walks the declared_count() records from offset 64, each next one at the 64-byte boundary
  // after the previous one's data, checking each as record_at does.
  std::vector<BlobRecord> records() const;

  uint32_t declared_count() const { return count_; }
  ByteSource& source() const { return source_; }

 private:
  // Throws unless [offset_in_data, offset_in_data + length) lies inside the record's data.
  void require_data_range(const BlobRecord& record, uint64_t offset_in_data, uint64_t length) const;

  ByteSource& source_;
  uint32_t count_ = 0;
};

}  // namespace mlpress::blob
