#pragma once
// Runs the chunks of one kernel pass on several threads. Chunks write disjoint outputs, so the
// result is the same on any number of threads. The wasm build has no threads (pages without
// cross-origin isolation cannot share memory), so there every chunk runs on the calling thread.
#include <cstddef>
#include <functional>

namespace mlpress::compress {

// Threads for `threads` = 0: one per core (1 in wasm).
unsigned default_chunk_threads();

// Calls chunk(i) for every i in [0, count) on at most `threads` threads (0 = the default), each
// thread taking a contiguous run of chunks. The first exception a chunk throws is rethrown here
// once every thread has stopped.
void run_chunks(size_t count, unsigned threads, const std::function<void(size_t)>& chunk);

}  // namespace mlpress::compress
