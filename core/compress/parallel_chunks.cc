#include "core/compress/parallel_chunks.h"

#include <algorithm>
#include <exception>
#include <vector>
#ifndef __EMSCRIPTEN__
#include <condition_variable>
#include <mutex>
#include <thread>
#endif

namespace mlpress::compress {

#ifndef __EMSCRIPTEN__
namespace {

// Threads that stay up between passes: a compress starts two passes per weight, and starting
// and ending a thread for each cost about as much as a small weight's work. One caller at a
// time uses the pool; a caller that finds it busy (the sensitivity analysis runs passes on
// several threads at once) starts its own threads as before.
class WorkerPool {
 public:
  // Runs run(1) .. run(threads - 1) on the pool and run(0) here; false (nothing run) when the
  // pool is busy or too small.
  bool try_run(unsigned threads, const std::function<void(unsigned)>& run) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || threads - 1 > workers_) return false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &run;
      job_threads_ = threads;
      remaining_ = workers_;
      ++generation_;
    }
    start_.notify_all();
    run(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return remaining_ == 0; });
    job_ = nullptr;
    return true;
  }

  // Never destroyed: its threads wait for work until the process ends.
  static WorkerPool& instance() {
    static WorkerPool* pool = new WorkerPool(default_chunk_threads() - 1);
    return *pool;
  }

 private:
  explicit WorkerPool(unsigned workers) : workers_(workers) {
    for (unsigned w = 1; w <= workers; ++w) std::thread([this, w] { serve(w); }).detach();
  }

  void serve(unsigned w) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(unsigned)>* job;
      unsigned threads;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        start_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
        threads = job_threads_;
      }
      if (w < threads) (*job)(w);  // run() catches what a chunk throws
      std::lock_guard<std::mutex> lock(mutex_);
      if (--remaining_ == 0) done_.notify_one();
    }
  }

  const unsigned workers_;
  std::mutex busy_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(unsigned)>* job_ = nullptr;
  unsigned job_threads_ = 0;
  unsigned remaining_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace
#endif

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
  const std::function<void(unsigned)> run_share = run;
  if (!WorkerPool::instance().try_run(threads, run_share)) {
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(run, t);
    run(0);
    for (std::thread& thread : pool) thread.join();
  }
  for (const std::exception_ptr& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
#endif
}

}  // namespace mlpress::compress
