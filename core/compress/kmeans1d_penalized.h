#pragma once
// Exact 1-D k-means with a price per cluster instead of a fixed count: over all segmentations of
// the sorted values into contiguous clusters, minimise (sum of cluster costs) + lambda x
// (number of clusters). This is the Lagrangian relaxation of k-means (kmeans1d.h searches lambda
// so that the optimum has k clusters).
//
// E[j] = min over i < j of E[i] + cost(i, j) + lambda, the "least weight subsequence" problem.
// Because the cost is concave Monge (kmeans1d_cost.h), a later start i2 > i1 that is at least as
// good as i1 for some end j stays at least as good for every later end, so the candidates that
// can still win form a queue ordered by start, each owning a run of ends; a new candidate finds
// where it takes over by a galloping search. Time O(u log L) for u values and clusters of about
// L values; memory O(u): the predecessors, and the queue of live candidates (about L).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/compress/kmeans1d_cost.h"

namespace mlpress::compress {

struct PenalizedSegmentation {
  size_t count = 0;  // clusters
  double cost = 0;   // sum of cluster costs, without the penalty
};

class PenalizedSegmenter {
 public:
  explicit PenalizedSegmenter(const SegmentCost& cost);

  // Solves for one lambda >= 0; the segmentation is kept until the next call.
  PenalizedSegmentation solve(double lambda);

  // Cluster starts of the last solve, ascending, starting at 0.
  std::vector<size_t> starts() const;

 private:
  // A start that can still begin the last cluster of some later optimum.
  struct Candidate {
    uint32_t start;
    uint32_t owns;  // the first end it wins
    double best;    // E[start]
  };

  const SegmentCost& cost_;
  size_t n_;
  std::vector<uint32_t> pred_;  // start of the last cluster of the optimum for the first j
  std::vector<Candidate> queue_;
};

}  // namespace mlpress::compress
