#pragma once
// A fixed table of records for a signal handler to read. The handler may interrupt any thread,
// even one holding a lock or inside malloc, so it may only read memory; records are therefore
// claimed and released without locks: a slot's state is free, being filled in, or published,
// and a published record was written in full before its state said so.
#include <atomic>
#include <cstddef>

namespace mlpress {

template <typename Record, size_t N>
class SignalSafeSlots {
 public:
  // Claims a free slot, lets `fill(record)` write it, publishes it and returns its index; -1
  // (and `fill` not called) when every slot is taken.
  template <typename Fill>
  int add(Fill&& fill) {
    for (size_t i = 0; i < N; ++i) {
      int expected = kFree;
      if (!slots_[i].state.compare_exchange_strong(expected, kFilling, std::memory_order_acquire)) {
        continue;
      }
      fill(slots_[i].record);
      slots_[i].state.store(kPublished, std::memory_order_release);
      return int(i);
    }
    return -1;
  }

  // Frees the slot `add` returned (-1: nothing).
  void remove(int slot) {
    if (slot >= 0 && size_t(slot) < N) slots_[slot].state.store(kFree, std::memory_order_release);
  }

  // Calls `visit(record)` on each published record until it returns true; whether one did.
  // Async-signal-safe when `visit` is.
  template <typename Visit>
  bool find(Visit&& visit) const {
    for (const Slot& slot : slots_) {
      if (slot.state.load(std::memory_order_acquire) == kPublished && visit(slot.record)) {
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr int kFree = 0;
  static constexpr int kFilling = 1;
  static constexpr int kPublished = 2;
  struct Slot {
    std::atomic<int> state{kFree};
    Record record{};
  };
  Slot slots_[N];
};

}  // namespace mlpress
