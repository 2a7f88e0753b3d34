#pragma once
// CRC-32 as zip and zlib define it (reflected polynomial 0xEDB88320, pre- and post-inverted):
// crc32_update(0, data) is the CRC of `data`, and crc32_update(crc32_update(0, a), b) that of a
// followed by b. On x86-64 with PCLMULQDQ (chosen at run time) long spans are folded with
// carry-less multiplies; elsewhere (wasm, other CPUs) spans of a KiB and more take
// crc32_update_sparse; short spans zlib. Both fast paths run at 3-4 times zlib's speed natively,
// the sparse one at 4-6 times in wasm (docs/benchmarks.md).
#include <cstddef>
#include <cstdint>
#include <span>

namespace mlpress {

uint32_t crc32_update(uint32_t crc, std::span<const std::byte> data);

// zlib's table code alone (the reference the fast versions are tested against).
uint32_t crc32_update_zlib(uint32_t crc, std::span<const std::byte> data);

// The portable fast path (crc32.cc says how it works): plain xors of 16-byte blocks reduce the
// span to its last 300-odd bytes, which zlib finishes. Same results as crc32_update for every
// input; spans shorter than 316 bytes go to zlib whole. Exposed for the tests and the benchmark.
uint32_t crc32_update_sparse(uint32_t crc, std::span<const std::byte> data);

// The CRC-32 of A followed by B, from crc(A), crc(B) and B's length in bytes (any length).
uint32_t crc32_combine_lengths(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

}  // namespace mlpress
