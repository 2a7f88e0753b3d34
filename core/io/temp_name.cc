#include "core/io/temp_name.h"

#include <cstdint>
#include <cstdio>
#include <random>

namespace mlpress {

std::string random_file_suffix() {
  std::random_device device;
  std::uniform_int_distribution<uint32_t> dist;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", dist(device));
  return buf;
}

}  // namespace mlpress
