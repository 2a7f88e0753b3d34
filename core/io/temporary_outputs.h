#pragma once
// Temporary outputs (a staging folder, a zip being written) are removed by their owners'
// destructors when a run fails with an exception. The SIGBUS handler of mapped_file_faults.h
// cannot unwind, so the owners also note their paths here and the handler removes what is noted
// before it exits: a failed run leaves nothing beside the output either way.
#include <string>

namespace mlpress {

// Notes `path` (a file, or a folder with everything in it) for removal by
// remove_noted_temporary_outputs() while this object lives. Without a free slot (more than 32
// at once) the path goes unnoted. Not copyable.
class TemporaryOutputNote {
 public:
  TemporaryOutputNote() = default;
  explicit TemporaryOutputNote(const std::string& path);
  ~TemporaryOutputNote();
  TemporaryOutputNote(const TemporaryOutputNote&) = delete;
  TemporaryOutputNote& operator=(const TemporaryOutputNote&) = delete;
  TemporaryOutputNote(TemporaryOutputNote&& other) noexcept;
  TemporaryOutputNote& operator=(TemporaryOutputNote&& other) noexcept;

  // Forgets the path now (the owner removed or renamed it).
  void forget();

 private:
  int slot_ = -1;
};

// Removes every noted path that exists. Async-signal-safe: system calls only, no allocation.
void remove_noted_temporary_outputs();

}  // namespace mlpress
