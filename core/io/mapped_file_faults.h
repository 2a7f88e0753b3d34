#pragma once
// A mapped input file that another process cuts short while it is read (a model re-saved in
// place, say) makes the next access past its new end raise SIGBUS, which would kill the process
// without a word. The mappings (file_mapping.h) are registered here, and a SIGBUS handler turns a
// fault inside one into an error naming the file and the offset, and exit status 1, as an error
// thrown elsewhere gives. Native only; the CLI installs the handler. Before it exits, the
// handler removes the temporary outputs noted in temporary_outputs.h; the output itself is
// never touched before its complete temporary is renamed over it.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mlpress {

// Records that [begin, begin + length) maps `name` from byte `offset` on; returns the record's
// slot for forget_mapped_range. Without a free slot (more than 128 mappings at once) the mapping
// goes unrecorded (-1): a fault in it stays a crash.
int note_mapped_range(const void* begin, size_t length, std::string_view name, uint64_t offset);
// Forgets a recorded mapping (before it is unmapped).
void forget_mapped_range(int slot);

// Installs the SIGBUS handler (again is harmless). A fault outside every recorded mapping is
// left to the default action.
void install_mapped_file_fault_handler();

// The message the handler writes for a fault at `address`, into `out` (NUL-terminated); false
// when no recorded mapping holds the address. Async-signal-safe; exposed for tests.
bool describe_mapped_fault(const void* address, char* out, size_t capacity);

}  // namespace mlpress
