#include "core/io/mapped_file_faults.h"

#ifndef __EMSCRIPTEN__
#include <signal.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cstring>

#include "core/io/signal_safe_slots.h"
#include "core/io/temporary_outputs.h"

namespace mlpress {
namespace {

constexpr size_t kNameBytes = 512;

struct Mapping {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  uint64_t offset = 0;  // in the file, of begin
  char name[kNameBytes] = {};
};

SignalSafeSlots<Mapping, 128> g_mappings;

// Appends `text` to out[0, capacity - 1), keeping it NUL-terminated.
void append(char* out, size_t capacity, size_t& used, const char* text, size_t n) {
  if (capacity == 0) return;
  const size_t room = used + 1 < capacity ? capacity - 1 - used : 0;
  const size_t take = n < room ? n : room;
  std::memcpy(out + used, text, take);
  used += take;
  out[used] = '\0';
}

void append_number(char* out, size_t capacity, size_t& used, uint64_t value) {
  char digits[24];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = char('0' + value % 10);
    value /= 10;
  } while (value != 0);
  append(out, capacity, used, digits + sizeof digits - n, n);
}

#ifndef __EMSCRIPTEN__
void on_sigbus(int sig, siginfo_t* info, void*) {
  char message[kNameBytes + 256];
  if (info && describe_mapped_fault(info->si_addr, message, sizeof message)) {
    const size_t n = std::strlen(message);
    size_t done = 0;
    while (done < n) {
      const ssize_t w = write(STDERR_FILENO, message + done, n - done);
      if (w <= 0) break;
      done += size_t(w);
    }
    remove_noted_temporary_outputs();
    _exit(1);
  }
  // Not one of ours: the default action, as if no handler were installed.
  signal(sig, SIG_DFL);
  raise(sig);
}
#endif

}  // namespace

int note_mapped_range(const void* begin, size_t length, std::string_view name, uint64_t offset) {
  return g_mappings.add([&](Mapping& m) {
    m.begin = reinterpret_cast<uintptr_t>(begin);
    m.end = m.begin + length;
    m.offset = offset;
    const size_t n = std::min(name.size(), kNameBytes - 1);
    std::memcpy(m.name, name.data(), n);
    m.name[n] = '\0';
  });
}

void forget_mapped_range(int slot) { g_mappings.remove(slot); }

bool describe_mapped_fault(const void* address, char* out, size_t capacity) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(address);
  return g_mappings.find([&](const Mapping& m) {
    if (a < m.begin || a >= m.end) return false;
    size_t used = 0;
    if (capacity > 0) out[0] = '\0';
    const char* const lead = "mlpress: error: ";
    append(out, capacity, used, lead, std::strlen(lead));
    append(out, capacity, used, m.name, std::strlen(m.name));
    const char* const middle =
        ": the file was cut short while it was being read (another program changed it): no "
        "data at offset ";
    append(out, capacity, used, middle, std::strlen(middle));
    append_number(out, capacity, used, m.offset + (a - m.begin));
    const char* const tail = "; nothing was written to the output\n";
    append(out, capacity, used, tail, std::strlen(tail));
    return true;
  });
}

void install_mapped_file_fault_handler() {
#ifndef __EMSCRIPTEN__
  struct sigaction action {};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaction(SIGBUS, &action, nullptr);
#endif
}

}  // namespace mlpress
