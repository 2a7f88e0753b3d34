#pragma once
// Writes a fresh weight.bin exactly as coremltools' StorageWriter lays it out: 64-byte header,
// each blob's metadata at the next 64-byte boundary, data right after it, zeroed gaps and
// reserved fields, no trailing padding, header count kept exact.
#include <cstdint>
#include <functional>
#include <span>

#include "core/blob/blob_format.h"
#include "core/io/byte_source.h"

namespace mlpress::blob {

class BlobWriter {
 public:
  // Writes the header (count 0) at offset 0 of `sink`.
  explicit BlobWriter(ByteSink& sink);

  // Appends one blob of `size_in_bytes` data bytes; `fill(offset_in_data, chunk)` is called
  // with consecutive chunks (at most 1 MiB each) that it must fill, so that a blob never needs
  // to be in memory whole. `padding_bits` is written for sub-byte types, where it must pass the
  // reader's checks; other types get 0 whatever is passed. Returns the metadata offset (the
  // value BlobFileValue.offset takes). Throws mlpress::Error for an undefined dtype or a bad
  // sub-byte padding. If `fill` or the sink throws, the file still holds count() whole blobs.
  uint64_t append(BlobDType dtype, uint64_t size_in_bytes, uint64_t padding_bits,
                  const std::function<void(uint64_t, std::span<std::byte>)>& fill);

  // The same for data already in memory, written to the sink directly (no chunk copies).
  uint64_t append_bytes(BlobDType dtype, std::span<const std::byte> data, uint64_t padding_bits);

  uint32_t count() const { return count_; }
  uint64_t file_size() const { return end_; }

  // Largest chunk handed to `fill`.
  static constexpr uint64_t kFillChunkSize = uint64_t(1) << 20;

 private:
  // append and append_bytes: the data comes from `fill` when it is not null, else from `data`.
  uint64_t append_from(BlobDType dtype, uint64_t size_in_bytes, uint64_t padding_bits,
                       const std::function<void(uint64_t, std::span<std::byte>)>* fill,
                       std::span<const std::byte> data);

  ByteSink& sink_;
  uint32_t count_ = 0;
  uint64_t end_ = kHeaderSize;
};

}  // namespace mlpress::blob
