#pragma once
// Sequential reader of the binary golden files the scripts/make_*_goldens.py scripts write
// (little-endian fields, read back in the order they were written).
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

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

}  // namespace mlpress::testing
