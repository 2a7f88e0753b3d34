#pragma once
// Sub-byte packing, shared/spec/FORMAT.md §4.6: one continuous LSB-first bit stream, element i
// at bits [i*n, (i+1)*n). Used for blobs, immediate `bytes` values and the iOS16 uint8 index
// and mask streams alike.
#include <cstdint>
#include <span>

namespace mlpress::blob {

// Packs the low `bits` bits of each value (1..8) into `out`, which must hold
// packed_size_in_bytes(values.size(), bits) bytes; unused high bits of the last byte are 0.
// Bytes of `out` past that size are left alone. Throws std::invalid_argument when `bits` is
// outside 1..8 or `out` is too small.
void pack_bits(std::span<const uint8_t> values, int bits, std::span<uint8_t> out);

// Unpacks `out.size()` elements of `bits` each from `packed` (unsigned, 0..2^bits-1). Throws
// std::invalid_argument when `bits` is outside 1..8 or `packed` is too short.
void unpack_bits(std::span<const uint8_t> packed, int bits, std::span<uint8_t> out);

// Int4: packs the low 4 bits of each two's-complement value (meant for -8..7).
void pack_int4(std::span<const int8_t> values, std::span<uint8_t> out);

// Same, sign-extending 4-bit two's complement (int4: -8..7).
void unpack_int4(std::span<const uint8_t> packed, std::span<int8_t> out);

}  // namespace mlpress::blob
