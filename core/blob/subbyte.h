#pragma once
// Sub-byte packing, shared/spec/FORMAT.md §4.6: one continuous LSB-first bit stream, element i
// at bits [i*n, (i+1)*n). Used for blobs, immediate `bytes` values and the iOS16 uint8 index
// and mask streams alike.
#include <cstdint>
#include <span>

namespace mlpress::blob {

// Packs the low `bits` bits of each value (1..8) into `out`, which must hold
// packed_size_in_bytes(values.size(), bits) bytes; unused high bits of the last byte are 0.
void pack_bits(std::span<const uint8_t> values, int bits, std::span<uint8_t> out);

// Unpacks `out.size()` elements of `bits` each from `packed` (unsigned, 0..2^bits-1).
void unpack_bits(std::span<const uint8_t> packed, int bits, std::span<uint8_t> out);

// Same, sign-extending 4-bit two's complement (int4: -8..7).
void unpack_int4(std::span<const uint8_t> packed, std::span<int8_t> out);

}  // namespace mlpress::blob
