#pragma once
// Runs independent tasks on several threads. The wasm build has no threads (the page runs
// several workers instead), so there every task runs on the calling thread.
#include <cstddef>
#include <functional>

namespace mlpress::plan {

// Threads to use when the caller asks for 0: the machine's cores (1 in wasm).
unsigned default_thread_count();

// Calls task(i) for every i in [0, count), on at most `threads` threads (0 = the default).
// The first exception a task throws is rethrown here once every thread has stopped.
void parallel_for(size_t count, unsigned threads, const std::function<void(size_t)>& task);

}  // namespace mlpress::plan
