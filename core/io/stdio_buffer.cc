#include "core/io/stdio_buffer.h"

namespace mlpress {

std::unique_ptr<char[]> attach_stdio_buffer(std::FILE* file) {
  // Both libcs ignore the size when handed no buffer, so the buffer is ours. On failure the
  // stream keeps its own buffer, which is only slower.
  std::unique_ptr<char[]> buffer(new char[kStdioBufferBytes]);
  if (std::setvbuf(file, buffer.get(), _IOFBF, kStdioBufferBytes) != 0) return nullptr;
  return buffer;
}

}  // namespace mlpress
