// CRC-32 throughput, in GB/s on one core: zlib's table code (crc32_update_zlib), the portable
// sparse path (crc32_update_sparse, what wasm and CPUs without PCLMULQDQ run) and crc32_update
// (what the zip writer calls: PCLMULQDQ folding where the CPU has it), over spans of 1 MiB down
// to 1 KiB. A benchmark, not a test: it asserts nothing about speed. Built natively and, by
// scripts/build_wasm.sh, for Node.js:
//
//   build/bench/mlpress_bench_crc32 [seconds per figure, default 0.3]
//   node build-wasm/mlpress-bench-crc32-simd.cjs
//
// Each figure is the best of many runs over the same span (it stays in cache, as a chunk the zip
// writer has just produced does). Every function is first called a few thousand times: V8 runs
// wasm in its baseline compiler until a function is hot, and a long call started there stays
// there, so without the warm-up the first figures time the baseline code.
//
// With --check it times nothing and checks instead that crc32_update and crc32_update_sparse
// give zlib's CRC for every length up to 9000 bytes at every start offset mod 16, for spans of
// several MiB and for a span fed in uneven pieces, with random start CRCs; it prints the number
// of mismatches (exit status 1 if any) and a digest of the CRCs, the same on every build. The C++
// unit tests run natively only: this is how the wasm build's CRC is checked.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bench/best_seconds.h"
#include "core/package/crc32.h"

namespace {

using mlpress::bench::best_seconds;

using mlpress::crc32_update;
using mlpress::crc32_update_sparse;
using mlpress::crc32_update_zlib;
using CrcFunction = uint32_t (*)(uint32_t, std::span<const std::byte>);

std::vector<std::byte> random_bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> bytes(size);
  for (auto& b : bytes) b = std::byte(uint8_t(rng()));
  return bytes;
}

// The --check mode (see the top of the file).
int check(uint32_t& digest) {
  const std::vector<std::byte> data = random_bytes((size_t(5) << 20) + 64, 1);
  std::mt19937 rng(2);
  int mismatches = 0;
  uint32_t all = 0;  // the CRC of every reference CRC, in order
  const auto compare = [&](uint32_t start, std::span<const std::byte> span) {
    const uint32_t expected = crc32_update_zlib(start, span);
    for (CrcFunction fn : {CrcFunction(crc32_update), CrcFunction(crc32_update_sparse)}) {
      if (fn(start, span) != expected) {
        if (++mismatches <= 10) {
          std::printf("mismatch: length %zu, start %08x\n", span.size(), unsigned(start));
        }
      }
    }
    all = crc32_update_zlib(all, std::as_bytes(std::span(&expected, 1)));
  };
  for (size_t length = 0; length <= 9000; ++length) {
    for (size_t offset = 0; offset < 16; ++offset) {
      compare(uint32_t(rng()), std::span(data).subspan(offset, length));
    }
  }
  for (size_t length : {size_t(1) << 20, (size_t(3) << 20) + 77, size_t(5) << 20}) {
    compare(0, std::span(data).first(length));
    compare(uint32_t(rng()), std::span(data).subspan(3, length));
  }
  // Uneven pieces, each through both paths, against the whole span's CRC.
  const auto whole = std::span(data).first(size_t(5) << 20);
  for (CrcFunction fn : {CrcFunction(crc32_update), CrcFunction(crc32_update_sparse)}) {
    uint32_t crc = 0;
    for (size_t done = 0, n = 1; done < whole.size(); n = n * 3 / 2 + 5) {
      const size_t take = std::min(n, whole.size() - done);
      crc = fn(crc, whole.subspan(done, take));
      done += take;
    }
    if (crc != crc32_update_zlib(0, whole)) {
      ++mismatches;
      std::printf("mismatch: the span in pieces\n");
    }
  }
  digest = all;
  return mismatches;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--check") {
    uint32_t digest = 0;
    const int mismatches = check(digest);
    std::printf("crc32 check: %d mismatches, digest %08x\n", mismatches, unsigned(digest));
    return mismatches == 0 ? 0 : 1;
  }
  const double budget = argc > 1 ? std::atof(argv[1]) : 0.3;
  const std::vector<std::byte> data = random_bytes(size_t(1) << 20, 3);
  const struct {
    const char* name;
    CrcFunction fn;
  } functions[] = {{"zlib crc32 (crc32_update_zlib)", crc32_update_zlib},
                   {"sparse xor path (crc32_update_sparse)", crc32_update_sparse},
                   {"crc32_update (what the zip writer runs)", crc32_update}};
  volatile uint32_t sink = 0;
  for (const auto& f : functions) {
    for (int i = 0; i < 5000; ++i) sink = sink + f.fn(uint32_t(i), std::span(data).first(1024));
  }
  std::printf("best of runs over %.2f s each\n\n", budget);
  std::printf("| function | span | throughput |\n|---|---|---|\n");
  for (size_t size : {size_t(1) << 20, size_t(64) << 10, size_t(4) << 10, size_t(1) << 10}) {
    const auto span = std::span(data).first(size);
    // Several calls per timed run for short spans, so the clock's resolution does not count.
    const size_t calls = std::max<size_t>(1, (size_t(256) << 10) / size);
    for (const auto& f : functions) {
      const double seconds = best_seconds(budget, [&] {
        for (size_t i = 0; i < calls; ++i) sink = sink + f.fn(uint32_t(i), span);
      });
      std::printf("| %-40s | %7zu B | %6.2f GB/s |\n", f.name, size,
                  double(size) * double(calls) / seconds / 1e9);
    }
  }
  return 0;
}
