#include "core/plan/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <vector>
#ifndef __EMSCRIPTEN__
#include <thread>
#endif

namespace mlpress::plan {

unsigned default_thread_count() {
#ifdef __EMSCRIPTEN__
  return 1;
#else
  return std::max(1u, std::thread::hardware_concurrency());
#endif
}

void parallel_for(size_t count, unsigned threads, const std::function<void(size_t)>& task) {
  if (threads == 0) threads = default_thread_count();
#ifdef __EMSCRIPTEN__
  threads = 1;
#endif
  threads = static_cast<unsigned>(std::min<size_t>(threads, count));
  if (threads <= 1) {
    for (size_t i = 0; i < count; ++i) task(i);
    return;
  }
#ifndef __EMSCRIPTEN__
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = count;  // the others stop at their next task
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
#endif
}

}  // namespace mlpress::plan
