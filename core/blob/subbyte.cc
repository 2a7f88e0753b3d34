#include "core/blob/subbyte.h"

#include <stdexcept>
#include <string>

#include "core/blob/blob_format.h"

namespace mlpress::blob {
namespace {

void require_width(int bits) {
  if (bits < 1 || bits > 8) {
    throw std::invalid_argument("sub-byte width must be 1..8, got " + std::to_string(bits));
  }
}

void require_packed_bytes(size_t have, size_t count, int bits) {
  const uint64_t need = packed_size_in_bytes(count, bits);
  if (have < need) {
    throw std::invalid_argument(std::to_string(count) + " elements of " + std::to_string(bits) +
                                " bits need " + std::to_string(need) + " packed bytes, got " +
                                std::to_string(have));
  }
}

}  // namespace

// Whole blocks of 8 elements: they fill exactly `bits` bytes. Returns the elements packed.
size_t pack_blocks_of_8(const uint8_t* values, size_t n, int bits, uint8_t* out) {
  const size_t blocks = n / 8;
  if (bits == 4) {  // the common width: two elements a byte, a loop compilers vectorise
    for (size_t b = 0; b < blocks * 4; ++b) {
      out[b] = uint8_t((values[2 * b] & 0x0Fu) | ((values[2 * b + 1] & 0x0Fu) << 4));
    }
    return blocks * 8;
  }
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* v = values + 8 * b;
    uint64_t word = 0;
    for (int k = 0; k < 8; ++k) word |= (v[k] & mask) << (k * bits);
    uint8_t* o = out + size_t(bits) * b;
    for (int k = 0; k < bits; ++k) o[k] = uint8_t(word >> (8 * k));
  }
  return blocks * 8;
}

// A bit accumulator: at most 7 pending bits plus one 8-bit element fit in 16 bits. Whole blocks
// of 8 elements go first, a block at a time.
void pack_bits(std::span<const uint8_t> values, int bits, std::span<uint8_t> out) {
  require_width(bits);
  require_packed_bytes(out.size(), values.size(), bits);
  const size_t done = pack_blocks_of_8(values.data(), values.size(), bits, out.data());
  const uint32_t mask = (1u << bits) - 1;
  uint32_t pending = 0;
  int pending_bits = 0;
  size_t o = done / 8 * size_t(bits);
  for (const uint8_t v : values.subspan(done)) {
    pending |= (v & mask) << pending_bits;
    pending_bits += bits;
    while (pending_bits >= 8) {
      out[o++] = uint8_t(pending);
      pending >>= 8;
      pending_bits -= 8;
    }
  }
  if (pending_bits > 0) out[o] = uint8_t(pending);
}

void unpack_bits(std::span<const uint8_t> packed, int bits, std::span<uint8_t> out) {
  require_width(bits);
  require_packed_bytes(packed.size(), out.size(), bits);
  const uint32_t mask = (1u << bits) - 1;
  uint32_t pending = 0;
  int pending_bits = 0;
  size_t p = 0;
  for (uint8_t& v : out) {
    if (pending_bits < bits) {
      pending |= uint32_t(packed[p++]) << pending_bits;
      pending_bits += 8;
    }
    v = uint8_t(pending & mask);
    pending >>= bits;
    pending_bits -= bits;
  }
}

// int8_t and uint8_t share their object representation, and uint8_t (unsigned char) may
// alias any object, so int4 reuses the unsigned kernels.
void pack_int4(std::span<const int8_t> values, std::span<uint8_t> out) {
  pack_bits({reinterpret_cast<const uint8_t*>(values.data()), values.size()}, 4, out);
}

void unpack_int4(std::span<const uint8_t> packed, std::span<int8_t> out) {
  unpack_bits(packed, 4, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  for (int8_t& v : out) v = int8_t((v ^ 8) - 8);  // v is 0..15 here; sign-extend bit 3
}

}  // namespace mlpress::blob
