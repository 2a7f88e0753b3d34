#include "core/compress/decompress_ops.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "core/blob/blob_format.h"
#include "core/blob/subbyte.h"
#include "core/compress/fp16_convert.h"

namespace mlpress::compress {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

std::string dims_text(std::span<const uint64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

uint64_t product(std::span<const uint64_t> dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

void check_size(const DenseTensor& t, const char* what) {
  if (t.data.size() != t.count() * elem_bytes(t.type)) {
    fail(std::string(what) + ": holds " + std::to_string(t.data.size()) + " bytes for " +
         std::to_string(t.count()) + " elements");
  }
}

uint16_t get_u16(const DenseTensor& t, uint64_t i) {
  uint16_t v;
  std::memcpy(&v, t.data.data() + 2 * i, 2);
  return v;
}

void put_u16(DenseTensor& t, uint64_t i, uint16_t v) { std::memcpy(t.data.data() + 2 * i, &v, 2); }
void put_f32(DenseTensor& t, uint64_t i, float v) { std::memcpy(t.data.data() + 4 * i, &v, 4); }

// Row-major strides of `dims`.
std::vector<uint64_t> strides_of(std::span<const uint64_t> dims) {
  std::vector<uint64_t> strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return strides;
}

// Advances a row-major multi-index; false after the last one.
bool next_index(std::vector<uint64_t>& index, std::span<const uint64_t> dims) {
  for (size_t d = index.size(); d-- > 0;) {
    if (++index[d] < dims[d]) return true;
    index[d] = 0;
  }
  return false;
}

size_t normalise_axis(int64_t axis, size_t rank, const char* what) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) {
    fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
         std::to_string(rank));
  }
  return static_cast<size_t>(axis < 0 ? axis + r : axis);
}

int index_bits(ElemType type) {
  switch (type) {
    case ElemType::kUint1:
      return 1;
    case ElemType::kUint2:
      return 2;
    case ElemType::kUint3:
      return 3;
    case ElemType::kUint4:
      return 4;
    case ElemType::kUint6:
      return 6;
    case ElemType::kUint8:
      return 8;
    default:
      return 0;
  }
}

}  // namespace

size_t elem_bytes(ElemType type) {
  switch (type) {
    case ElemType::kFp16:
      return 2;
    case ElemType::kFp32:
    case ElemType::kInt32:
    case ElemType::kUint32:
      return 4;
    default:
      return 1;
  }
}

bool is_float(ElemType type) { return type == ElemType::kFp16 || type == ElemType::kFp32; }

uint64_t DenseTensor::count() const { return product(dims); }

int64_t DenseTensor::as_int(uint64_t i) const {
  switch (type) {
    case ElemType::kInt8:
    case ElemType::kInt4:
      return static_cast<int8_t>(data[i]);
    case ElemType::kInt32: {
      int32_t v;
      std::memcpy(&v, data.data() + 4 * i, 4);
      return v;
    }
    case ElemType::kUint32: {
      uint32_t v;
      std::memcpy(&v, data.data() + 4 * i, 4);
      return v;
    }
    case ElemType::kFp16:
    case ElemType::kFp32:
      fail("a float tensor where integers are expected");
    default:
      return static_cast<uint8_t>(data[i]);
  }
}

float DenseTensor::as_float(uint64_t i) const {
  switch (type) {
    case ElemType::kFp16:
      return fp16_to_float(get_u16(*this, i));
    case ElemType::kFp32: {
      float v;
      std::memcpy(&v, data.data() + 4 * i, 4);
      return v;
    }
    default:
      return static_cast<float>(as_int(i));
  }
}

DenseTensor DenseTensor::zeros(ElemType type, std::vector<uint64_t> dims) {
  DenseTensor t;
  t.type = type;
  t.dims = std::move(dims);
  t.data.assign(t.count() * elem_bytes(type), std::byte{0});
  return t;
}

DenseTensor affine_dequantize(const DenseTensor& quantized, const DenseTensor& zero_point,
                              const DenseTensor& scale, int64_t axis) {
  check_size(quantized, "quantized_data");
  check_size(zero_point, "zero_point");
  check_size(scale, "scale");
  if (quantized.dims.empty()) fail("quantized_data must have rank >= 1");
  if (!is_float(scale.type)) fail("scale must be fp16 or fp32");
  const size_t a = normalise_axis(axis, quantized.dims.size(), "axis");
  auto check_param = [&](const DenseTensor& p, const char* what) {
    if (p.dims.size() > 1) fail(std::string(what) + " must be a scalar or a vector");
    if (p.dims.size() == 1 && p.dims[0] != quantized.dims[a]) {
      fail(std::string(what) + " has " + std::to_string(p.dims[0]) + " entries for axis size " +
           std::to_string(quantized.dims[a]));
    }
  };
  check_param(scale, "scale");
  check_param(zero_point, "zero_point");
  DenseTensor out = DenseTensor::zeros(scale.type, quantized.dims);
  const uint64_t inner = strides_of(quantized.dims)[a];
  const uint64_t axis_size = quantized.dims[a];
  for (uint64_t i = 0; i < out.count(); ++i) {
    const uint64_t c = (i / inner) % axis_size;
    const float zp = zero_point.as_float(zero_point.dims.empty() ? 0 : c);
    const float s = scale.as_float(scale.dims.empty() ? 0 : c);
    const float v = (quantized.as_float(i) - zp) * s;
    if (out.type == ElemType::kFp16) {
      put_u16(out, i, float_to_fp16(v));
    } else {
      put_f32(out, i, v);
    }
  }
  return out;
}

DenseTensor cast_fp16_to_fp32(const DenseTensor& source) {
  check_size(source, "source_val");
  if (source.type != ElemType::kFp16) fail("source_val must be fp16");
  DenseTensor out = DenseTensor::zeros(ElemType::kFp32, source.dims);
  for (uint64_t i = 0; i < out.count(); ++i) put_f32(out, i, source.as_float(i));
  return out;
}

DenseTensor lut_to_dense_ios16(const DenseTensor& packed_indices, const DenseTensor& lut,
                               std::span<const uint64_t> shape) {
  check_size(packed_indices, "indices");
  check_size(lut, "lut");
  if (packed_indices.type != ElemType::kUint8 || packed_indices.dims.size() != 1) {
    fail("indices must be a rank-1 uint8 tensor");
  }
  if (lut.dims.size() != 1) fail("lut must have rank 1");
  const uint64_t palettes = lut.count();
  int bits = 0;
  while (bits <= 8 && (uint64_t{1} << bits) < palettes) ++bits;
  if (bits < 1 || bits > 8 || (uint64_t{1} << bits) != palettes) {
    fail("lut has " + std::to_string(palettes) + " entries; needs 2, 4, 16, 64 or 256");
  }
  const uint64_t count = product(shape);
  if (packed_indices.count() != blob::packed_size_in_bytes(count, bits)) {
    fail("indices hold " + std::to_string(packed_indices.count()) + " bytes; " +
         std::to_string(count) + " elements of " + std::to_string(bits) + " bits need " +
         std::to_string(blob::packed_size_in_bytes(count, bits)));
  }
  std::vector<uint8_t> indices(count);
  blob::unpack_bits(
      {reinterpret_cast<const uint8_t*>(packed_indices.data.data()), packed_indices.data.size()},
      bits, indices);
  DenseTensor out = DenseTensor::zeros(lut.type, {shape.begin(), shape.end()});
  const size_t e = elem_bytes(lut.type);
  for (uint64_t i = 0; i < count; ++i) {
    std::memcpy(out.data.data() + i * e, lut.data.data() + indices[i] * e, e);
  }
  return out;
}

DenseTensor sparse_to_dense_ios16(const DenseTensor& nonzero_data, const DenseTensor& packed_mask,
                                  std::span<const uint64_t> shape) {
  check_size(packed_mask, "mask");
  if (packed_mask.type != ElemType::kUint8 || packed_mask.dims.size() != 1) {
    fail("mask must be a rank-1 uint8 tensor");
  }
  const uint64_t count = product(shape);
  if (packed_mask.count() != (count + 7) / 8) {
    fail("mask holds " + std::to_string(packed_mask.count()) + " bytes for " +
         std::to_string(count) + " elements");
  }
  std::vector<uint8_t> bits(packed_mask.count() * 8);
  blob::unpack_bits(
      {reinterpret_cast<const uint8_t*>(packed_mask.data.data()), packed_mask.data.size()}, 1,
      bits);
  for (uint64_t i = count; i < bits.size(); ++i) {
    if (bits[i]) fail("Padded bits in mask should be unset or equals to zero");
  }
  DenseTensor mask;
  mask.type = ElemType::kUint1;
  mask.dims.assign(shape.begin(), shape.end());
  mask.data.resize(count);
  std::memcpy(mask.data.data(), bits.data(), count);
  return sparse_to_dense(nonzero_data, mask);
}

DenseTensor blockwise_shift_scale(const DenseTensor& data, const DenseTensor& scale,
                                  const DenseTensor* offset) {
  check_size(data, "data");
  check_size(scale, "scale");
  if (!is_float(scale.type)) fail("scale must be fp16 or fp32");
  const size_t rank = data.dims.size();
  if (rank == 0 || scale.dims.size() != rank) {
    fail("scale " + dims_text(scale.dims) + " must have the rank of data " + dims_text(data.dims));
  }
  if (offset) {
    check_size(*offset, "offset");
    if (offset->dims != scale.dims) {
      fail("offset " + dims_text(offset->dims) + " must have the shape of scale " +
           dims_text(scale.dims));
    }
  }
  std::vector<uint64_t> block(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (scale.dims[d] == 0 || data.dims[d] % scale.dims[d] != 0) {
      fail("scale " + dims_text(scale.dims) + " does not divide data " + dims_text(data.dims));
    }
    block[d] = data.dims[d] / scale.dims[d];
  }
  // numpy: data.astype(scale.dtype) - offset promotes to fp32 when either is fp32.
  const bool fp16 = scale.type == ElemType::kFp16 && !(offset && offset->type == ElemType::kFp32);
  DenseTensor out = DenseTensor::zeros(fp16 ? ElemType::kFp16 : ElemType::kFp32, data.dims);
  const auto scale_strides = strides_of(scale.dims);
  std::vector<uint64_t> index(rank, 0);
  uint64_t i = 0;
  do {
    uint64_t j = 0;
    for (size_t d = 0; d < rank; ++d) j += (index[d] / block[d]) * scale_strides[d];
    // data.astype(scale dtype): fp32 data is rounded to fp16 for an fp16 scale.
    float x = data.as_float(i);
    if (scale.type == ElemType::kFp16) x = fp16_to_float(float_to_fp16(x));
    if (offset) {
      float o = offset->as_float(j);
      if (fp16) o = fp16_to_float(float_to_fp16(o));
      x = x - o;
      if (fp16) x = fp16_to_float(float_to_fp16(x));
    }
    const float v = scale.as_float(j) * x;
    if (fp16) {
      put_u16(out, i, float_to_fp16(v));
    } else {
      put_f32(out, i, v);
    }
    ++i;
  } while (next_index(index, data.dims));
  return out;
}

DenseTensor lut_to_dense(const DenseTensor& indices, const DenseTensor& lut,
                         std::optional<int64_t> vector_axis) {
  check_size(indices, "indices");
  check_size(lut, "lut");
  const size_t rank = indices.dims.size();
  if (rank == 0) fail("indices must have rank >= 1");
  if (index_bits(indices.type) == 0) fail("indices must be uint1/2/3/4/6/8");
  if (lut.dims.size() != rank + 2) {
    fail("lut " + dims_text(lut.dims) + " must have rank " + std::to_string(rank + 2) +
         " for indices " + dims_text(indices.dims));
  }
  const uint64_t palettes = lut.dims[rank];
  const uint64_t vector = lut.dims[rank + 1];
  if (palettes != uint64_t{1} << index_bits(indices.type)) {
    fail("lut has " + std::to_string(palettes) + " palettes for " +
         std::to_string(index_bits(indices.type)) + "-bit indices");
  }
  if (vector == 0) fail("lut has an empty vector axis");
  std::vector<uint64_t> group(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (lut.dims[d] == 0 || indices.dims[d] % lut.dims[d] != 0) {
      fail("lut " + dims_text(lut.dims) + " does not divide indices " + dims_text(indices.dims));
    }
    group[d] = indices.dims[d] / lut.dims[d];
  }
  size_t a = 0;
  std::vector<uint64_t> out_dims = indices.dims;
  if (vector > 1) {
    if (!vector_axis) fail("vector_axis is required when the lut's vector size is > 1");
    a = normalise_axis(*vector_axis, rank, "vector_axis");
    out_dims[a] *= vector;
  }
  DenseTensor out = DenseTensor::zeros(lut.type, out_dims);
  if (out.data.empty()) return out;
  const size_t e = elem_bytes(lut.type);
  const auto group_strides = strides_of(std::span(lut.dims).first(rank));
  const auto out_strides = strides_of(out_dims);
  std::vector<uint64_t> index(rank, 0);
  uint64_t i = 0;
  do {
    uint64_t g = 0, o = 0;
    for (size_t d = 0; d < rank; ++d) {
      g += (index[d] / group[d]) * group_strides[d];
      o += (d == a && vector > 1 ? index[d] * vector : index[d]) * out_strides[d];
    }
    const uint64_t entry = static_cast<uint64_t>(indices.as_int(i));
    const std::byte* src = lut.data.data() + ((g * palettes + entry) * vector) * e;
    for (uint64_t v = 0; v < vector; ++v) {
      std::memcpy(out.data.data() + (o + v * out_strides[a]) * e, src + v * e, e);
    }
    ++i;
  } while (next_index(index, indices.dims));
  return out;
}

DenseTensor sparse_to_dense(const DenseTensor& nonzero_data, const DenseTensor& mask) {
  check_size(nonzero_data, "nonzero_data");
  check_size(mask, "mask");
  if (nonzero_data.dims.size() != 1) fail("nonzero_data must have rank 1");
  DenseTensor out = DenseTensor::zeros(nonzero_data.type, mask.dims);
  const size_t e = elem_bytes(nonzero_data.type);
  uint64_t k = 0;
  for (uint64_t i = 0; i < mask.count(); ++i) {
    if (mask.as_int(i) == 0) continue;
    if (k >= nonzero_data.count()) break;
    std::memcpy(out.data.data() + i * e, nonzero_data.data.data() + k * e, e);
    ++k;
  }
  uint64_t ones = 0;
  for (uint64_t i = 0; i < mask.count(); ++i) ones += mask.as_int(i) != 0;
  if (ones != nonzero_data.count()) {
    fail("Number of 1s in mask (" + std::to_string(ones) +
         ") does not match the number of elements in nonzero_data (" +
         std::to_string(nonzero_data.count()) + ")");
  }
  return out;
}

namespace {

// The elements of `dense` where `mask` is set, as a rank-1 tensor.
DenseTensor select_nonzero(const DenseTensor& dense, const DenseTensor& mask) {
  const size_t e = elem_bytes(dense.type);
  DenseTensor out;
  out.type = dense.type;
  for (uint64_t i = 0; i < mask.count(); ++i) {
    if (mask.as_int(i) == 0) continue;
    out.data.insert(out.data.end(), dense.data.begin() + static_cast<std::ptrdiff_t>(i * e),
                    dense.data.begin() + static_cast<std::ptrdiff_t>((i + 1) * e));
  }
  out.dims = {out.data.size() / e};
  return out;
}

}  // namespace

std::pair<DenseTensor, DenseTensor> lut_to_sparse(const DenseTensor& indices_mask,
                                                  const DenseTensor& indices_nonzero_data,
                                                  const DenseTensor& lut,
                                                  std::optional<int64_t> vector_axis) {
  const DenseTensor indices = sparse_to_dense(indices_nonzero_data, indices_mask);
  const DenseTensor dense = lut_to_dense(indices, lut, vector_axis);
  DenseTensor mask = indices_mask;
  if (vector_axis && !lut.dims.empty() && lut.dims.back() > 1) {
    // np.repeat(mask, V, axis=vector_axis): each entry V times in a row along the axis.
    const uint64_t vector = lut.dims.back();
    const size_t a = normalise_axis(*vector_axis, indices_mask.dims.size(), "vector_axis");
    mask.dims[a] *= vector;
    mask.data.assign(mask.count(), std::byte{0});
    const uint64_t inner = strides_of(indices_mask.dims)[a];
    const uint64_t outer = indices_mask.count() / (inner * indices_mask.dims[a]);
    for (uint64_t o = 0; o < outer; ++o) {
      for (uint64_t c = 0; c < indices_mask.dims[a]; ++c) {
        for (uint64_t v = 0; v < vector; ++v) {
          const uint64_t dst = ((o * mask.dims[a]) + c * vector + v) * inner;
          const uint64_t src = ((o * indices_mask.dims[a]) + c) * inner;
          std::memcpy(mask.data.data() + dst, indices_mask.data.data() + src, inner);
        }
      }
    }
  }
  DenseTensor nonzero = select_nonzero(dense, mask);
  return {std::move(mask), std::move(nonzero)};
}

std::pair<DenseTensor, DenseTensor> sparse_blockwise_shift_scale(const DenseTensor& data_mask,
                                                                 const DenseTensor& nonzero_data,
                                                                 const DenseTensor& scale,
                                                                 const DenseTensor* offset) {
  const DenseTensor data = sparse_to_dense(nonzero_data, data_mask);
  const DenseTensor dense = blockwise_shift_scale(data, scale, offset);
  return {data_mask, select_nonzero(dense, data_mask)};
}

}  // namespace mlpress::compress
