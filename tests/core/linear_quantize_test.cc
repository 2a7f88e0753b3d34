// Linear quantization (COMPRESSION.md §3): coremltools' own results as goldens
// (scripts/make_quant_goldens.py), the spec's worked examples, block-size inference, the scalar
// reference against the SIMD twin on every tail, and round-trip error bounds.
#include "core/compress/linear_quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/compress/error_metrics.h"
#include "core/compress/fp16_convert.h"
#include "core/compress/linear_quantize_kernels.h"
#include "tests/core/golden_reader.h"

namespace mlpress::compress {
namespace {

const char* mode_name(QuantMode m) {
  return m == QuantMode::kLinear ? "linear" : "linear_symmetric";
}
const char* dtype_name(QuantDtype d) {
  static const char* const kNames[] = {"int8", "uint8", "int4", "uint4"};
  return kNames[int(d)];
}
std::string dims(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

const LinearQuantResult& quantized(const std::variant<LinearQuantResult, QuantSkip>& v) {
  if (const auto* skip = std::get_if<QuantSkip>(&v)) {
    throw std::runtime_error("unexpected skip: " + skip->message);
  }
  return std::get<LinearQuantResult>(v);
}

// ---------------------------------------------------------------------------------------------
// Goldens.

using Reader = ::mlpress::testing::GoldenReader;

using GoldenTensor = ::mlpress::testing::GoldenTensor;

struct GoldenCase {
  uint32_t tensor;
  LinearQuantSpec spec;
  bool skipped = false;
  std::vector<int32_t> codes;
  std::vector<uint32_t> scale_bits;  // fp16 or fp32 bit patterns
  bool has_zero_point = false;
  std::vector<int32_t> zero_point;
};

struct Goldens {
  std::vector<GoldenTensor> tensors;
  std::vector<GoldenCase> cases;
};

Goldens load_goldens() {
  Reader r(std::string(MLPRESS_TEST_DATA_DIR) + "/quant/linear_goldens.bin");
  char magic[8];
  r.take(magic, 8);
  if (std::memcmp(magic, "MLPQGLD1", 8) != 0) throw std::runtime_error("bad golden magic");
  Goldens g;
  const uint32_t ntensors = r.get<uint32_t>();
  const uint32_t ncases = r.get<uint32_t>();
  for (uint32_t t = 0; t < ntensors; ++t) {
    g.tensors.push_back(::mlpress::testing::read_golden_tensor(r));
  }
  for (uint32_t c = 0; c < ncases; ++c) {
    GoldenCase gc;
    gc.tensor = r.get<uint32_t>();
    gc.spec.mode = r.get<uint8_t>() == 0 ? QuantMode::kLinearSymmetric : QuantMode::kLinear;
    gc.spec.dtype = QuantDtype(r.get<uint8_t>());
    gc.spec.block_sizes.resize(r.get<uint8_t>());
    for (auto& b : gc.spec.block_sizes) b = r.get<uint64_t>();
    gc.skipped = r.get<uint8_t>() != 0;
    if (!gc.skipped) {
      const GoldenTensor& t = g.tensors.at(gc.tensor);
      const uint64_t n = element_count(t.shape);
      const bool sgn = is_signed(gc.spec.dtype);
      if (bit_width(gc.spec.dtype) == 8) {
        for (uint64_t i = 0; i < n; ++i) {
          const uint8_t b = r.get<uint8_t>();
          gc.codes.push_back(sgn ? int8_t(b) : b);
        }
      } else {
        for (uint64_t i = 0; i < n; i += 2) {
          const uint8_t b = r.get<uint8_t>();
          for (int half = 0; half < 2 && i + half < n; ++half) {
            const int32_t nib = (b >> (4 * half)) & 0xF;
            gc.codes.push_back(sgn && nib >= 8 ? nib - 16 : nib);
          }
        }
      }
      gc.scale_bits.resize(r.get<uint32_t>());
      for (auto& s : gc.scale_bits) {
        s = t.type == ElementType::kFloat16 ? r.get<uint16_t>() : r.get<uint32_t>();
      }
      gc.has_zero_point = r.get<uint8_t>() != 0;
      if (gc.has_zero_point) {
        for (size_t k = 0; k < gc.scale_bits.size(); ++k) {
          const uint8_t b = r.get<uint8_t>();
          gc.zero_point.push_back(sgn ? int8_t(b) : b);
        }
      }
    }
    g.cases.push_back(std::move(gc));
  }
  if (!r.at_end()) throw std::runtime_error("trailing bytes in golden file");
  return g;
}

bool scale_bits_equal(ElementType type, uint32_t a, uint32_t b) {
  const bool a_nan =
      type == ElementType::kFloat16 ? (a & 0x7FFF) > 0x7C00 : std::isnan(float_from_bits(a));
  const bool b_nan =
      type == ElementType::kFloat16 ? (b & 0x7FFF) > 0x7C00 : std::isnan(float_from_bits(b));
  // NaN payloads are not part of the contract (COMPRESSION.md §3.5 platform-defined casts).
  return a_nan || b_nan ? a_nan == b_nan : a == b;
}

void expect_matches_golden(const GoldenTensor& t, const GoldenCase& gc, KernelPath path) {
  std::ostringstream name;
  name << (t.type == ElementType::kFloat16 ? "fp16 " : "fp32 ") << dims(t.shape) << " "
       << mode_name(gc.spec.mode) << " " << dtype_name(gc.spec.dtype) << " blocks "
       << dims(gc.spec.block_sizes) << " path " << int(path);
  SCOPED_TRACE(name.str());
  const auto outcome = quantize_linear(t.view(), gc.spec, path);
  if (gc.skipped) {
    ASSERT_TRUE(std::holds_alternative<QuantSkip>(outcome));
    EXPECT_EQ(std::get<QuantSkip>(outcome).reason, QuantSkipReason::kBlockNotDivisible);
    return;
  }
  const LinearQuantResult& r = quantized(outcome);
  ASSERT_EQ(r.codes.size(), gc.codes.size());
  size_t code_mismatches = 0;
  size_t first = 0;
  for (size_t i = 0; i < gc.codes.size(); ++i) {
    if (r.code_at(i) != gc.codes[i] && code_mismatches++ == 0) first = i;
  }
  EXPECT_EQ(code_mismatches, 0u) << "first at " << first << ": got " << r.code_at(first)
                                 << ", coremltools " << gc.codes[first];
  ASSERT_EQ(r.scale_count(), gc.scale_bits.size());
  EXPECT_EQ(element_count(r.scale_shape), gc.scale_bits.size());
  for (size_t k = 0; k < gc.scale_bits.size(); ++k) {
    const uint32_t ours =
        t.type == ElementType::kFloat16 ? r.scale_fp16[k] : float_bits(r.scale_fp32[k]);
    ASSERT_TRUE(scale_bits_equal(t.type, ours, gc.scale_bits[k]))
        << "scale " << k << ": 0x" << std::hex << ours << " vs coremltools 0x" << gc.scale_bits[k];
  }
  ASSERT_EQ(r.zero_point.has_value(), gc.has_zero_point);
  for (size_t k = 0; k < gc.zero_point.size(); ++k) {
    ASSERT_EQ(r.zero_point_at(k), gc.zero_point[k]) << "zero point " << k;
  }
}

TEST(LinearQuantGolden, MatchesCoremltoolsBitForBit) {
  const Goldens g = load_goldens();
  ASSERT_GT(g.cases.size(), 500u);
  size_t skipped = 0;
  for (const GoldenCase& gc : g.cases) {
    skipped += gc.skipped;
    for (KernelPath path : {KernelPath::kScalar, KernelPath::kSimd, KernelPath::kSimdPortable}) {
      expect_matches_golden(g.tensors.at(gc.tensor), gc, path);
    }
  }
  EXPECT_GT(skipped, 0u);
}

// ---------------------------------------------------------------------------------------------
// Spec tables and worked examples.

TEST(LinearQuant, RangesFollowSpecTable) {
  struct Row {
    QuantDtype dtype;
    QuantRange symmetric;
    QuantRange linear;
  };
  const Row rows[] = {{QuantDtype::kInt8, {-127, 127}, {-128, 127}},
                      {QuantDtype::kUint8, {0, 254}, {0, 255}},
                      {QuantDtype::kInt4, {-7, 7}, {-8, 7}},
                      {QuantDtype::kUint4, {0, 14}, {0, 15}}};
  for (const Row& row : rows) {
    const QuantRange s = quant_range(QuantMode::kLinearSymmetric, row.dtype);
    const QuantRange l = quant_range(QuantMode::kLinear, row.dtype);
    EXPECT_EQ(s.qmin, row.symmetric.qmin) << dtype_name(row.dtype);
    EXPECT_EQ(s.qmax, row.symmetric.qmax) << dtype_name(row.dtype);
    EXPECT_EQ(l.qmin, row.linear.qmin) << dtype_name(row.dtype);
    EXPECT_EQ(l.qmax, row.linear.qmax) << dtype_name(row.dtype);
  }
}

TEST(LinearQuant, RoundsBeforeAddingZeroPoint) {
  const std::vector<float> w = {-2, -10, 6, -3};
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kSimd}) {
    const auto out = quantize_linear(TensorView::fp32(w, {1, 4}),
                                     {QuantMode::kLinear, QuantDtype::kInt4, {0, 0}}, path);
    const LinearQuantResult& r = quantized(out);
    EXPECT_EQ(r.code_at(0), -1);
    EXPECT_EQ(r.code_at(1), -8);
    EXPECT_EQ(r.code_at(2), 7);
    EXPECT_EQ(r.code_at(3), -2);
  }
}

TEST(LinearQuant, Fp16ZeroPointOverflowGivesZeroCodesLikeCoremltools) {
  std::vector<uint16_t> w;
  for (float f : {-600.0f, 700.0f, 1.0f, 3.0f}) w.push_back(float_to_fp16(f));
  const auto out =
      quantize_linear(TensorView::fp16(w, {1, 4}), {QuantMode::kLinear, QuantDtype::kInt8, {0, 0}});
  const LinearQuantResult& r = quantized(out);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(r.code_at(i), 0);
}

TEST(LinearQuant, AllZeroBlockHasZeroScaleAndCodes) {
  const std::vector<float> w(32, 0.0f);
  for (QuantDtype dtype : {QuantDtype::kInt8, QuantDtype::kUint8}) {
    for (QuantMode mode : {QuantMode::kLinearSymmetric, QuantMode::kLinear}) {
      const LinearQuantResult r =
          quantized(quantize_linear(TensorView::fp32(w, {2, 16}), {mode, dtype, {1, 0}}));
      EXPECT_EQ(float_bits(r.scale_fp32[0]), 0u);
      for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(r.code_at(i), 0);
      const int32_t zp =
          mode == QuantMode::kLinearSymmetric && dtype == QuantDtype::kUint8 ? 127 : 0;
      EXPECT_EQ(r.zero_point_at(0), zp);
    }
  }
}

TEST(LinearQuant, SkipsInfinityNotDivisibleWrongRankAndEmpty) {
  const std::vector<float> w = {1, 2, std::numeric_limits<float>::infinity(), 4, 5, 6};
  const auto inf = quantize_linear(TensorView::fp32(w, {2, 3}), {{}, {}, {1, 0}});
  ASSERT_TRUE(std::holds_alternative<QuantSkip>(inf));
  EXPECT_EQ(std::get<QuantSkip>(inf).reason, QuantSkipReason::kInfiniteValue);

  const std::vector<float> f = {1, 2, 3, 4, 5, 6};
  const auto nd = quantize_linear(TensorView::fp32(f, {2, 3}), {{}, {}, {1, 2}});
  ASSERT_TRUE(std::holds_alternative<QuantSkip>(nd));
  EXPECT_EQ(std::get<QuantSkip>(nd).reason, QuantSkipReason::kBlockNotDivisible);
  EXPECT_NE(std::get<QuantSkip>(nd).message.find("Invalid block_sizes"), std::string::npos);

  const auto rank = quantize_linear(TensorView::fp32(f, {2, 3}), {{}, {}, {1}});
  ASSERT_TRUE(std::holds_alternative<QuantSkip>(rank));
  EXPECT_EQ(std::get<QuantSkip>(rank).reason, QuantSkipReason::kBlockRankMismatch);
  EXPECT_TRUE(is_hard_error(QuantSkipReason::kBlockRankMismatch));
  EXPECT_FALSE(is_hard_error(QuantSkipReason::kBlockNotDivisible));

  const auto empty = quantize_linear(TensorView::fp32({}, {0, 3}), {{}, {}, {0, 0}});
  ASSERT_TRUE(std::holds_alternative<QuantSkip>(empty));
  EXPECT_EQ(std::get<QuantSkip>(empty).reason, QuantSkipReason::kEmptyTensor);
}

// ---------------------------------------------------------------------------------------------
// Block sizes from granularity (§3.2 examples).

struct InferCase {
  const char* name;
  std::vector<uint64_t> shape;
  GranularityRequest request;
  ChannelAxes axes;
  std::vector<uint64_t> block_sizes;  // empty = skipped
  QuantSkipReason reason;             // when skipped
};

GranularityRequest request(QuantGranularity g, uint64_t block = 32,
                           std::optional<std::vector<uint64_t>> per_axis = std::nullopt) {
  GranularityRequest r;
  r.granularity = g;
  r.block_size = block;
  r.block_size_per_axis = std::move(per_axis);
  return r;
}

TEST(LinearQuantBlocks, InferBlockSizesFollowsCoremltools) {
  using G = QuantGranularity;
  using R = QuantSkipReason;
  const ChannelAxes linear{0, 1};
  const ChannelAxes transposed{1, 0};
  const ChannelAxes undecidable{std::nullopt, 1};
  const std::vector<InferCase> cases = {
      {"linear per_tensor",
       {64, 128},
       request(G::kPerTensor),
       linear,
       {0, 0},
       R::kBlockNotDivisible},
      {"linear per_channel",
       {64, 128},
       request(G::kPerChannel),
       linear,
       {1, 0},
       R::kBlockNotDivisible},
      {"linear per_block 32",
       {64, 128},
       request(G::kPerBlock, 32),
       linear,
       {1, 32},
       R::kBlockNotDivisible},
      {"conv per_block 16",
       {32, 16, 3, 3},
       request(G::kPerBlock, 16),
       linear,
       {1, 16, 0, 0},
       R::kBlockNotDivisible},
      {"conv_transpose per_channel",
       {32, 16, 3, 3},
       request(G::kPerChannel),
       transposed,
       {0, 1, 0, 0},
       R::kBlockNotDivisible},
      {"matmul y per_block 16",
       {64, 96},
       request(G::kPerBlock, 16),
       transposed,
       {16, 1},
       R::kBlockNotDivisible},
      {"per_block 48 on 128",
       {64, 128},
       request(G::kPerBlock, 48),
       linear,
       {},
       R::kBlockNotDivisible},
      {"undecidable", {64, 128}, request(G::kPerTensor), undecidable, {}, R::kUndecidableAxes},
      {"tuple bypasses axes",
       {64, 128},
       request(G::kPerBlock, 32, std::vector<uint64_t>{0, 0}),
       undecidable,
       {0, 0},
       R::kBlockNotDivisible},
      {"tuple wrong rank",
       {64, 128},
       request(G::kPerBlock, 32, std::vector<uint64_t>{4}),
       linear,
       {},
       R::kBlockRankMismatch},
  };
  for (const InferCase& c : cases) {
    SCOPED_TRACE(c.name);
    const auto out = infer_block_sizes(c.shape, c.request, c.axes);
    if (c.block_sizes.empty()) {
      ASSERT_TRUE(std::holds_alternative<QuantSkip>(out));
      EXPECT_EQ(std::get<QuantSkip>(out).reason, c.reason);
    } else {
      ASSERT_TRUE(std::holds_alternative<std::vector<uint64_t>>(out));
      EXPECT_EQ(std::get<std::vector<uint64_t>>(out), c.block_sizes);
    }
  }
}

TEST(LinearQuantBlocks, ScaleShapesMatchSpecExamples) {
  std::vector<float> w(64 * 128, 1.0f);
  EXPECT_EQ(
      quantized(quantize_linear(TensorView::fp32(w, {64, 128}), {{}, {}, {1, 32}})).scale_shape,
      (std::vector<uint64_t>{64, 4}));
  std::vector<float> c(32 * 16 * 9, 1.0f);
  EXPECT_EQ(quantized(quantize_linear(TensorView::fp32(c, {32, 16, 3, 3}), {{}, {}, {0, 1, 0, 0}}))
                .scale_shape,
            (std::vector<uint64_t>{1, 16, 1, 1}));
  std::vector<float> m(64 * 96, 1.0f);
  EXPECT_EQ(
      quantized(quantize_linear(TensorView::fp32(m, {64, 96}), {{}, {}, {16, 1}})).scale_shape,
      (std::vector<uint64_t>{4, 96}));
}

// ---------------------------------------------------------------------------------------------
// Scalar reference vs SIMD twin.

std::vector<float> awkward_values(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 19);
  std::vector<float> v(n);
  for (float& x : v) {
    switch (pick(rng)) {
      case 0:
        x = 0.0f;
        break;
      case 1:
        x = -0.0f;
        break;
      case 2:
        x = normal(rng) * 1e-6f;
        break;
      case 3:
        x = std::nearbyint(normal(rng) * 8) / 2;
        break;
      case 4:
        x = normal(rng) * 1000.0f;
        break;
      default:
        x = normal(rng);
    }
  }
  return v;
}

// Every SIMD kernel set this build and CPU can run (the portable one always).
std::vector<const kernels::RowKernels*> simd_kernel_sets() {
  std::vector<const kernels::RowKernels*> sets = {&kernels::portable_simd_kernels()};
  if (kernels::x86_avx2_kernels()) sets.push_back(kernels::x86_avx2_kernels());
  return sets;
}

// Bit-equal doubles, or both NaN (NaN payloads are not part of the contract).
bool same_double(double a, double b) {
  if (a != a || b != b) return a != a && b != b;
  uint64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return x == y;
}

bool same_sums(const ErrorSums& a, const ErrorSums& b) {
  return same_double(a.signal, b.signal) && same_double(a.noise, b.noise) &&
         same_double(a.dot, b.dot) && same_double(a.recon_energy, b.recon_energy) &&
         same_double(a.max_abs, b.max_abs);
}

TEST(LinearQuantKernels, SimdRowKernelsMatchScalarOnAllTails) {
  const kernels::RowKernels& scalar = kernels::scalar_kernels();
  for (const kernels::RowKernels* simd : simd_kernel_sets()) {
    SCOPED_TRACE(simd->name);
    std::mt19937 rng(7);
    for (size_t n = 1; n <= 72; ++n) {
      for (size_t segment = 1; segment <= n; ++segment) {
        if (n % segment) continue;
        const size_t blocks = n / segment;
        const std::vector<float> f = awkward_values(rng, n);
        std::vector<uint16_t> h(n);
        for (size_t i = 0; i < n; ++i) h[i] = float_to_fp16(f[i]);
        // Ranges, with a NaN in some rows.
        std::vector<float> g = f;
        std::vector<uint16_t> gh = h;
        if (n % 3 == 0) {
          g[n / 2] = std::nanf("");
          gh[n / 2] = 0x7E00;
        }
        const float inf = std::numeric_limits<float>::infinity();
        for (int half = 0; half < 2; ++half) {
          std::vector<float> lo_s(blocks, inf), hi_s(blocks, -inf), lo_v(blocks, inf),
              hi_v(blocks, -inf);
          std::vector<uint8_t> nan_s(blocks, 0), nan_v(blocks, 0);
          if (half) {
            scalar.minmax_fp16(gh.data(), n, segment, lo_s.data(), hi_s.data(), nan_s.data());
            simd->minmax_fp16(gh.data(), n, segment, lo_v.data(), hi_v.data(), nan_v.data());
          } else {
            scalar.minmax_fp32(g.data(), n, segment, lo_s.data(), hi_s.data(), nan_s.data());
            simd->minmax_fp32(g.data(), n, segment, lo_v.data(), hi_v.data(), nan_v.data());
          }
          for (size_t k = 0; k < blocks; ++k) {
            ASSERT_EQ(nan_s[k], nan_v[k]) << n << "/" << segment;
            ASSERT_EQ(lo_s[k], lo_v[k]) << n << "/" << segment;  // == : zeros may differ in sign
            ASSERT_EQ(hi_s[k], hi_v[k]) << n << "/" << segment;
          }
        }
        // Codes and error sums, with arbitrary (even degenerate) block parameters, and the
        // weights with a NaN too.
        std::vector<float> scale(blocks), zero(blocks), stored(blocks);
        std::uniform_real_distribution<float> unit(0.001f, 0.2f);
        std::uniform_int_distribution<int> zp(-8, 8);
        for (size_t k = 0; k < blocks; ++k) {
          scale[k] = round_to_fp16(unit(rng));
          zero[k] = float(zp(rng));
          stored[k] = zero[k];
        }
        if (blocks > 1) scale[1] = 0.0f;
        if (blocks > 2) zero[2] = std::nanf("");
        if (blocks > 2) stored[2] = 0.0f;
        const kernels::SegmentParams params{scale.data(), zero.data(), stored.data()};
        for (kernels::CodeRange range : {kernels::CodeRange{-128, 127}, kernels::CodeRange{0, 15},
                                         kernels::CodeRange{-7, 7}, kernels::CodeRange{0, 254}}) {
          for (int with_nan = 0; with_nan < 2; ++with_nan) {
            const std::vector<uint16_t>& hh = with_nan ? gh : h;
            const std::vector<float>& ff = with_nan ? g : f;
            std::vector<uint8_t> a(n), b(n), c(n), d(n);
            const ErrorSums sa =
                scalar.quantize_fp16(hh.data(), n, segment, params, range, a.data());
            const ErrorSums sb =
                simd->quantize_fp16(hh.data(), n, segment, params, range, b.data());
            const ErrorSums sc =
                scalar.quantize_fp32(ff.data(), n, segment, params, range, c.data());
            const ErrorSums sd =
                simd->quantize_fp32(ff.data(), n, segment, params, range, d.data());
            ASSERT_EQ(a, b) << "fp16 n=" << n << " segment=" << segment;
            ASSERT_EQ(c, d) << "fp32 n=" << n << " segment=" << segment;
            ASSERT_TRUE(same_sums(sa, sb)) << "fp16 n=" << n << " segment=" << segment;
            ASSERT_TRUE(same_sums(sc, sd)) << "fp32 n=" << n << " segment=" << segment;
          }
        }
      }
    }
  }
}

// Rows whose blocks all have ordinary parameters (a normal fp16 scale, integer zero points, a
// reconstruction within 65504) take the SIMD kernels' fast path (fp16_path in
// linear_quantize_simd_body.h): every one of the 63,488 finite halves, long rows cut into
// uniform segments, even and odd zero points, scales at the edges of the path's conditions and
// beyond them, and the same rows with infinity and NaN halves (the path must give them back to
// the general one), against the scalar reference, bit for bit.
// The fp16 ranges of long blocks come from the halves' bits (SimdBody::minmax_fp16_keys): every
// kind of half in every position, including the NaN rows that fall back to the float path and
// the tails past the last whole vector, gives the scalar reference's range.
TEST(LinearQuantKernels, Fp16RangesOfLongBlocksMatchScalar) {
  const kernels::RowKernels& scalar = kernels::scalar_kernels();
  // -0, +0, subnormals, the extremes, infinities, and ordinary values of both signs.
  const std::vector<uint16_t> specials = {0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x83FF, 0x0400,
                                          0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x3C00, 0xBC00};
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> ordinary(0, 0x7BFF);
  std::uniform_int_distribution<int> coin(0, 1);
  for (const kernels::RowKernels* simd : simd_kernel_sets()) {
    SCOPED_TRACE(simd->name);
    for (size_t segment : {32, 64, 67, 100, 128, 1024}) {
      const size_t blocks = 3;
      const size_t n = segment * blocks;
      for (int trial = 0; trial < 60; ++trial) {
        std::vector<uint16_t> h(n);
        for (uint16_t& x : h) x = uint16_t(ordinary(rng) | (coin(rng) ? 0x8000 : 0));
        // One block all of one sign, another with specials scattered, the third maybe with a NaN.
        if (trial % 2) {
          for (size_t i = 0; i < segment; ++i) h[i] |= 0x8000;
        } else {
          for (size_t i = 0; i < segment; ++i) h[i] &= 0x7FFF;
        }
        for (size_t j = 0; j < 4; ++j) {
          h[segment + size_t(rng()) % segment] = specials[size_t(rng()) % specials.size()];
        }
        if (trial % 5 == 0) h[n - 1] = 0xFC00;  // -inf in a tail
        // (not over that -inf)
        if (trial % 3 == 0)
          h[2 * segment + size_t(rng()) % (segment - 1)] = trial % 2 ? 0x7E00 : 0xFC01;
        if (trial % 7 == 0) std::fill(h.begin(), h.begin() + segment, uint16_t(0x8000));
        const float inf = std::numeric_limits<float>::infinity();
        std::vector<float> lo_s(blocks, inf), hi_s(blocks, -inf), lo_v(blocks, inf),
            hi_v(blocks, -inf);
        std::vector<uint8_t> nan_s(blocks, 0), nan_v(blocks, 0);
        scalar.minmax_fp16(h.data(), n, segment, lo_s.data(), hi_s.data(), nan_s.data());
        simd->minmax_fp16(h.data(), n, segment, lo_v.data(), hi_v.data(), nan_v.data());
        for (size_t k = 0; k < blocks; ++k) {
          ASSERT_EQ(nan_s[k], nan_v[k]) << segment << "/" << trial << "/" << k;
          ASSERT_EQ(lo_s[k], lo_v[k]) << segment << "/" << trial << "/" << k;
          ASSERT_EQ(hi_s[k], hi_v[k]) << segment << "/" << trial << "/" << k;
        }
        if (trial % 3 == 0) {
          ASSERT_EQ(nan_v[2], 1) << segment << "/" << trial;
        }
      }
    }
  }
}

TEST(LinearQuantKernels, OrdinaryRowsMatchScalarOnEveryHalf) {
  std::vector<uint16_t> finite;
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if ((bits & 0x7C00) != 0x7C00) finite.push_back(uint16_t(bits));
  }
  std::mt19937 rng(13);
  std::shuffle(finite.begin(), finite.end(), rng);
  ASSERT_EQ(finite.size() % 64, 0u);
  const std::vector<float> scales = {0x1p-14f,  // the smallest normal fp16 scale
                                     round_to_fp16(0.02f / 127),
                                     round_to_fp16(1 / 3.0f),
                                     1.0f,
                                     round_to_fp16(65504.0f / 255),
                                     512.0f,     // (code - zero) * scale can pass 65504
                                     0x1p-15f};  // subnormal scale
  const std::vector<kernels::CodeRange> ranges = {{-128, 127}, {-127, 127}, {0, 255}, {-8, 7}};
  const std::vector<const kernels::RowKernels*> sets = simd_kernel_sets();
  const auto check = [&](const std::vector<uint16_t>& h, size_t n, size_t segment,
                         const std::vector<float>& scale, const std::vector<float>& zero,
                         kernels::CodeRange range) {
    const kernels::SegmentParams params{scale.data(), zero.data(), zero.data()};
    std::vector<uint8_t> a(n), b(n);
    const ErrorSums sa =
        kernels::scalar_kernels().quantize_fp16(h.data(), n, segment, params, range, a.data());
    for (const kernels::RowKernels* simd : sets) {
      const ErrorSums sb = simd->quantize_fp16(h.data(), n, segment, params, range, b.data());
      ASSERT_EQ(a, b) << simd->name;
      ASSERT_TRUE(same_sums(sa, sb)) << simd->name;
    }
  };
  for (int special = 0; special < 2; ++special) {
    std::vector<uint16_t> h = finite;
    if (special) {
      h[777] = 0x7C00;    // +inf
      h[40000] = 0xFE00;  // NaN
    }
    for (size_t segment : {h.size(), size_t(64), size_t(8)}) {
      const size_t blocks = h.size() / segment;
      for (kernels::CodeRange range : ranges) {
        for (float s : scales) {
          for (int zero_kind = 0; zero_kind < 3; ++zero_kind) {
            SCOPED_TRACE("special " + std::to_string(special) + " segment " +
                         std::to_string(segment) + " range " + std::to_string(range.qmin) + ".." +
                         std::to_string(range.qmax) + " scale " + std::to_string(s) + " zeros " +
                         std::to_string(zero_kind));
            std::vector<float> scale(blocks), zero(blocks);
            for (size_t k = 0; k < blocks; ++k) {
              scale[k] = k % 5 == 4 ? round_to_fp16(s * 1.5f) : s;
              // All zero, even zero points, or a mix with odd ones.
              const int z = zero_kind == 0 ? 0 : zero_kind == 1 ? 2 * int(k % 3) : int(k % 7) - 3;
              zero[k] = float(std::clamp(z, range.qmin, range.qmax));
            }
            check(h, h.size(), segment, scale, zero, range);
          }
        }
      }
    }
  }
  // A tail after the last whole group of 8.
  check(finite, finite.size() - 3, finite.size() - 3, {round_to_fp16(0.5f)}, {1.0f}, {0, 255});
}

// The scalar error sums against a plain double reconstruction of the same codes.
TEST(LinearQuantKernels, ScalarErrorSumsAreTheReconstructionError) {
  const std::vector<float> w = {0.5f, -0.26f, 0.1f, 0.0f, 0.7f, -0.3f, 0.2f, 0.05f, 0.33f, -0.9f};
  const std::vector<float> scale = {0.01f, 0.02f};
  const std::vector<float> zero = {3.0f, -1.0f};
  const kernels::CodeRange range{-128, 127};
  std::vector<uint8_t> codes(w.size());
  const ErrorSums sums = kernels::scalar_kernels().quantize_fp32(
      w.data(), w.size(), 5, {scale.data(), zero.data(), zero.data()}, range, codes.data());
  double signal = 0, noise = 0, dot = 0, recon = 0, max_abs = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t k = i / 5;
    const float q = std::nearbyint(w[i] / scale[k]) + zero[k];
    ASSERT_EQ(int8_t(codes[i]), int(std::clamp(q, -128.0f, 127.0f))) << i;
    const double r = double((float(int8_t(codes[i])) - zero[k]) * scale[k]);
    signal += double(w[i]) * w[i];
    noise += (w[i] - r) * (w[i] - r);
    dot += w[i] * r;
    recon += r * r;
    max_abs = std::max(max_abs, std::fabs(w[i] - r));
  }
  EXPECT_NEAR(sums.signal, signal, 1e-15 * signal);
  EXPECT_NEAR(sums.noise, noise, 1e-12 * noise);
  EXPECT_NEAR(sums.dot, dot, 1e-15 * dot);
  EXPECT_NEAR(sums.recon_energy, recon, 1e-15 * recon);
  EXPECT_EQ(sums.max_abs, max_abs);
}

// The fp16 kernels sum in float per chunk: each sum within 1e-6 of the double sums of the same
// reconstruction, on long rows over a wide range of magnitudes (so the chunks' float sums
// carry real rounding), for every kernel set.
TEST(LinearQuantKernels, Fp16ErrorSumsAreWithinOnePpmOfDoubleSums) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> log_scale(-6.0f, 2.0f);
  const size_t n = 8192 + 5;
  std::vector<uint16_t> h(n);
  for (uint16_t& x : h) x = float_to_fp16(normal(rng) * std::exp2(log_scale(rng)));
  const std::vector<float> scale = {round_to_fp16(0.02f)};
  const std::vector<float> zero = {3.0f};
  const kernels::CodeRange range{-128, 127};
  double signal = 0, noise = 0, dot = 0, recon = 0;
  std::vector<const kernels::RowKernels*> sets = simd_kernel_sets();
  sets.push_back(&kernels::scalar_kernels());
  for (const kernels::RowKernels* k : sets) {
    SCOPED_TRACE(k->name);
    std::vector<uint8_t> codes(n);
    const ErrorSums sums = k->quantize_fp16(
        h.data(), n, n, {scale.data(), zero.data(), zero.data()}, range, codes.data());
    signal = noise = dot = recon = 0;
    double max_abs = 0;
    for (size_t i = 0; i < n; ++i) {
      const double w = fp16_to_float(h[i]);
      const double r = round_to_fp16((float(int8_t(codes[i])) - zero[0]) * scale[0]);
      signal += w * w;
      noise += (w - r) * (w - r);
      dot += w * r;
      recon += r * r;
      max_abs = std::max(max_abs, std::fabs(w - r));
    }
    EXPECT_NEAR(sums.signal, signal, 1e-6 * signal);
    EXPECT_NEAR(sums.noise, noise, 1e-6 * noise);
    EXPECT_NEAR(sums.dot, dot, 1e-6 * dot);
    EXPECT_NEAR(sums.recon_energy, recon, 1e-6 * recon);
    EXPECT_EQ(sums.max_abs, max_abs);
    EXPECT_GT(noise, 1e-3 * signal);  // the clipped tail makes the noise sum large, not tiny
  }
}

TEST(LinearQuantKernels, SimdMatchesScalarOnWholeTensors) {
  std::mt19937 rng(11);
  const std::vector<std::vector<uint64_t>> shapes = {
      {7, 13}, {6, 20, 3}, {5, 4, 3, 3}, {1, 37}, {33}};
  for (const auto& shape : shapes) {
    const size_t n = element_count(shape);
    const std::vector<float> f = awkward_values(rng, n);
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_fp16(f[i]);
    // Every block-size vector built from divisors of each dim (plus 0).
    std::vector<std::vector<uint64_t>> choices(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
      choices[d].push_back(0);
      for (uint64_t b = 1; b <= shape[d]; ++b) {
        if (shape[d] % b == 0) choices[d].push_back(b);
      }
    }
    std::vector<size_t> pick(shape.size(), 0);
    while (true) {
      LinearQuantSpec spec;
      for (size_t d = 0; d < shape.size(); ++d) spec.block_sizes.push_back(choices[d][pick[d]]);
      for (QuantMode mode : {QuantMode::kLinearSymmetric, QuantMode::kLinear}) {
        for (QuantDtype dtype :
             {QuantDtype::kInt8, QuantDtype::kUint8, QuantDtype::kInt4, QuantDtype::kUint4}) {
          spec.mode = mode;
          spec.dtype = dtype;
          for (int half = 0; half < 2; ++half) {
            const TensorView view = half ? TensorView::fp16(h, shape) : TensorView::fp32(f, shape);
            const LinearQuantResult a = quantized(quantize_linear(view, spec, KernelPath::kScalar));
            for (KernelPath path : {KernelPath::kSimd, KernelPath::kSimdPortable}) {
              const LinearQuantResult b = quantized(quantize_linear(view, spec, path));
              ASSERT_EQ(a.codes, b.codes) << dims(shape) << " blocks " << dims(spec.block_sizes);
              ASSERT_EQ(a.scale_fp16, b.scale_fp16);
              ASSERT_EQ(a.scale_fp32.size(), b.scale_fp32.size());
              for (size_t k = 0; k < a.scale_fp32.size(); ++k) {
                ASSERT_EQ(float_bits(a.scale_fp32[k]), float_bits(b.scale_fp32[k]));
              }
              ASSERT_EQ(a.zero_point, b.zero_point);
              ASSERT_TRUE(same_double(a.metrics.snr_db, b.metrics.snr_db));
              ASSERT_TRUE(same_double(a.metrics.cosine, b.metrics.cosine));
              ASSERT_TRUE(same_double(a.metrics.max_abs_error, b.metrics.max_abs_error));
              ASSERT_TRUE(same_double(a.metrics.rmse, b.metrics.rmse));
            }
          }
        }
      }
      size_t d = 0;
      while (d < shape.size() && ++pick[d] == choices[d].size()) pick[d++] = 0;
      if (d == shape.size()) break;
    }
  }
}

// The metrics computed while quantizing equal those of the dequantized weight (up to the order
// of the double sums), and do not depend on the thread count; neither do the codes.
TEST(LinearQuantMetrics, FusedMetricsMatchDequantizedWeightOnAnyThreadCount) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  const std::vector<std::vector<uint64_t>> shapes = {{300, 1000}, {7, 3, 20000}, {40, 24}};
  for (const auto& shape : shapes) {
    const size_t n = element_count(shape);
    std::vector<float> f(n);
    for (float& x : f) x = normal(rng);
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_fp16(f[i]);
    for (const std::vector<uint64_t>& blocks : {std::vector<uint64_t>(shape.size(), 0), [&] {
                                                  std::vector<uint64_t> b(shape.size(), 0);
                                                  b[0] = 1;
                                                  b.back() = 8;
                                                  return b;
                                                }()}) {
      for (int half = 0; half < 2; ++half) {
        SCOPED_TRACE(dims(shape) + " blocks " + dims(blocks) + (half ? " fp16" : " fp32"));
        const TensorView view = half ? TensorView::fp16(h, shape) : TensorView::fp32(f, shape);
        const LinearQuantSpec spec{QuantMode::kLinear, QuantDtype::kUint8, blocks};
        const LinearQuantResult one = quantized(quantize_linear(view, spec, KernelPath::kSimd, 1));
        const LinearQuantResult many = quantized(quantize_linear(view, spec, KernelPath::kSimd, 5));
        ASSERT_EQ(one.codes, many.codes);
        EXPECT_TRUE(same_double(one.metrics.snr_db, many.metrics.snr_db));
        EXPECT_TRUE(same_double(one.metrics.cosine, many.metrics.cosine));
        EXPECT_TRUE(same_double(one.metrics.rmse, many.metrics.rmse));
        const ErrorMetrics ref = compute_error_metrics(view, dequantize_linear(one));
        // fp16 sums are float per 128-element chunk (kernels' ChunkSums): within 1e-6 relative.
        const double rel = half ? 1e-6 : 1e-12;
        EXPECT_NEAR(one.metrics.snr_db, ref.snr_db, half ? 1e-5 : 1e-9);  // 10 log10(1 + 1e-6)
        EXPECT_NEAR(one.metrics.cosine, ref.cosine, rel);
        EXPECT_NEAR(one.metrics.rmse, ref.rmse, rel * ref.rmse);
        EXPECT_EQ(one.metrics.max_abs_error, ref.max_abs_error);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Round trip.

TEST(LinearQuantRoundTrip, ErrorStaysWithinHalfAStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  const std::vector<uint64_t> shape = {64, 256};
  std::vector<float> f(64 * 256);
  for (float& x : f) x = normal(rng);
  std::vector<uint16_t> h(f.size());
  for (size_t i = 0; i < f.size(); ++i) h[i] = float_to_fp16(f[i]);
  for (QuantMode mode : {QuantMode::kLinearSymmetric, QuantMode::kLinear}) {
    for (QuantDtype dtype :
         {QuantDtype::kInt8, QuantDtype::kUint8, QuantDtype::kInt4, QuantDtype::kUint4}) {
      for (int half = 0; half < 2; ++half) {
        SCOPED_TRACE(std::string(mode_name(mode)) + " " + dtype_name(dtype) +
                     (half ? " fp16" : " fp32"));
        const TensorView view = half ? TensorView::fp16(h, shape) : TensorView::fp32(f, shape);
        const LinearQuantResult r = quantized(quantize_linear(view, {mode, dtype, {1, 32}}));
        const std::vector<float> back = dequantize_linear(r);
        for (size_t i = 0; i < back.size(); ++i) {
          const size_t block = (i / 256) * 8 + (i % 256) / 32;
          const float w = half ? fp16_to_float(h[i]) : f[i];
          // Half a step. For fp16 add the rounding of the quotient w / s (up to 1/16 of a step
          // for |w / s| >= 128) and, at the block edges, the clipping caused by the fp16 scale
          // covering up to 1/8 of a step less than the range; then the decoded value's rounding.
          const float step = r.scale_at(block);
          const float bound =
              half ? step * 0.75f + std::fabs(w) * 0x1p-11f : step * 0.5f * (1.0f + 0x1p-20f);
          ASSERT_LE(std::fabs(w - back[i]), bound) << i;
        }
        const ErrorMetrics m = compute_error_metrics(view, back);
        const double min_snr = bit_width(dtype) == 8 ? 38.0 : 15.0;
        EXPECT_GT(m.snr_db, min_snr);
        EXPECT_GT(m.cosine, bit_width(dtype) == 8 ? 0.9999 : 0.98);
      }
    }
  }
}

TEST(LinearQuantRoundTrip, ErrorMetricsEdgeCases) {
  const std::vector<float> w = {1, -2, 3};
  const ErrorMetrics exact = compute_error_metrics(TensorView::fp32(w, {3}), w);
  EXPECT_TRUE(std::isinf(exact.snr_db) && exact.snr_db > 0);
  EXPECT_DOUBLE_EQ(exact.cosine, 1.0);
  EXPECT_EQ(exact.max_abs_error, 0.0);
  const std::vector<float> off = {1, -2, 2};
  const ErrorMetrics m = compute_error_metrics(TensorView::fp32(w, {3}), off);
  EXPECT_DOUBLE_EQ(m.max_abs_error, 1.0);
  EXPECT_NEAR(m.snr_db, 10 * std::log10(14.0), 1e-12);
  const std::vector<float> zeros = {0, 0, 0};
  EXPECT_DOUBLE_EQ(compute_error_metrics(TensorView::fp32(zeros, {3}), zeros).cosine, 1.0);
  EXPECT_DOUBLE_EQ(compute_error_metrics(TensorView::fp32(zeros, {3}), w).cosine, 0.0);
}

}  // namespace
}  // namespace mlpress::compress
