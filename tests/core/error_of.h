#pragma once
// The message of the mlpress::Error an action throws, for tests that compare error texts.
#include <string>

#include "core/io/error.h"

namespace mlpress::testing_support {

// What error_of returns when the action throws nothing.
inline constexpr const char* kNoError = "(no error)";

template <typename Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return kNoError;
}

}  // namespace mlpress::testing_support
