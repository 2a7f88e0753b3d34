#pragma once
// Names for temporary files and folders beside an output, unlikely to collide with another
// writer's (two runs writing next to the same output must not share a temporary).
#include <cstdint>
#include <string>

namespace mlpress {

// Eight random hex digits.
std::string random_file_suffix();

// value as printf's "%08x" writes it (written out: snprintf would bring printf into the wasm
// module's first compress call for this one name).
std::string eight_hex_digits(uint32_t value);

}  // namespace mlpress
