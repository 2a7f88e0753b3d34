#pragma once
// Sequential reader of the binary golden files the scripts/make_*_goldens.py scripts write
// (little-endian fields, read back in the order they were written).
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/compress/fp16_convert.h"
#include "core/compress/tensor_view.h"

namespace mlpress::testing {

class GoldenReader {
 public:
  explicit GoldenReader(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    bytes_.assign(std::istreambuf_iterator<char>(in), {});
  }
  template <typename T>
  T get() {
    T v;
    take(&v, sizeof v);
    return v;
  }
  void take(void* out, size_t n) {
    if (pos_ + n > bytes_.size()) throw std::runtime_error("golden file truncated");
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
  }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  std::vector<char> bytes_;
  size_t pos_ = 0;
};

// A source tensor as the quantize and palettize golden files store it: a type byte (0 = fp16),
// a rank byte, uint64 dims, then the raw little-endian values.
struct GoldenTensor {
  compress::ElementType type = compress::ElementType::kFloat16;
  std::vector<uint64_t> shape;
  std::vector<uint16_t> half;
  std::vector<float> single;

  compress::TensorView view() const {
    return type == compress::ElementType::kFloat16 ? compress::TensorView::fp16(half, shape)
                                                   : compress::TensorView::fp32(single, shape);
  }
  double at(size_t i) const {
    return type == compress::ElementType::kFloat16 ? compress::fp16_to_float(half[i]) : single[i];
  }
};

inline GoldenTensor read_golden_tensor(GoldenReader& r) {
  GoldenTensor t;
  t.type =
      r.get<uint8_t>() == 0 ? compress::ElementType::kFloat16 : compress::ElementType::kFloat32;
  t.shape.resize(r.get<uint8_t>());
  for (auto& d : t.shape) d = r.get<uint64_t>();
  const uint64_t n = compress::element_count(t.shape);
  if (t.type == compress::ElementType::kFloat16) {
    t.half.resize(n);
    r.take(t.half.data(), n * 2);
  } else {
    t.single.resize(n);
    r.take(t.single.data(), n * 4);
  }
  return t;
}

}  // namespace mlpress::testing
