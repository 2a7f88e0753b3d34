#include "core/io/temp_name.h"

#include <cstdint>
#include <random>

namespace mlpress {

std::string eight_hex_digits(uint32_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(8, '0');
  for (int i = 7; i >= 0; --i, value >>= 4) text[i] = kDigits[value & 15];
  return text;
}

std::string random_file_suffix() {
  std::random_device device;
  std::uniform_int_distribution<uint32_t> dist;
  return eight_hex_digits(dist(device));
}

}  // namespace mlpress
