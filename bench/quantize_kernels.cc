// Throughput of the linear quantization kernels, in GB/s of weight input per core: the scalar
// reference and every SIMD kernel set this build and CPU can run, on one 1024 x 1024 weight
// (int8 symmetric per channel, the shape and config of scripts/bench_quantize.py), then the
// whole quantize_linear call on one thread and on all of them. A benchmark, not a test: it
// asserts nothing about speed. Built natively and, by scripts/build_wasm.sh, for Node.js:
//
//   build/bench/mlpress_bench_kernels [seconds per figure, default 0.5]
//   node build-wasm/mlpress-bench-kernels-simd.cjs
//
// Each kernel figure is the best of many timed runs over a slice of kSliceRows rows (one run
// lasts well under a scheduler time slice even for the scalar kernels, so the best run is
// seldom preempted on a busy machine); the quantize_linear figures time the whole weight. The
// first lines name the kernel sets and thread count.
//
// With --check it times nothing and checks instead that every SIMD kernel set gives the scalar
// reference's codes and error sums bit for bit on every finite binary16 value, with and without
// infinity and NaN, over segment lengths, scales, zero points and code ranges on both sides of
// the fast path's conditions (exit status 1 on a mismatch). tests/wasm/kernels.test.mjs runs it
// on the wasm build, whose simd128 kernels the C++ unit tests (native only) do not reach.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/best_seconds.h"
#include "core/compress/fp16_convert.h"
#include "core/compress/linear_quantize.h"
#include "core/compress/linear_quantize_kernels.h"
#include "core/compress/parallel_chunks.h"

namespace {

using namespace mlpress::compress;
using mlpress::bench::best_seconds;

constexpr size_t kRows = 1024;
constexpr size_t kCols = 1024;
constexpr size_t kSliceRows = 16;

void report(const std::string& what, double bytes, double seconds) {
  std::printf("| %-52s | %8.3f ms | %6.2f GB/s |\n", what.c_str(), seconds * 1e3,
              bytes / seconds / 1e9);
}

bool same_double(double a, double b) {
  if (a != a || b != b) return a != a && b != b;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same_sums(const ErrorSums& a, const ErrorSums& b) {
  return same_double(a.signal, b.signal) && same_double(a.noise, b.noise) &&
         same_double(a.dot, b.dot) && same_double(a.recon_energy, b.recon_energy) &&
         same_double(a.max_abs, b.max_abs);
}

// The --check mode (see the top of the file). Returns the number of mismatching cases.
int check_fp16_twins(const std::vector<const kernels::RowKernels*>& sets) {
  std::vector<uint16_t> finite;
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if ((bits & 0x7C00) != 0x7C00) finite.push_back(uint16_t(bits));
  }
  std::shuffle(finite.begin(), finite.end(), std::mt19937(13));
  const float scales[] = {0x1p-14f,
                          round_to_fp16(0.02f / 127),
                          round_to_fp16(1 / 3.0f),
                          1.0f,
                          round_to_fp16(65504.0f / 255),
                          512.0f,
                          0x1p-15f,
                          0.0f};
  const kernels::CodeRange ranges[] = {{-128, 127}, {0, 255}, {-8, 7}, {0, 15}};
  int cases = 0, mismatches = 0;
  for (int special = 0; special < 3; ++special) {
    std::vector<uint16_t> h = finite;
    if (special == 1) h[777] = 0x7C00;  // +inf
    if (special == 2) {
      h[40000] = 0xFE00;  // NaN
      h[5] = 0xFC00;      // -inf
    }
    for (size_t segment : {h.size(), size_t(64), size_t(8), size_t(1)}) {
      const size_t blocks = h.size() / segment;
      for (const kernels::CodeRange range : ranges) {
        for (const float s : scales) {
          for (int zero_kind = 0; zero_kind < 3; ++zero_kind) {
            std::vector<float> scale(blocks), zero(blocks);
            for (size_t k = 0; k < blocks; ++k) {
              scale[k] = k % 5 == 4 ? round_to_fp16(s * 1.5f) : s;
              const int z = zero_kind == 0 ? 0 : zero_kind == 1 ? 2 * int(k % 3) : int(k % 7) - 3;
              zero[k] = float(std::clamp(z, range.qmin, range.qmax));
            }
            const kernels::SegmentParams p{scale.data(), zero.data(), zero.data()};
            std::vector<uint8_t> a(h.size()), b(h.size());
            const ErrorSums sa = kernels::scalar_kernels().quantize_fp16(
                h.data(), h.size(), segment, p, range, a.data());
            for (const kernels::RowKernels* k : sets) {
              ++cases;
              const ErrorSums sb =
                  k->quantize_fp16(h.data(), h.size(), segment, p, range, b.data());
              if (a == b && same_sums(sa, sb)) continue;
              if (mismatches++ < 10) {
                std::printf(
                    "MISMATCH %s: special %d, segment %zu, scale %g, zeros %d, codes %d..%d\n",
                    k->name, special, segment, s, zero_kind, range.qmin, range.qmax);
              }
            }
          }
        }
      }
    }
  }
  std::printf("%d cases, %d mismatches\n", cases, mismatches);
  return mismatches;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--check") {
    std::vector<const kernels::RowKernels*> sets = {&kernels::portable_simd_kernels()};
    if (kernels::x86_avx2_kernels()) sets.push_back(kernels::x86_avx2_kernels());
    return check_fp16_twins(sets) == 0 ? 0 : 1;
  }
  const double budget = argc > 1 ? std::atof(argv[1]) : 0.5;
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<uint16_t> fp16(kRows * kCols);
  std::vector<float> fp32(kRows * kCols);
  for (size_t i = 0; i < fp16.size(); ++i) {
    fp16[i] = float_to_fp16(normal(rng));
    fp32[i] = fp16_to_float(fp16[i]);
  }
  const double fp16_bytes = double(fp16.size()) * 2;
  const double slice16 = double(kSliceRows * kCols) * 2;
  const double slice32 = double(kSliceRows * kCols) * 4;
  size_t slice = 0;  // first row of the next timed slice (they rotate over the weight)
  const auto next_slice = [&] {
    slice = (slice + kSliceRows) % kRows;
    return slice;
  };

  // Per-channel int8 symmetric block parameters, as quantize_linear computes them.
  const TensorView view16 = TensorView::fp16(fp16, {kRows, kCols});
  const LinearQuantSpec spec{QuantMode::kLinearSymmetric, QuantDtype::kInt8, {1, 0}};
  const auto reference = std::get<LinearQuantResult>(quantize_linear(view16, spec));
  std::vector<float> scale(kRows), zero(kRows, 0.0f);
  for (size_t r = 0; r < kRows; ++r) scale[r] = reference.scale_at(r);
  const kernels::CodeRange range{-127, 127};

  std::vector<const kernels::RowKernels*> sets = {&kernels::scalar_kernels(),
                                                  &kernels::portable_simd_kernels()};
  if (kernels::x86_avx2_kernels()) sets.push_back(kernels::x86_avx2_kernels());
  std::printf(
      "%zu x %zu weight, int8 symmetric per channel; best of runs over %.2f s each; "
      "%u threads available\n\n",
      kRows, kCols, budget, default_chunk_threads());
  std::printf("| kernel | time | input throughput |\n|---|---|---|\n");

  std::vector<uint8_t> codes(fp16.size());
  std::vector<float> lo(kRows), hi(kRows);
  std::vector<uint8_t> nan(kRows);
  volatile double sink = 0;
  for (const kernels::RowKernels* k : sets) {
    report(std::string(k->name) + ": fp16 min/max pass", slice16, best_seconds(budget, [&] {
             std::fill(lo.begin(), lo.end(), 1e30f);
             std::fill(hi.begin(), hi.end(), -1e30f);
             for (size_t r0 = next_slice(), r = r0; r < r0 + kSliceRows; ++r) {
               k->minmax_fp16(&fp16[r * kCols], kCols, kCols, &lo[r], &hi[r], &nan[r]);
             }
           }));
    report(
        std::string(k->name) + ": fp16 quantize + error pass", slice16, best_seconds(budget, [&] {
          for (size_t r0 = next_slice(), r = r0; r < r0 + kSliceRows; ++r) {
            const kernels::SegmentParams p{&scale[r], &zero[r], &zero[r]};
            sink =
                sink +
                k->quantize_fp16(&fp16[r * kCols], kCols, kCols, p, range, &codes[r * kCols]).noise;
          }
        }));
    report(
        std::string(k->name) + ": fp32 quantize + error pass", slice32, best_seconds(budget, [&] {
          for (size_t r0 = next_slice(), r = r0; r < r0 + kSliceRows; ++r) {
            const kernels::SegmentParams p{&scale[r], &zero[r], &zero[r]};
            sink =
                sink +
                k->quantize_fp32(&fp32[r * kCols], kCols, kCols, p, range, &codes[r * kCols]).noise;
          }
        }));
  }
  // The worst case for the binary16 conversions that pass subnormal floats (a microcode assist
  // on some CPUs): every weight a subnormal half, scale 2^-14 (still an ordinary row).
  std::vector<uint16_t> subnormal(kSliceRows * kCols);
  for (size_t i = 0; i < subnormal.size(); ++i) {
    subnormal[i] = uint16_t((rng() & 0x83FF) | 1);
  }
  const float tiny_scale = 0x1p-14f;
  for (const kernels::RowKernels* k : sets) {
    if (k == &kernels::scalar_kernels()) continue;
    report(std::string(k->name) + ": fp16 quantize, subnormal halves", slice16,
           best_seconds(budget, [&] {
             for (size_t r = 0; r < kSliceRows; ++r) {
               const kernels::SegmentParams p{&tiny_scale, &zero[r], &zero[r]};
               sink = sink + k->quantize_fp16(&subnormal[r * kCols], kCols, kCols, p, range,
                                              &codes[r * kCols])
                                 .noise;
             }
           }));
  }
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kSimdPortable, KernelPath::kSimd}) {
    const char* name = path == KernelPath::kScalar         ? "scalar"
                       : path == KernelPath::kSimdPortable ? "portable simd"
                                                           : "best simd";
    report(std::string("quantize_linear fp16, 1 thread, ") + name, fp16_bytes,
           best_seconds(budget,
                        [&] { sink = sink + quantize_linear(view16, spec, path, 1).index(); }));
  }
  const unsigned all = default_chunk_threads();
  if (all > 1) {
    report("quantize_linear fp16, " + std::to_string(all) + " threads, best simd", fp16_bytes,
           best_seconds(budget, [&] {
             sink = sink + quantize_linear(view16, spec, KernelPath::kSimd, all).index();
           }));
  }
  return 0;
}
