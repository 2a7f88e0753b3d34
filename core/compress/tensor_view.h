#pragma once
// A weight as the kernels see it: element type, shape and a row-major span of values. The view
// does not own the values; fp16 values are IEEE binary16 bit patterns.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mlpress::compress {

enum class ElementType : uint8_t { kFloat16, kFloat32 };

inline uint64_t element_count(std::span<const uint64_t> shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

class TensorView {
 public:
  // Throw std::invalid_argument when the span length does not match the shape.
  static TensorView fp16(std::span<const uint16_t> bits, std::vector<uint64_t> shape) {
    return TensorView(ElementType::kFloat16, bits.data(), bits.size(), std::move(shape));
  }
  static TensorView fp32(std::span<const float> values, std::vector<uint64_t> shape) {
    return TensorView(ElementType::kFloat32, values.data(), values.size(), std::move(shape));
  }

  ElementType type() const { return type_; }
  const std::vector<uint64_t>& shape() const { return shape_; }
  uint64_t size() const { return size_; }
  size_t rank() const { return shape_.size(); }

  // Only valid for the matching element type.
  std::span<const uint16_t> fp16_bits() const {
    return {static_cast<const uint16_t*>(data_), size_t(size_)};
  }
  std::span<const float> fp32_values() const {
    return {static_cast<const float*>(data_), size_t(size_)};
  }

 private:
  TensorView(ElementType type, const void* data, size_t size, std::vector<uint64_t> shape)
      : type_(type), data_(data), size_(size), shape_(std::move(shape)) {
    if (element_count(shape_) != size_) {
      throw std::invalid_argument("TensorView: shape does not match the number of values");
    }
  }

  ElementType type_;
  const void* data_;
  uint64_t size_;
  std::vector<uint64_t> shape_;
};

}  // namespace mlpress::compress
