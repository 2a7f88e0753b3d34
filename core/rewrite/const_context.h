#pragma once
// What every const compressor (quantize_const, palettize_const, prune_const) gets from the
// rewrite, and the small pieces they share: where new payloads go and how a compressed weight
// is reported.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/compress/error_metrics.h"
#include "core/mil/blob_files.h"
#include "core/mil/tensor_builder.h"
#include "core/rewrite/blob_relocator.h"
#include "core/rewrite/rewrite.h"

namespace mlpress::rewrite {

struct ConstContext {
  std::string where;       // names the model file, function and op for messages
  int opset_version = 0;   // 6 for CoreML6 ...
  std::string const_name;  // the const op's name, the stem of the new ops' names
  // A name not yet used in the function, made from `base` (coremltools' suffixes are kept).
  std::function<std::string(const std::string& base)> unique_name;
  // The name coremltools' builder gives an op it creates without one: "<type>_<i>", the
  // smallest i not used in the function (its outputs "<name>_0", "<name>_1" reserved too).
  std::function<std::string(const std::string& op_type)> auto_name;
  mil::BlobFiles* blobs = nullptr;
  BlobRelocator* relocator = nullptr;
  // The step runs with joint_compression: coremltools then casts int8/uint8 values to int32
  // before palettizing them, so numpy's int8 wrap-around does not apply.
  bool joint_compression = false;
  // Where new payloads go: (package-relative blob file, dtype, bytes, padding bits) -> the
  // payload's metadata offset. Unset: appended through `relocator`. Set when the compressed
  // result is recorded to be spliced in later (precomputed.h).
  std::function<uint64_t(const std::string& file, blob::BlobDType dtype,
                         std::span<const std::byte> bytes, uint64_t padding_bits)>
      append_payload;
};

// The ops replacing a const, in program order; consumers bind to the last one's output.
using Replacement = std::vector<CoreML::Specification::MILSpec::Operation>;

// Appends a compressed weight's payloads to the output blob file its source lived in
// (`file_name` as the program names it), counting the bytes written.
class PayloadSink {
 public:
  PayloadSink(const ConstContext& context, const std::string& file_name)
      : context_(context), file_(context.blobs->output_path_for(file_name)) {}

  mil::BlobAppender appender() {
    return [this](blob::BlobDType dtype, std::span<const std::byte> data, uint64_t padding) {
      stored_ += data.size();
      if (context_.append_payload) return context_.append_payload(file_, dtype, data, padding);
      return context_.relocator->append_new(file_, dtype, data, padding);
    };
  }
  uint64_t stored_bytes() const { return stored_; }

 private:
  const ConstContext& context_;
  std::string file_;
  uint64_t stored_ = 0;
};

inline void record_compressed(WeightOutcome& outcome, const Replacement& ops, uint64_t stored_bytes,
                              const compress::ErrorMetrics& metrics) {
  outcome.compressed = true;
  outcome.op_type = ops.back().type();
  outcome.stored_bytes = stored_bytes;
  outcome.snr_db = metrics.snr_db;
  outcome.cosine = metrics.cosine;
}

}  // namespace mlpress::rewrite
