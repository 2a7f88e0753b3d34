#pragma once
// A larger buffer for an output stdio stream. The default (4 KiB in glibc, 1 KiB in Emscripten's
// musl) turns a package's many small blob writes into as many write calls, and in wasm every
// call goes out to JavaScript (NODEFS under Node.js, the page's SPILLFS); a few hundred KiB
// gathers them.
#include <cstddef>
#include <cstdio>
#include <memory>

namespace mlpress {

inline constexpr size_t kStdioBufferBytes = size_t(256) << 10;

// Gives `file`, just opened and not yet read or written, a buffer of kStdioBufferBytes. The
// returned storage is the buffer: keep it until the stream is closed.
std::unique_ptr<char[]> attach_stdio_buffer(std::FILE* file);

}  // namespace mlpress
