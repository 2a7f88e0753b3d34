#pragma once
// The bytes a compressed weight stores, computed from the kernel's result the way the
// encoders lay it out (FORMAT.md §5.2, §6): which tensors each op holds, tensors of 10 or more
// elements in weight.bin, smaller ones inline in model.mlmodel; sub-byte elements packed.
// The encoders (core/rewrite/*_const.cc) are not called: tests check these counts against the
// blobs mlpress and coremltools actually write.
#include <cstdint>

#include "core/compress/linear_quantize.h"
#include "core/compress/palettize.h"
#include "core/compress/prune.h"

namespace mlpress::plan {

struct StoredBytes {
  uint64_t payload = 0;  // data bytes of every tensor the ops hold (weight.bin and inline)
  uint64_t blob = 0;     // of those, the bytes in weight.bin (mlpress reports this as stored)
  // What the blobs take in weight.bin: each 64 bytes of metadata plus its data, starting at a
  // 64-byte boundary. The file's last blob has no trailing padding, so a whole file is at
  // most 63 bytes smaller than its header plus the sum of these.
  uint64_t file = 0;
  bool operator==(const StoredBytes&) const = default;
};

// A tensor of `count` elements of `bits` bits each.
void add_tensor(StoredBytes& bytes, uint64_t count, int bits);

// `opset_version` is the program's after compression (6 for CoreML6, ...): iOS16 and iOS18
// ops hold different tensors. `weight_bits` is 16 or 32.
StoredBytes dense_bytes(uint64_t count, int weight_bits);
StoredBytes quantized_bytes(const compress::LinearQuantResult& result, int opset_version,
                            int weight_bits);
// Without a per-channel scale (no choice here uses one).
StoredBytes palettized_bytes(const compress::PalettizeResult& result, int opset_version,
                             int weight_bits);
StoredBytes pruned_bytes(const compress::PruneResult& result, int opset_version, int weight_bits);

}  // namespace mlpress::plan
