#include "core/compress/kmeans1d_penalized.h"

#include <algorithm>
#include <stdexcept>

namespace mlpress::compress {

PenalizedSegmenter::PenalizedSegmenter(const SegmentCost& cost)
    : cost_(cost), n_(cost.size()), pred_(n_ + 1), queue_(64) {
  if (n_ >= UINT32_MAX) throw std::length_error("kmeans 1-D: too many distinct values");
}

PenalizedSegmentation PenalizedSegmenter::solve(double lambda) {
  const size_t n = n_;
  const SegmentCost& cost = cost_;
  uint32_t* pred = pred_.data();
  // c (newer, E[c] = best_c) at least as good as b at end j. Ties go to the newer start: it never
  // hurts the optimum and keeps the queue short.
  const auto wins = [&](size_t c, double best_c, const Candidate& b, size_t j) {
    const SegmentCost::Prefix& pc = cost.prefix(c);
    const SegmentCost::Prefix& pb = cost.prefix(b.start);
    const double d = (best_c - pc.q) - (b.best - pb.q);
    const SegmentCost::Prefix& pj = cost.prefix(j);
    const double wc = pj.w - pc.w;
    const double sc = pj.s - pc.s;
    const double wb = pj.w - pb.w;
    const double sb = pj.s - pb.s;
    return d * wc * wb <= sc * sc * wb - sb * sb * wc;
  };

  // The queue is q[head, tail); it slides forward and is moved back to the front of its buffer
  // (or the buffer grown) when it reaches the end, so it takes memory for the live candidates
  // only.
  Candidate* q = queue_.data();
  size_t head = 0;
  size_t tail = 1;
  q[0] = {0, 1, 0.0};
  size_t hint = 1;  // where the last queued start took over, plus one
  for (size_t j = 1; j <= n; ++j) {
    while (tail - head > 1 && q[head + 1].owns <= j) ++head;
    const double best_j = q[head].best + cost(q[head].start, j) + lambda;
    pred[j] = q[head].start;
    if (j == n) break;

    // Queue j as a start for ends > j: drop the candidates it beats over their whole run, then
    // find where it overtakes the last one left. `limit` bounds that search: j already wins at
    // the first end of the run it just took over.
    const size_t c = j;
    size_t takeover = n + 1;
    size_t limit = n;
    bool dropped = false;
    while (tail > head) {
      const Candidate& b = q[tail - 1];
      const size_t first = std::max<size_t>(b.owns, j + 1);
      if (wins(c, best_j, b, first)) {
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
        bool down = true;  // c wins at hi: gallop down from there
        if (dropped && at == top) {
          // After a drop the answer is `top` whether c wins there or not, unless c also wins
          // at top - 1 (then the search goes on below). So top - 1 is probed first, and top only
          // if c wins at top - 1: the same probes' answers decide as in the search below.
          if (lo + 1 == top || !wins(c, best_j, b, top - 1) || !wins(c, best_j, b, top)) {
            takeover = top;
            break;
          }
          hi = top - 1;
          step = 2;
        } else if (wins(c, best_j, b, at)) {
          hi = at;
        } else {
          lo = at;
          down = false;
        }
        if (down) {
          while (hi - lo > step) {
            const size_t probe = hi - step;
            if (!wins(c, best_j, b, probe)) {
              lo = probe;
              break;
            }
            hi = probe;
            step *= 2;
          }
        } else {
          while (lo < top) {
            const size_t probe = std::min(lo + step, top);
            if (wins(c, best_j, b, probe)) {
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
          if (wins(c, best_j, b, mid)) {
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
      if (tail == queue_.size()) {
        if (head > 0) {
          std::copy(q + head, q + tail, q);
          tail -= head;
          head = 0;
        } else {
          queue_.resize(2 * queue_.size());
          q = queue_.data();
        }
      }
      q[tail++] = {uint32_t(c), uint32_t(takeover), best_j};
    }
  }

  PenalizedSegmentation out;
  for (size_t j = n; j > 0; j = pred[j]) {
    out.cost += cost(pred[j], j);
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
