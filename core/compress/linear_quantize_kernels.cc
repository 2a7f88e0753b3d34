#include "core/compress/linear_quantize_kernels.h"

#include "core/compress/linear_quantize_simd_body.h"

namespace mlpress::compress::kernels {

// Defined in linear_quantize_kernels_x86.cc when the build targets x86-64 with GCC or Clang.
const RowKernels* x86_avx2_kernels_if_supported();

namespace {

template <typename Scalar>
void minmax_row_scalar(const typename Scalar::T* row, size_t n, size_t segment, float* lo,
                       float* hi, uint8_t* any_nan) {
  for (size_t i = 0; i < n; ++i) {
    const size_t k = i / segment;
    fold(Scalar::load(row[i]), lo[k], hi[k], any_nan[k]);
  }
}

template <typename Scalar>
ErrorSums quantize_row_scalar(const typename Scalar::T* row, size_t n, size_t segment,
                              SegmentParams p, CodeRange range, uint8_t* out) {
  LaneSums sums;
  for (size_t i = 0; i < n; ++i) quantize_one<Scalar>(row, i, i / segment, p, range, out, sums);
  return sums.total();
}

// The fp16 reference: error sums in float lanes per chunk (ChunkSums), like every fp16 kernel.
ErrorSums quantize_row_scalar_fp16(const uint16_t* row, size_t n, size_t segment, SegmentParams p,
                                   CodeRange range, uint8_t* out) {
  LaneSums sums;
  ChunkSums chunk;
  for (size_t i = 0; i < n; ++i) {
    quantize_one<ScalarFp16>(row, i, i / segment, p, range, out, chunk);
    if ((i + 1) % kFp16SumChunk == 0) chunk.flush_into(sums);
  }
  chunk.flush_into(sums);
  return sums.total();
}

using Portable = SimdBody<PortableIsa<4>>;

const RowKernels kScalar = {
    "scalar",
    minmax_row_scalar<ScalarFp16>,
    minmax_row_scalar<ScalarFp32>,
    quantize_row_scalar_fp16,
    quantize_row_scalar<ScalarFp32>,
};

const RowKernels kPortable = {
#if defined(__wasm_simd128__)
    "simd128 (4 lanes)",
#elif defined(__SSE2__)
    "sse2 (4 lanes)",
#else
    "vector extensions (4 lanes)",
#endif
    Portable::minmax_fp16, Portable::minmax_fp32, Portable::quantize_fp16, Portable::quantize_fp32,
};

}  // namespace

#if !defined(MLPRESS_KERNELS_X86)
const RowKernels* x86_avx2_kernels_if_supported() { return nullptr; }
#endif

const RowKernels& scalar_kernels() { return kScalar; }
const RowKernels& portable_simd_kernels() { return kPortable; }

const RowKernels* x86_avx2_kernels() {
  static const RowKernels* const kernels = x86_avx2_kernels_if_supported();
  return kernels;
}

const RowKernels& best_simd_kernels() {
  const RowKernels* avx2 = x86_avx2_kernels();
  return avx2 ? *avx2 : kPortable;
}

void fp16_to_float_simd(const uint16_t* in, size_t n, float* out) {
  using Isa = PortableIsa<4>;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const Isa::f32 v = Isa::load_fp16(in + i);
    std::memcpy(out + i, &v, sizeof v);
  }
  for (; i < n; ++i) out[i] = fp16_to_float(in[i]);
}

void round_to_fp16_simd(const float* in, size_t n, float* out) {
  using Isa = PortableIsa<4>;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const Isa::f32 v = Isa::round_fp16(Portable::load_f32(in + i));
    std::memcpy(out + i, &v, sizeof v);
  }
  for (; i < n; ++i) out[i] = round_to_fp16(in[i]);
}

void round_half_even_simd(const float* in, size_t n, float* out) {
  using Isa = PortableIsa<4>;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const Isa::f32 v = Isa::round_even(Portable::load_f32(in + i));
    std::memcpy(out + i, &v, sizeof v);
  }
  for (; i < n; ++i) out[i] = round_half_even(in[i]);
}

}  // namespace mlpress::compress::kernels
