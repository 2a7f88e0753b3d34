#include "core/io/temporary_outputs.h"

#include <cstring>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#endif

#include "core/io/signal_safe_slots.h"

namespace mlpress {
namespace {

constexpr size_t kPathBytes = 4096;

struct Path {
  char text[kPathBytes] = {};
};

SignalSafeSlots<Path, 32> g_paths;

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
// The record getdents64 fills (linux/dirent.h, which the C library does not declare).
struct DirEntry64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[1];  // NUL-terminated, as long as reclen allows
};

// Removes `name` in the folder `dir_fd`: a file, or a folder after everything in it; true when
// it is gone. Passes over a folder until one removes nothing, since removing entries during a
// listing may skip some.
bool remove_tree(int dir_fd, const char* name, int depth) {
  if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT) return true;
  if (depth > 16) return false;
  const int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  for (bool removed = true; removed;) {
    removed = false;
    alignas(8) char buffer[2048];
    lseek(fd, 0, SEEK_SET);
    for (;;) {
      const long n = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
      if (n <= 0) break;
      for (long at = 0; at < n;) {
        const auto* entry = reinterpret_cast<const DirEntry64*>(buffer + at);
        at += entry->reclen;
        if (std::strcmp(entry->name, ".") == 0 || std::strcmp(entry->name, "..") == 0) continue;
        if (remove_tree(fd, entry->name, depth + 1)) removed = true;
      }
    }
  }
  close(fd);
  return unlinkat(dir_fd, name, AT_REMOVEDIR) == 0;
}
#endif

}  // namespace

TemporaryOutputNote::TemporaryOutputNote(const std::string& path) {
  if (path.empty() || path.size() >= kPathBytes) return;
  slot_ = g_paths.add([&](Path& p) { std::memcpy(p.text, path.c_str(), path.size() + 1); });
}

TemporaryOutputNote::~TemporaryOutputNote() { forget(); }

TemporaryOutputNote::TemporaryOutputNote(TemporaryOutputNote&& other) noexcept
    : slot_(other.slot_) {
  other.slot_ = -1;
}

TemporaryOutputNote& TemporaryOutputNote::operator=(TemporaryOutputNote&& other) noexcept {
  if (this != &other) {
    forget();
    slot_ = other.slot_;
    other.slot_ = -1;
  }
  return *this;
}

void TemporaryOutputNote::forget() {
  g_paths.remove(slot_);
  slot_ = -1;
}

void remove_noted_temporary_outputs() {
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
  g_paths.find([](const Path& p) {
    remove_tree(AT_FDCWD, p.text, 0);
    return false;  // every one
  });
#endif
}

}  // namespace mlpress
