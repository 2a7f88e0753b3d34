#pragma once
// Random access to the inflated bytes of a raw deflate stream without an inflated copy.
//
// Reads inflate with bounded buffers. While the stream first goes past a point, restart points
// are recorded: every `span` inflated bytes (max(1 MiB, size / 256)), at a deflate block
// boundary, the compressed position and the last 32 KiB of output, which is all zlib needs to
// resume there. A read continues the live stream when it lies ahead of it by less than a
// span, which is how blobs are read (in file order: the stream is inflated once), else it
// resumes from the nearest restart point at or before it. Memory: a 64 KiB input buffer, a
// 32 KiB output ring, the inflate state and at most 256 windows of 32 KiB (8 MiB), whatever the
// size of the stream.
//
// Checks (as a zip reader must): the declared size and the CRC-32 are checked when the stream
// is first inflated to its end: on opening for streams of up to 1 MiB, else by the read that
// reaches the last byte (it inflates on to the end of the stream). Damage throws from the read
// that meets it.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/io/byte_source.h"

namespace mlpress {

class InflatingSource final : public ByteSource {
 public:
  // `deflated` holds the raw deflate stream (no zlib or gzip header); `size` and `crc32` are the
  // declared inflated size and checksum. `description` names the data in errors, which are
  // thrown for a corrupt stream ("cannot inflate"), a size other than `size`, or a CRC mismatch
  // ("CRC error"), when opening or reading meets them (see above).
  InflatingSource(std::unique_ptr<ByteSource> deflated, uint64_t size, uint32_t crc32,
                  std::string description);
  ~InflatingSource() override;
  InflatingSource(const InflatingSource&) = delete;
  InflatingSource& operator=(const InflatingSource&) = delete;

  uint64_t size() const override { return size_; }
  std::string describe() const override { return description_; }
  void read_at(uint64_t offset, std::span<std::byte> dst) override;

  // For tests: how many restart points were recorded, and how many bytes were inflated since
  // opening.
  size_t restart_points() const { return points_.size(); }
  uint64_t inflated_bytes() const { return inflated_total_; }

 private:
  struct Point {
    uint64_t out = 0;  // inflated offset
    uint64_t in = 0;   // compressed offset of the first byte holding bits of the next block
    int bits = 0;      // bits of the byte at in - 1 that belong to the next block
    std::vector<unsigned char> window;  // the 32 KiB of output before `out` (empty at 0)
  };
  struct Stream;

  void restart(const Point& point);
  // Inflates on until the stream's position reaches `end` (or the stream ends), copying what
  // overlaps [dst_offset, dst_offset + dst.size()) into dst, recording restart points and
  // extending the CRC past `checked_`. Returns false when the stream ended first.
  bool advance(uint64_t end, std::span<std::byte> dst, uint64_t dst_offset);
  // Inflates on to the end of the stream unless it was checked already.
  void check_to_end();
  // At the stream's end: checks its size and CRC the first time.
  void stream_ended();
  [[noreturn]] void fail(const std::string& detail) const;

  std::unique_ptr<ByteSource> deflated_;
  uint64_t size_;
  uint32_t crc32_;
  std::string description_;
  uint64_t span_;
  std::vector<Point> points_;
  std::unique_ptr<Stream> stream_;
  uint64_t inflated_total_ = 0;
  uint64_t checked_ = 0;  // the CRC covers [0, checked_)
  uint32_t crc_ = 0;
  bool checked_whole_ = false;
};

}  // namespace mlpress
