#pragma once
// A byte vector whose resize() leaves new elements uninitialised, for buffers a kernel then
// fills completely (one code per weight element): the zero fill std::vector would do first is a
// pass over as many bytes as the kernel writes.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace mlpress::compress {

template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  // Value-initialisation (what resize(n) asks for) becomes default-initialisation.
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using UninitializedBytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

}  // namespace mlpress::compress
