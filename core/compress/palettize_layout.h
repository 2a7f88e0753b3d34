#pragma once
// Where the elements of each channel group of a palettized weight sit (COMPRESSION.md §4.3),
// shared by the general pass (palettize.cc) and the fp16 pattern pass (palettize_fp16.cc).
#include <cstddef>

namespace mlpress::compress {

// Weight geometry around the channel axis: element (o, c, i) sits at (o * channels + c) * inner
// + i, vector (o, v, i) of `dim` channels at (o * (channels / dim) + v) * inner + i.
struct PaletteLayout {
  size_t outer = 1;
  size_t channels = 1;
  size_t inner = 1;
  size_t group = 1;  // channels per group
  size_t groups = 1;
  size_t dim = 1;

  size_t group_elements() const { return outer * group * inner; }

  // fn(element index, scale index) for every element of group g.
  template <typename Fn>
  void for_each_element(size_t g, Fn fn) const {
    for (size_t o = 0; o < outer; ++o) {
      for (size_t c = g * group; c < (g + 1) * group; ++c) {
        const size_t base = (o * channels + c) * inner;
        for (size_t i = 0; i < inner; ++i) fn(base + i, o * inner + i);
      }
    }
  }

  // fn(first element index, length) for the contiguous runs that make up group g, in element
  // order: one run per outer position, or a single run when the group spans every channel.
  template <typename Fn>
  void for_each_run(size_t g, Fn fn) const {
    const size_t run = group * inner;
    if (group == channels) {
      fn(size_t{0}, outer * run);
      return;
    }
    for (size_t o = 0; o < outer; ++o) fn((o * channels + g * group) * inner, run);
  }

  // fn(vector index, first element index, scale index) for every vector of group g; the
  // vector's elements are `inner` apart.
  template <typename Fn>
  void for_each_vector(size_t g, Fn fn) const {
    const size_t vectors = channels / dim;
    for (size_t o = 0; o < outer; ++o) {
      for (size_t v = g * group / dim; v < (g + 1) * group / dim; ++v) {
        for (size_t i = 0; i < inner; ++i) {
          fn((o * vectors + v) * inner + i, (o * channels + v * dim) * inner + i, o * inner + i);
        }
      }
    }
  }
};

}  // namespace mlpress::compress
