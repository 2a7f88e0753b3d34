#include "core/compress/kmeans1d_penalized.h"

#include <algorithm>
#include <stdexcept>

namespace mlpress::compress {

PenalizedSegmenter::PenalizedSegmenter(const SegmentCost& cost)
    : cost_(cost), n_(cost.size()), best_(n_ + 1), pred_(n_ + 1), cand_(n_ + 1), owns_(n_ + 1) {
  if (n_ >= UINT32_MAX) throw std::length_error("kmeans 1-D: too many distinct values");
}

PenalizedSegmentation PenalizedSegmenter::solve(double lambda) {
  const size_t n = n_;
  double* best = best_.data();
  const auto value = [&](size_t i, size_t j) { return best[i] + cost_(i, j) + lambda; };
  // c (newer) at least as good as b at end j. Ties go to the newer start: it never hurts the
  // optimum and keeps the queue short.
  const auto wins = [&](size_t c, size_t b, size_t j) { return value(c, j) <= value(b, j); };

  best[0] = 0;
  size_t head = 0;
  size_t tail = 1;
  cand_[0] = 0;
  owns_[0] = 1;
  size_t hint = 1;  // where the last queued start took over, plus one
  for (size_t j = 1; j <= n; ++j) {
    while (tail - head > 1 && owns_[head + 1] <= j) ++head;
    const size_t i = cand_[head];
    best[j] = value(i, j);
    pred_[j] = uint32_t(i);
    if (j == n) break;

    // Queue j as a start for ends > j: drop the candidates it beats over their whole run, then
    // find where it overtakes the last one left. `limit` bounds that search: j already wins at
    // the first end of the run it just took over.
    const size_t c = j;
    size_t takeover = n + 1;
    size_t limit = n;
    bool dropped = false;
    while (tail > head) {
      const size_t b = cand_[tail - 1];
      const size_t first = std::max<size_t>(owns_[tail - 1], j + 1);
      if (wins(c, b, first)) {
        --tail;
        takeover = first;
        limit = first;
        dropped = true;
        continue;
      }
      // The first end in (first, limit] where c wins, if any. It is usually close to where the
      // previous start took over (both trail their predecessors by about one cluster), so gallop
      // out from there in the direction the first probe says, then bisect.
      size_t lo = first;  // c loses here
      size_t hi = n + 1;  // c wins here (n + 1: nowhere found yet)
      if (lo < limit) {
        const size_t top = limit;  // probes stay in (lo, top]
        size_t at = std::clamp(hint, lo + 1, top);
        size_t step = 1;
        if (wins(c, b, at)) {
          hi = at;
          while (hi - lo > step) {
            const size_t probe = hi - step;
            if (!wins(c, b, probe)) {
              lo = probe;
              break;
            }
            hi = probe;
            step *= 2;
          }
        } else {
          lo = at;
          while (lo < top) {
            const size_t probe = std::min(lo + step, top);
            if (wins(c, b, probe)) {
              hi = probe;
              break;
            }
            lo = probe;
            step *= 2;
          }
        }
      }
      if (hi <= n) {
        while (hi - lo > 1) {
          const size_t mid = lo + (hi - lo) / 2;
          if (wins(c, b, mid)) {
            hi = mid;
          } else {
            lo = mid;
          }
        }
      }
      // After a drop, c wins at `limit` in exact arithmetic; keep that if rounding says no.
      takeover = hi <= n ? hi : dropped ? limit : n + 1;
      break;
    }
    if (takeover <= n) {
      hint = takeover + 1;
      cand_[tail] = uint32_t(c);
      owns_[tail] = uint32_t(takeover);
      ++tail;
    }
  }

  PenalizedSegmentation out;
  for (size_t j = n; j > 0; j = pred_[j]) {
    out.cost += cost_(pred_[j], j);
    ++out.count;
  }
  return out;
}

std::vector<size_t> PenalizedSegmenter::starts() const {
  std::vector<size_t> out;
  for (size_t j = n_; j > 0; j = pred_[j]) out.push_back(pred_[j]);
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace mlpress::compress
