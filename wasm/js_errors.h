#pragma once
// How every binding hands a failure to JavaScript: the JS imports defined with EM_JS in
// bindings.cc, and `guarded`, which turns any C++ exception into a JS Error.
#include <emscripten/em_macros.h>
#include <emscripten/val.h>

#include <exception>
#include <string>
#include <utility>

extern "C" {
void mlpress_throw_js_error(const char* message) EM_IMPORT(mlpress_throw_js_error);
int mlpress_call_progress(emscripten::EM_VAL fn, double done, double total, const char* weight)
    EM_IMPORT(mlpress_call_progress);
}

namespace mlpress::wasm {

// Holds the message of the last failure while the JS error is thrown: the JS exception
// unwinds the wasm frames between here and JS without running their destructors, so nothing
// that owns memory may be alive in them at that moment.
inline std::string& last_error() {
  static std::string message;
  return message;
}

// Runs `fn`; turns any C++ exception into a JS Error. The C++ exception is fully handled (its
// catch block left) before the JS error is thrown, so the C++ runtime's exception state and
// the core's frames are cleaned up normally.
template <class Fn>
auto guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    last_error() = e.what();
  } catch (...) {
    last_error() = "mlpress: unknown error";
  }
  mlpress_throw_js_error(last_error().c_str());
  __builtin_unreachable();
}

}  // namespace mlpress::wasm
