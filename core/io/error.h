#pragma once
// One exception type for every user-facing failure. The message always names what is wrong
// (file, entry, op, offset) so that the CLI, wasm bindings and tests can show it verbatim.
#include <stdexcept>
#include <string>

namespace mlpress {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// The caller asked a long job to stop (through a progress callback); not a fault of the input.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace mlpress
