#pragma once
// The timing loop the benchmarks share: the best of repeated runs, so that a run the machine
// interrupted does not count.
#include <algorithm>
#include <chrono>
#include <functional>

namespace mlpress::bench {

// Best seconds of one call of `fn`, over runs filling `budget` seconds (at least 3 runs).
inline double best_seconds(double budget, const std::function<void()>& fn) {
  using clock = std::chrono::steady_clock;
  double best = 1e30;
  const auto start = clock::now();
  for (int runs = 0;
       runs < 3 || std::chrono::duration<double>(clock::now() - start).count() < budget; ++runs) {
    const auto t0 = clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(clock::now() - t0).count());
  }
  return best;
}

}  // namespace mlpress::bench
