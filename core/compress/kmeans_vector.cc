#include "core/compress/kmeans_vector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/compress/kmeans_vector_lloyd.h"
#include "core/compress/palettize_kernels.h"

namespace mlpress::compress {
// Hartigan stops once a whole pass lowers the cost by less than this fraction.
constexpr double kHartiganGainStop = 1e-4;
// Up to this many point-centre pairs, every restart gets Hartigan's refinement.
constexpr size_t kRefineEveryRestartWork = size_t(1) << 20;
// A sampled group's sample has at least this many points per centre.
constexpr size_t kSamplePointsPerCentre = 64;

namespace {

// splitmix64: a fixed, portable stream (std:: distributions differ between standard libraries).
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double uniform01(uint64_t& state) { return double(next_random(state) >> 11) * 0x1p-53; }

double squared_distance(const float* a, const float* b, size_t dim) {
  double s = 0;
  for (size_t t = 0; t < dim; ++t) {
    const double d = double(a[t]) - double(b[t]);
    s += d * d;
  }
  return s;
}

// Draws indices i with probability mass[i] / total (masses >= 0): the running sums of the masses
// are formed once, in order, and each draw is a binary search for the first running sum above a
// uniform target in [0, total), the index a linear scan of the running sum would stop at; only
// indices of positive mass come out.
class MassWheel {
 public:
  // running[i] = mass[0] + ... + mass[i], summed in order.
  std::vector<double>& start(size_t n) {
    running_.resize(n);
    return running_;
  }
  void finish() {
    last_positive_ = 0;
    for (size_t i = running_.size(); i-- > 1;) {
      if (running_[i] > running_[i - 1]) {
        last_positive_ = i;
        break;
      }
    }
  }
  double total() const { return running_.empty() ? 0.0 : running_.back(); }
  size_t draw(uint64_t& rng) const {
    const double target = uniform01(rng) * total();
    const auto it = std::upper_bound(running_.begin(), running_.end(), target);
    // The running sum can fall short of total only by rounding; the last positive mass then.
    return it == running_.end() ? last_positive_ : size_t(it - running_.begin());
  }

 private:
  std::vector<double> running_;
  size_t last_positive_ = 0;
};

struct Points {
  std::span<const float> data;
  std::span<const double> weights;
  size_t dim;
  size_t n;
  double weight(size_t i) const { return weights.empty() ? 1.0 : weights[i]; }
  const float* at(size_t i) const { return data.data() + i * dim; }
};

// out[p] = the squared distance from point p to point c, summed in float over the coordinates in
// order as the nearest-centre kernel sums it; one coordinate at a time over the lanes, so the
// loops vectorise.
void distances_to_point(const LanedPoints& pts, size_t c, std::vector<float>& out) {
  const float* x = pts.lanes.data();
  const float c0 = x[c];
  for (size_t p = 0; p < pts.n; ++p) {
    const float d = c0 - x[p];
    out[p] = d * d;
  }
  for (size_t t = 1; t < pts.dim; ++t) {
    x += pts.n;
    const float ct = x[c];
    for (size_t p = 0; p < pts.n; ++p) {
      const float d = ct - x[p];
      out[p] = out[p] + d * d;
    }
  }
}

// sum of w_p x v_p in double, in four interleaved partial sums (a fixed order on every platform,
// and no single chain of dependent additions).
double weighted_sum(const LanedPoints& pts, const std::vector<float>& v) {
  double part[4] = {0, 0, 0, 0};
  size_t p = 0;
  for (; p + 4 <= pts.n; p += 4) {
    for (size_t u = 0; u < 4; ++u) part[u] += pts.weight(p + u) * double(v[p + u]);
  }
  for (; p < pts.n; ++p) part[0] += pts.weight(p) * double(v[p]);
  return (part[0] + part[1]) + (part[2] + part[3]);
}

// Greedy k-means++: each new centre is the best (lowest resulting potential) of a few candidates
// drawn proportionally to weight x squared distance to the nearest centre so far. Distances in
// float lanes (the seeding only has to be good; Lloyd refines it in double sums).
std::vector<float> seed_centres(const LanedPoints& pts, size_t k, uint64_t& rng) {
  auto at = [&](size_t i) { return pts.points.data() + i * pts.dim; };
  std::vector<float> centres;
  MassWheel wheel;
  std::vector<double>& running = wheel.start(pts.n);
  double total = 0;
  for (size_t i = 0; i < pts.n; ++i) running[i] = total += pts.weight(i);
  wheel.finish();
  const size_t first = wheel.draw(rng);
  centres.insert(centres.end(), at(first), at(first) + pts.dim);
  std::vector<float> nearest(pts.n);
  distances_to_point(pts, first, nearest);
  const size_t trials = 2 + size_t(std::log(double(k)));
  std::vector<float> candidate(pts.n), best_candidate(pts.n);
  while (centres.size() / pts.dim < k) {
    total = 0;
    for (size_t i = 0; i < pts.n; ++i) running[i] = total += pts.weight(i) * double(nearest[i]);
    if (!(total > 0)) break;  // every point sits on a centre
    wheel.finish();
    double best_potential = std::numeric_limits<double>::infinity();
    size_t best = 0;
    for (size_t t = 0; t < trials; ++t) {
      const size_t c = wheel.draw(rng);
      distances_to_point(pts, c, candidate);
      for (size_t i = 0; i < pts.n; ++i) {
        candidate[i] = candidate[i] < nearest[i] ? candidate[i] : nearest[i];
      }
      const double potential = weighted_sum(pts, candidate);
      if (potential < best_potential) {
        best_potential = potential;
        best = c;
        best_candidate.swap(candidate);
      }
    }
    centres.insert(centres.end(), at(best), at(best) + pts.dim);
    nearest.swap(best_candidate);
  }
  return centres;
}

// The points' mean per-coordinate (weight-free) variance: scikit-learn's scale for its tolerance.
double mean_variance(const Points& pts) {
  double total = 0;
  for (size_t t = 0; t < pts.dim; ++t) {
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < pts.n; ++i) sum += pts.at(i)[t];
    const double mean = sum / double(pts.n);
    for (size_t i = 0; i < pts.n; ++i) {
      const double d = pts.at(i)[t] - mean;
      sum_sq += d * d;
    }
    total += sum_sq / double(pts.n) / double(pts.dim);
  }
  return total;
}

// Lloyd iterations until no label changes or, as scikit-learn stops, until the centres' total
// squared shift in one step is at most `shift_tolerance`; a centre that loses all its points stays
// put. The labels returned are always those of the returned centres.
VectorKMeansResult lloyd(const LanedPoints& laned, std::vector<float> centres,
                         size_t max_iterations, double shift_tolerance, KernelPath path) {
  LloydStop stop;
  stop.max_iterations = max_iterations;
  stop.shift_tolerance = shift_tolerance;
  return lloyd_lanes(laned, std::move(centres), stop, path);
}

// Hartigan's refinement after Lloyd: move single points whenever that lowers the total cost,
// updating the two affected means at once. Moving point x (weight w) from cluster a (mass M_a)
// to b changes the cost by w M_b / (M_b + w) |x - c_b|^2 - w M_a / (M_a - w) |x - c_a|^2, which
// Lloyd's nearest-centre rule ignores; with few points per cluster (large LUTs, small groups)
// this finds clearly better optima.
void hartigan(const Points& pts, VectorKMeansResult& r, size_t max_passes,
              double relative_gain_stop) {
  const size_t k = r.count();
  const size_t dim = pts.dim;
  std::vector<double> centre(k * dim, 0.0), mass(k, 0.0);
  for (size_t i = 0; i < pts.n; ++i) {
    const double w = pts.weight(i);
    mass[r.labels[i]] += w;
    for (size_t t = 0; t < dim; ++t) centre[r.labels[i] * dim + t] += w * pts.at(i)[t];
  }
  for (size_t j = 0; j < k; ++j) {
    for (size_t t = 0; t < dim; ++t) {
      centre[j * dim + t] = mass[j] > 0 ? centre[j * dim + t] / mass[j] : r.centroids[j * dim + t];
    }
  }
  auto distance = [&](size_t i, size_t j) {
    double s = 0;
    for (size_t t = 0; t < dim; ++t) {
      const double d = double(pts.at(i)[t]) - centre[j * dim + t];
      s += d * d;
    }
    return s;
  };
  // A cheap skip (triangle inequality): with s_a the distance from centre a to its nearest other
  // centre, every other centre b is at least s_a - |x - c_a| from x, and M_b / (M_b + w) is at
  // least that factor for the lightest cluster; when even that lower bound on the addition cost
  // exceeds the removal cost, no move of x can pay, and the k distances are not computed.
  std::vector<double> between(k * k, 0.0), nearest_other(k);
  auto refresh_row = [&](size_t a) {
    for (size_t b = 0; b < k; ++b) {
      double s = 0;
      for (size_t t = 0; t < dim; ++t) {
        const double d = centre[a * dim + t] - centre[b * dim + t];
        s += d * d;
      }
      between[a * k + b] = between[b * k + a] = std::sqrt(s);
    }
  };
  auto refresh_bounds = [&](double& lightest) {
    lightest = std::numeric_limits<double>::infinity();
    for (size_t a = 0; a < k; ++a) {
      double m = std::numeric_limits<double>::infinity();
      for (size_t b = 0; b < k; ++b) {
        if (b != a) m = std::min(m, between[a * k + b]);
      }
      nearest_other[a] = m;
      lightest = std::min(lightest, mass[a]);
    }
  };
  for (size_t a = 0; a < k; ++a) refresh_row(a);
  double lightest = 0;
  refresh_bounds(lightest);
  double cost = 0;
  for (size_t i = 0; i < pts.n; ++i) cost += pts.weight(i) * distance(i, r.labels[i]);
  for (size_t pass = 0; pass < max_passes; ++pass) {
    bool moved = false;
    double gain = 0;
    for (size_t i = 0; i < pts.n; ++i) {
      const size_t a = r.labels[i];
      const double w = pts.weight(i);
      if (!(mass[a] > w)) continue;  // the point's cluster would become empty
      const double own = distance(i, a);
      const double removal = w * mass[a] / (mass[a] - w) * own;
      const double gap = nearest_other[a] - std::sqrt(own);
      if (gap > 0 && w * lightest / (lightest + w) * gap * gap * (1 - 1e-9) > removal) continue;
      double best = removal * (1 - 1e-12);  // a margin so rounding cannot make moves cycle
      size_t target = a;
      for (size_t b = 0; b < k; ++b) {
        if (b == a) continue;
        const double addition = w * mass[b] / (mass[b] + w) * distance(i, b);
        if (addition < best) {
          best = addition;
          target = b;
        }
      }
      if (target == a) continue;
      gain += removal - best;
      for (size_t t = 0; t < dim; ++t) {
        const double x = pts.at(i)[t];
        centre[a * dim + t] += (centre[a * dim + t] - x) * w / (mass[a] - w);
        centre[target * dim + t] += (x - centre[target * dim + t]) * w / (mass[target] + w);
      }
      mass[a] -= w;
      mass[target] += w;
      r.labels[i] = uint8_t(target);
      moved = true;
      refresh_row(a);
      refresh_row(target);
      refresh_bounds(lightest);
    }
    cost -= gain;
    // Late passes move points one by one along what Lloyd would reach in a step; stop once a
    // whole pass gains a negligible fraction of the cost.
    if (!moved || !(gain > relative_gain_stop * cost)) break;
  }
  for (size_t j = 0; j < k * dim; ++j) r.centroids[j] = float(centre[j]);
}

// `restarts` runs of k-means++ seeding and Lloyd on `pts`; the `refined` lowest-cost ones are
// then refined by Hartigan's moves (and Lloyd once more, so the labels and cost are those of the
// float centroids returned). Returns the `keep` best clusterings, lowest cost first.
std::vector<VectorKMeansResult> best_restarts(const Points& pts, size_t k,
                                              const VectorKMeansOptions& options, size_t restarts,
                                              size_t refined, size_t keep, KernelPath path) {
  const double shift_tolerance = options.tolerance * mean_variance(pts);
  const LanedPoints laned(pts.data, pts.weights, pts.dim);
  std::vector<VectorKMeansResult> runs;
  for (size_t r = 0; r < std::max<size_t>(restarts, 1); ++r) {
    uint64_t rng = options.seed + 0x632BE59BD9B4E019ULL * r;
    runs.push_back(
        lloyd(laned, seed_centres(laned, k, rng), options.max_iterations, shift_tolerance, path));
    if (runs.back().cost == 0) break;  // cannot improve
  }
  auto by_cost = [](const VectorKMeansResult& a, const VectorKMeansResult& b) {
    return a.cost < b.cost;
  };
  std::stable_sort(runs.begin(), runs.end(), by_cost);
  for (size_t r = 0; r < std::min(refined, runs.size()); ++r) {
    hartigan(pts, runs[r], options.max_iterations, kHartiganGainStop);
    runs[r] =
        lloyd(laned, std::move(runs[r].centroids), options.max_iterations, shift_tolerance, path);
  }
  std::stable_sort(runs.begin(), runs.end(), by_cost);
  runs.resize(std::min(keep, runs.size()));
  return runs;
}

// Every restart on every point (small groups). Hartigan's refinement pays most on small
// problems (few points per centre) and costs passes of n x k distances; on large ones only the
// restart with the lowest Lloyd cost is refined.
VectorKMeansResult kmeans_every_point(const Points& pts, size_t k,
                                      const VectorKMeansOptions& options, KernelPath path) {
  if (pts.n == 0) {
    VectorKMeansResult empty;
    empty.dim = pts.dim;
    return empty;
  }
  const size_t refined = pts.n * k <= kRefineEveryRestartWork ? options.restarts : 1;
  return std::move(best_restarts(pts, k, options, options.restarts, refined, 1, path)[0]);
}

// Random swap (Fränti and Kivijärvi, 2000; Fränti, 2018): move one centre, drawn uniformly, to a
// point drawn with probability proportional to weight x squared distance to its centre (where
// the clustering is worst), rerun Lloyd, keep the result if its cost is lower. Lloyd, Hartigan
// and restarts only reach a local optimum near their seeding; the swaps carry a centre from an
// over-served region to an under-served one, which is how the clusterings of heavy-tailed or
// multi-modal weights are improved beyond any one k-means++ run. As in Fränti's algorithm, each
// trial runs only `swap_iterations` Lloyd steps (a good swap already shows its gain there; most
// trials are rejected, and running them to convergence cost 2.5x the time for no better result on
// the large_vectors weights), and the best clustering is run to convergence at the end.
void random_swaps(const Points& pts, VectorKMeansResult& best, size_t trials,
                  const VectorKMeansOptions& options, KernelPath path) {
  const size_t k = best.count();
  if (k < 2) return;
  const double shift_tolerance = options.tolerance * mean_variance(pts);
  const LanedPoints laned(pts.data, pts.weights, pts.dim);
  uint64_t rng = options.seed ^ 0x53574150ULL;
  const size_t swap_iterations = std::min(options.swap_iterations, options.max_iterations);
  MassWheel wheel;
  bool stale = true;  // `wheel`, `best_sums`, `best_mass` and `own` are of an earlier `best`
  std::vector<double> best_sums, best_mass, sums, cluster_mass;
  std::vector<uint8_t> labels;
  std::vector<float> own;
  MoveScratch scratch;
  LloydStop stop;
  stop.max_iterations = swap_iterations;
  stop.shift_tolerance = shift_tolerance;
  // Trials are compared by costs from the cluster sums (no pass over the points); a trial must
  // win by more than their rounding.
  stop.square_sum = weighted_square_sum(laned);
  constexpr double kWinMargin = 1e-10;
  for (size_t t = 0; t < trials && best.cost > 0; ++t) {
    if (stale) {
      std::vector<double>& running = wheel.start(pts.n);
      double total = 0;
      for (size_t i = 0; i < pts.n; ++i) {
        running[i] = total +=
            pts.weight(i) *
            squared_distance(pts.at(i), &best.centroids[best.labels[i] * pts.dim], pts.dim);
      }
      wheel.finish();
      cluster_sums(laned, best.labels, k, best_sums, best_mass);
      own_distances(laned, best.centroids, best.labels, own);
      stale = false;
    }
    if (!(wheel.total() > 0)) return;
    const size_t moved = size_t(next_random(rng) % k);
    const size_t to = wheel.draw(rng);
    std::vector<float> centres = best.centroids;
    std::copy(pts.at(to), pts.at(to) + pts.dim, centres.begin() + moved * pts.dim);
    labels_after_moving_one(laned, centres, moved, {best.labels, best_sums, best_mass}, own,
                            scratch, labels, sums, cluster_mass, path);
    const LloydStart start{labels, sums, cluster_mass};
    VectorKMeansResult run = lloyd_lanes(laned, std::move(centres), stop, path, &start);
    if (run.cost < best.cost * (1 - kWinMargin)) {
      best = std::move(run);
      stale = true;
    }
  }
  if (swap_iterations < options.max_iterations) {
    // To convergence (no label changes), which Hartigan's moves would otherwise reach by slower
    // passes.
    best = lloyd(laned, std::move(best.centroids), options.max_iterations, 0.0, path);
  }
}

// A lightweight coreset (Bachem, Lucic and Krause, KDD 2018) of about m points: point i is drawn
// with probability q_i = w_i / 2W + w_i d_i^2 / 2D (d_i its distance to the weighted mean, W and
// D the sums of w_i and w_i d_i^2) and carries weight w_i / (m q_i), so every clustering's cost on
// the coreset estimates its cost on all points without bias, and far-out points, which a uniform
// sample would miss while they weigh heavily in the squared error, are kept. Systematic
// sampling (one random offset, then steps of 1/m along the running sum of q) in storage order.
void draw_coreset(const Points& pts, size_t m, uint64_t seed, std::vector<float>& data,
                  std::vector<double>& weights) {
  const size_t dim = pts.dim;
  std::vector<double> mean(dim, 0.0);
  double total_weight = 0;
  for (size_t i = 0; i < pts.n; ++i) {
    const double w = pts.weight(i);
    total_weight += w;
    for (size_t t = 0; t < dim; ++t) mean[t] += w * pts.at(i)[t];
  }
  for (double& c : mean) c /= total_weight;
  auto spread = [&](size_t i) {
    double s = 0;
    for (size_t t = 0; t < dim; ++t) {
      const double d = pts.at(i)[t] - mean[t];
      s += d * d;
    }
    return s;
  };
  std::vector<double> spreads(pts.n);
  double total_spread = 0;
  for (size_t i = 0; i < pts.n; ++i) {
    spreads[i] = spread(i);
    total_spread += pts.weight(i) * spreads[i];
  }
  const double unit_uniform = 0.5 / total_weight;  // 0.5 w / total_weight at w = 1, exactly
  auto probability = [&](size_t i) {
    const double w = pts.weight(i);
    const double uniform = pts.weights.empty() ? unit_uniform : 0.5 * w / total_weight;
    return total_spread > 0 ? uniform + 0.5 * w * spreads[i] / total_spread : 2 * uniform;
  };
  data.clear();
  weights.clear();
  uint64_t rng = seed ^ 0x5A4D504C45ULL;
  const double step = 1.0 / double(m);
  double target = uniform01(rng) * step;
  double running = 0;
  for (size_t i = 0; i < pts.n && target < 1.0; ++i) {
    const double q = probability(i);
    running += q;
    for (; target < running && target < 1.0; target += step) {
      data.insert(data.end(), pts.at(i), pts.at(i) + dim);
      weights.push_back(pts.weight(i) / (double(m) * q));
    }
  }
}

}  // namespace

VectorKMeansResult kmeans_vectors(std::span<const float> points, std::span<const double> weights,
                                  size_t dim, size_t k, const VectorKMeansOptions& options,
                                  KernelPath path) {
  if (dim == 0 || points.size() % dim != 0 || k == 0 || k > 256) {
    throw std::invalid_argument("kmeans_vectors: bad dim or k");
  }
  const Points pts{points, weights, dim, points.size() / dim};
  if (!weights.empty() && weights.size() != pts.n) {
    throw std::invalid_argument("kmeans_vectors: one weight per point expected");
  }
  const size_t m = std::max(options.sample_points, kSamplePointsPerCentre * k);
  if (options.sample_points == 0 || pts.n <= 2 * m)
    return kmeans_every_point(pts, k, options, path);
  // Large groups: the restarts (seeding, Lloyd, Hartigan) run on a weighted sample, and the best
  // clustering found there is carried to every point by Lloyd's iterations, which from such a
  // start take few steps.
  std::vector<float> sample;
  std::vector<double> sample_weights;
  draw_coreset(pts, m, options.seed, sample, sample_weights);
  const Points sampled{sample, sample_weights, dim, sample_weights.size()};
  std::vector<VectorKMeansResult> starts =
      best_restarts(sampled, k, options, options.sample_restarts, 0, 1, path);
  VectorKMeansResult& start = starts[0];
  // Fewer distinct vectors in the sample than centres: the sample cannot place them all.
  if (start.count() < k) return kmeans_every_point(pts, k, options, path);
  // Few centres make a swap cheap and a bad local optimum likely (one misplaced centre of 16
  // costs percents): `sample_swap_work` / (k dim) swaps, within [sample_swaps, 4 sample_swaps].
  const size_t swaps = std::clamp(options.sample_swap_work / (k * dim), options.sample_swaps,
                                  4 * options.sample_swaps);
  random_swaps(sampled, start, swaps, options, path);
  hartigan(sampled, start, options.max_iterations, kHartiganGainStop);
  VectorKMeansResult best = lloyd_in_lanes(points, weights, dim, std::move(start.centroids),
                                           options.max_iterations, options.polish_gain_stop, path);
  return best;
}

void assign_nearest_vectors(std::span<const float> points, size_t dim,
                            std::span<const float> centroids, std::span<uint8_t> labels,
                            KernelPath path) {
  const LanedPoints laned(points, {}, dim);
  auto* kernel = path == KernelPath::kSimd ? kernels::nearest_centroid_lanes_simd
                                           : kernels::nearest_centroid_lanes_scalar;
  kernel(laned.lanes.data(), laned.n, dim, centroids.data(), centroids.size() / dim, labels.data());
}

}  // namespace mlpress::compress
