#include "core/compress/parallel_chunks.h"

#include <algorithm>
#include <exception>
#include <vector>
#ifndef __EMSCRIPTEN__
#include <thread>
#endif

namespace mlpress::compress {

unsigned default_chunk_threads() {
#ifdef __EMSCRIPTEN__
  return 1;
#else
  return std::max(1u, std::thread::hardware_concurrency());
#endif
}

void run_chunks(size_t count, unsigned threads, const std::function<void(size_t)>& chunk) {
  if (threads == 0) threads = default_chunk_threads();
#ifdef __EMSCRIPTEN__
  threads = 1;
#endif
  threads = unsigned(std::min<size_t>(threads, count));
  if (threads <= 1) {
    for (size_t i = 0; i < count; ++i) chunk(i);
    return;
  }
#ifndef __EMSCRIPTEN__
  std::vector<std::exception_ptr> failures(threads);
  auto run = [&](unsigned t) {
    const size_t begin = count * t / threads;
    const size_t end = count * (t + 1) / threads;
    try {
      for (size_t i = begin; i < end; ++i) chunk(i);
    } catch (...) {
      failures[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (std::thread& thread : pool) thread.join();
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
#endif
}

}  // namespace mlpress::compress
