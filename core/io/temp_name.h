#pragma once
// Names for temporary files and folders beside an output, unlikely to collide with another
// writer's (two runs writing next to the same output must not share a temporary).
#include <string>

namespace mlpress {

// Eight random hex digits.
std::string random_file_suffix();

}  // namespace mlpress
