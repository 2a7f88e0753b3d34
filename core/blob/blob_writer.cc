#include "core/blob/blob_writer.h"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <string>

#include "core/io/error.h"

namespace mlpress::blob {

BlobWriter::BlobWriter(ByteSink& sink) : sink_(sink) {
  sink_.write_at(0, encode_header({.count = 0}));
}

uint64_t BlobWriter::append(BlobDType dtype, uint64_t size_in_bytes, uint64_t padding_bits,
                            const std::function<void(uint64_t, std::span<std::byte>)>& fill) {
  return append_from(dtype, size_in_bytes, padding_bits, &fill, {});
}

uint64_t BlobWriter::append_bytes(BlobDType dtype, std::span<const std::byte> data,
                                  uint64_t padding_bits) {
  return append_from(dtype, data.size(), padding_bits, nullptr, data);
}

uint64_t BlobWriter::append_from(BlobDType dtype, uint64_t size_in_bytes, uint64_t padding_bits,
                                 const std::function<void(uint64_t, std::span<std::byte>)>* fill,
                                 std::span<const std::byte> data) {
  const auto error = [&](const std::string& what) {
    return Error(sink_.describe() + ": blob " + std::to_string(count_) + ": " + what);
  };
  if (!bits_per_element(uint32_t(dtype))) {
    throw error("unknown data type code " + std::to_string(uint32_t(dtype)));
  }
  if (!is_sub_byte(dtype)) padding_bits = 0;
  if (auto problem = sub_byte_layout_problem(dtype, size_in_bytes, padding_bits)) {
    throw error(*problem);
  }
  if (count_ == std::numeric_limits<uint32_t>::max()) {
    throw error("the header cannot count more blobs");
  }

  const uint64_t metadata_offset = round_up_to_alignment(end_);
  const BlobRecord record{.metadata_offset = metadata_offset,
                          .dtype = dtype,
                          .size_in_bytes = size_in_bytes,
                          .data_offset = metadata_offset + kMetadataSize,
                          .padding_bits = padding_bits};
  // Explicit zeros: a sink is not required to zero-fill what is skipped.
  const std::array<std::byte, kAlignment> zeros{};
  sink_.write_at(end_, std::span(zeros).first(metadata_offset - end_));
  sink_.write_at(metadata_offset, encode_metadata(record));

  if (fill) {
    // The chunk is not zero-filled: fill writes every byte of it.
    const size_t chunk_size = size_t(std::min(size_in_bytes, kFillChunkSize));
    const std::unique_ptr<std::byte[]> chunk(new std::byte[chunk_size]);
    for (uint64_t done = 0; done < size_in_bytes;) {
      const std::span<std::byte> part(chunk.get(),
                                      size_t(std::min<uint64_t>(chunk_size, size_in_bytes - done)));
      (*fill)(done, part);
      sink_.write_at(record.data_offset + done, part);
      done += part.size();
    }
  } else {
    sink_.write_at(record.data_offset, data);  // data already in memory: written as it is
  }

  // Only now does the blob count, so a failed append leaves a file of count_ whole blobs.
  end_ = record.data_offset + size_in_bytes;
  ++count_;
  sink_.write_at(0, encode_header({.count = count_}));
  return metadata_offset;
}

}  // namespace mlpress::blob
