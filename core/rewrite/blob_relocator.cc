#include "core/rewrite/blob_relocator.h"

#include "core/mil/tensor_type.h"

namespace mlpress::rewrite {

void BlobRelocator::relocate(CoreML::Specification::MILSpec::Value& value,
                             const std::string& where) {
  if (!value.has_blobfilevalue()) return;
  auto* blob_value = value.mutable_blobfilevalue();
  const auto shape = mil::tensor_shape_of(value.type(), where);
  const mil::LocatedBlob located = blobs_.locate(*blob_value, shape, where);
  Output& out = output_for(located.file);
  auto [it, fresh] = out.moved.try_emplace(blob_value->offset(), 0);
  if (fresh) {
    // Padding bits mean something only for sub-byte types; other types' junk is not carried.
    const uint64_t padding =
        blob::is_sub_byte(located.record.dtype) ? located.record.padding_bits : 0;
    it->second = out.writer->append(located.record.dtype, located.record.size_in_bytes, padding,
                                    [&](uint64_t offset, std::span<std::byte> chunk) {
                                      located.reader->read_data(located.record, offset, chunk);
                                    });
  }
  blob_value->set_offset(it->second);
}

uint64_t BlobRelocator::append_new(const std::string& file, blob::BlobDType dtype,
                                   std::span<const std::byte> bytes, uint64_t padding_bits) {
  return output_for(file).writer->append_bytes(dtype, bytes, padding_bits);
}

void BlobRelocator::finish(RewriteReport& report) {
  for (auto& [file, out] : outputs_) {
    report.blobs_written += out.writer->count();
    report.blob_bytes_written += out.writer->file_size();
    out.sink->close();
  }
}

BlobRelocator::Output& BlobRelocator::output_for(const std::string& file) {
  auto it = outputs_.find(file);
  if (it != outputs_.end()) return it->second;
  Output out;
  // The blob writer rewrites only its header once a byte is past it (what a zip entry streamed
  // with a running CRC allows).
  out.sink = writer_.open_file(file, blob::kHeaderSize);
  out.writer = std::make_unique<blob::BlobWriter>(*out.sink);
  files_.insert(file);
  return outputs_.emplace(file, std::move(out)).first->second;
}

}  // namespace mlpress::rewrite
