#include "core/package/inflating_source.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "core/io/error.h"

namespace mlpress {

namespace {

constexpr size_t kWindow = size_t{1} << 15;  // deflate's largest back-reference distance
constexpr size_t kInputChunk = size_t{64} << 10;
constexpr uint64_t kMaxPoints = 256;
constexpr uint64_t kMinSpan = uint64_t{1} << 20;
constexpr uint64_t kCheckOnOpen = uint64_t{1} << 20;

}  // namespace

// One live inflate state. Output goes round a 32 KiB ring, so that at any block boundary the
// ring holds the window a restart point needs (zeros before the start of the stream are never
// referred to).
struct InflatingSource::Stream {
  z_stream z{};
  bool initialized = false;
  std::vector<unsigned char> input = std::vector<unsigned char>(kInputChunk);
  std::vector<unsigned char> ring = std::vector<unsigned char>(kWindow);
  size_t ring_next = 0;  // where the next output byte goes in `ring`; the oldest byte is there
  uint64_t in = 0;       // compressed offset of the next byte to load into `input`
  uint64_t out = 0;      // inflated offset of the next byte inflate produces
  bool ended = false;

  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    if (initialized) inflateEnd(&z);
  }
};

InflatingSource::InflatingSource(std::unique_ptr<ByteSource> deflated, uint64_t size,
                                 uint32_t crc32, std::string description)
    : deflated_(std::move(deflated)),
      size_(size),
      crc32_(crc32),
      description_(std::move(description)),
      span_(std::max(kMinSpan, size / kMaxPoints + 1)),
      stream_(std::make_unique<Stream>()) {
  if (inflateInit2(&stream_->z, -MAX_WBITS) != Z_OK) fail("cannot inflate: out of memory");
  stream_->initialized = true;
  points_.emplace_back();  // the start of the stream: no window, nothing primed
  restart(points_.front());
  // A small stream is checked at once, which costs little and reports damage on opening.
  if (size_ <= kCheckOnOpen) check_to_end();
}

void InflatingSource::check_to_end() {
  if (!checked_whole_) advance(std::numeric_limits<uint64_t>::max(), {}, 0);
}

void InflatingSource::stream_ended() {
  if (checked_whole_) return;
  if (stream_->out != size_) {
    fail("entry data ends after " + std::to_string(stream_->out) + " of the declared " +
         std::to_string(size_) + " bytes (truncated or damaged archive)");
  }
  if (crc_ != crc32_) fail("cannot inflate: CRC error (the data does not match its checksum)");
  checked_whole_ = true;
}

InflatingSource::~InflatingSource() = default;

void InflatingSource::fail(const std::string& detail) const {
  throw Error(description_ + ": " + detail);
}

void InflatingSource::restart(const Point& point) {
  Stream& s = *stream_;
  if (inflateReset(&s.z) != Z_OK) fail("cannot inflate: cannot reset the inflate state");
  s.z.next_in = nullptr;
  s.z.avail_in = 0;
  s.ring_next = 0;
  s.in = point.in;
  s.out = point.out;
  s.ended = false;
  if (point.bits > 0) {
    // The block starts inside the byte before `in`: feed its top bits first.
    std::byte partial{};
    deflated_->read_at(point.in - 1, std::span(&partial, 1));
    const int value = std::to_integer<int>(partial) >> (8 - point.bits);
    if (inflatePrime(&s.z, point.bits, value) != Z_OK) fail("cannot inflate: cannot resume");
  }
  if (!point.window.empty() &&
      inflateSetDictionary(&s.z, point.window.data(), static_cast<uInt>(point.window.size())) !=
          Z_OK) {
    fail("cannot inflate: cannot resume");
  }
}

bool InflatingSource::advance(uint64_t end, std::span<std::byte> dst, uint64_t dst_offset) {
  Stream& s = *stream_;
  while (!s.ended && s.out < end) {
    if (s.z.avail_in == 0 && s.in < deflated_->size()) {
      const uint64_t left = deflated_->size() - s.in;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, s.input.size()));
      deflated_->read_at(s.in, std::as_writable_bytes(std::span(s.input.data(), n)));
      s.in += n;
      s.z.next_in = s.input.data();
      s.z.avail_in = static_cast<uInt>(n);
    }
    if (s.ring_next == kWindow) s.ring_next = 0;
    // Never past `end`: a read that stops exactly there lets the next one go on from it.
    unsigned char* first = s.ring.data() + s.ring_next;
    s.z.next_out = first;
    s.z.avail_out = static_cast<uInt>(std::min<uint64_t>(kWindow - s.ring_next, end - s.out));
    // Z_BLOCK returns at every block boundary, where a restart point can be taken.
    const int ret = inflate(&s.z, Z_BLOCK);
    // No progress with all input consumed (inflate may still finish from its bit buffer, so
    // this is known only after trying).
    if (ret == Z_BUF_ERROR && s.z.avail_in == 0) {
      fail(
          "cannot inflate: the compressed data ends inside the stream (truncated or damaged "
          "archive)");
    }
    if (ret != Z_OK && ret != Z_STREAM_END) {
      fail(std::string("cannot inflate: ") + (s.z.msg ? s.z.msg : zError(ret)));
    }
    const size_t produced = static_cast<size_t>(s.z.next_out - first);
    if (produced > 0) {
      if (produced > size_ - std::min(size_, s.out)) {
        fail("entry data is longer than the declared " + std::to_string(size_) +
             " bytes (damaged archive)");
      }
      const uint64_t lo = std::max(s.out, dst_offset);
      const uint64_t hi = std::min(s.out + produced, dst_offset + dst.size());
      if (lo < hi) std::memcpy(dst.data() + (lo - dst_offset), first + (lo - s.out), hi - lo);
      // The live stream always starts at a restart point, which is never past checked_.
      if (s.out + produced > checked_) {
        const size_t skip = static_cast<size_t>(checked_ - s.out);
        crc_ = static_cast<uint32_t>(crc32(crc_, first + skip, static_cast<uInt>(produced - skip)));
        checked_ = s.out + produced;
      }
      s.out += produced;
      s.ring_next += produced;
      inflated_total_ += produced;
    }
    if (ret == Z_STREAM_END) {
      s.ended = true;
      stream_ended();
      break;
    }
    const bool at_block_boundary = (s.z.data_type & 128) != 0 && (s.z.data_type & 64) == 0;
    if (at_block_boundary && s.out >= points_.back().out + span_) {
      Point point;
      point.out = s.out;
      point.in = s.in - s.z.avail_in;
      point.bits = s.z.data_type & 7;
      const size_t next = s.ring_next;
      point.window.resize(kWindow);
      std::memcpy(point.window.data(), s.ring.data() + next, kWindow - next);
      std::memcpy(point.window.data() + (kWindow - next), s.ring.data(), next);
      points_.push_back(std::move(point));
    }
  }
  return s.out >= end;
}

void InflatingSource::read_at(uint64_t offset, std::span<std::byte> dst) {
  require_range(*this, offset, dst.size(), "read");
  if (dst.empty()) return;
  const auto after = std::upper_bound(points_.begin(), points_.end(), offset,
                                      [](uint64_t o, const Point& p) { return o < p.out; });
  const Point& nearest = *std::prev(after);
  const Stream& s = *stream_;
  // Going on from where the last read stopped costs less than a restart when it is not behind
  // the nearest restart point.
  const bool go_on = !s.ended && s.out <= offset && s.out >= nearest.out;
  if (!go_on) restart(nearest);
  if (!advance(offset + dst.size(), dst, offset)) {
    fail("cannot read " + std::to_string(dst.size()) + " bytes at offset " +
         std::to_string(offset) + ": the inflated data ended early");
  }
  // A read up to the end goes on to the end of the stream, where size and CRC are checked.
  if (offset + dst.size() == size_) check_to_end();
}

}  // namespace mlpress
