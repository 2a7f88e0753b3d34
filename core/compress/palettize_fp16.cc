#include "core/compress/palettize_fp16.h"

#include <cmath>

#include "core/compress/fp16_convert.h"
#include "core/compress/fp16_patterns.h"
#include "core/compress/kmeans1d.h"
#include "core/compress/palettize_kernels.h"
#include "core/compress/palettize_lut.h"

namespace mlpress::compress {
namespace {

// The group's patterns: every element, or only the masked ones when `fit` is set.
void count_group(std::span<const uint16_t> bits, const PaletteLayout& layout, size_t g,
                 const uint8_t* fit, Fp16PatternCounter& counter, Fp16Patterns& out) {
  counter.begin(layout.group_elements());
  layout.for_each_run(g, [&](size_t first, size_t length) {
    if (fit) {
      counter.add_masked(bits.data() + first, fit + first, length);
    } else {
      counter.add(bits.data() + first, length);
    }
  });
  counter.finish(out);
}

// The group's pattern -> index table and the sums of the decoded group against its source
// (each distinct value once, times its count), in one pass along the index runs (entry j is the
// reconstruction of every pattern in run j).
ErrorSums index_table_and_sums(const Fp16Patterns& all, const std::vector<float>& thresholds,
                               const double* entry, uint8_t* table) {
  const size_t m = thresholds.size();
  size_t ends[256];
  kernels::fp16_index_runs(all.patterns.data(), all.patterns.size(), thresholds.data(), m, ends);
  ErrorSums s;
  size_t i = 0;
  for (size_t j = 0; j <= m; ++j) {
    const size_t end = j < m ? ends[j] : all.patterns.size();
    const double r = entry[j];
    for (; i < end; ++i) {
      table[all.patterns[i]] = uint8_t(j);
      const double c = all.counts[i];
      const double w = all.values[i];
      const double e = w - r;
      s.signal += c * (w * w);
      s.noise += c * (e * e);
      s.dot += c * (w * r);
      s.recon_energy += c * (r * r);
      const double a = std::fabs(e);
      s.max_abs = a > s.max_abs ? a : s.max_abs;
    }
  }
  table[0x8000u] = table[0];  // -0 is +0 (when +0 is not listed, neither is read)
  return s;
}

}  // namespace

bool palettize_fp16_kmeans(std::span<const uint16_t> bits, const PaletteLayout& layout,
                           size_t entries, const std::vector<uint8_t>* fit_mask,
                           std::vector<double>& lut, std::vector<uint8_t>& indices,
                           ErrorSums& sums) {
  // One counter and one pattern -> index table per thread for every weight: its 256 KiB
  // histogram (kept zeroed between uses) and the 64 KiB table would otherwise be allocated and
  // zeroed again for each small weight. The table's old entries are never read: every pattern
  // looked up is one of the group's, whose entries index_table_and_sums writes first.
  // The pattern lists too keep their room from weight to weight.
  thread_local Fp16PatternCounter counter;
  thread_local std::vector<uint8_t> table(65536, 0);
  thread_local Fp16Patterns all, fitted;
  // The groups of one weight share its distribution: each search starts from the last one's
  // price (kmeans1d.h), which skips the coarse pricing once it lands k. A weight of one group
  // has no later search to hand a price to.
  KMeans1dPriceHint price_hint;
  for (size_t g = 0; g < layout.groups; ++g) {
    count_group(bits, layout, g, nullptr, counter, all);
    if (all.any_non_finite) return false;
    const Fp16Patterns* fit = &all;
    if (fit_mask) {
      count_group(bits, layout, g, fit_mask->data(), counter, fitted);
      if (fitted.total > 0) fit = &fitted;
    }
    const KMeans1dResult km = kmeans_1d_optimal(fit->values, fit->counts, entries,
                                                layout.groups > 1 ? &price_hint : nullptr);
    double* entry = lut.data() + g * entries;
    for (size_t c = 0; c < km.centroids.size(); ++c) {
      entry[c] = double(fp16_to_float(fp16_from_double(km.centroids[c])));
    }
    const std::vector<float> thresholds = midpoint_thresholds(entry, km.centroids.size());
    add_error_sums(sums, index_table_and_sums(all, thresholds, entry, table.data()));
    layout.for_each_run(g, [&](size_t first, size_t length) {
      kernels::lookup_fp16_indices(bits.data() + first, length, table.data(),
                                   indices.data() + first);
    });
  }
  return true;
}

}  // namespace mlpress::compress
