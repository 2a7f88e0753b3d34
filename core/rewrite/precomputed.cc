#include "core/rewrite/precomputed.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/io/error.h"
#include "core/mil/op_access.h"
#include "core/mil/value_walk.h"

namespace mlpress::rewrite {
namespace spec = CoreML::Specification::MILSpec;

namespace {

constexpr uint32_t kRecordMagic = 0x52504c4d;  // "MLPR", little-endian
constexpr uint64_t kHeaderBytes = 4 + 8 + 8;   // magic, weight index, body length

class Encoder {
 public:
  void u8(uint8_t v) { bytes_.push_back(std::byte{v}); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(uint8_t(v >> (8 * i)));
  }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(uint8_t(v >> (8 * i)));
  }
  void f64(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    u64(bits);
  }
  void raw(std::span<const std::byte> data) {
    u64(data.size());
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  void str(const std::string& s) { raw(std::as_bytes(std::span(s.data(), s.size()))); }
  std::vector<std::byte>& bytes() { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

class Decoder {
 public:
  Decoder(std::span<const std::byte> data, std::string what)
      : data_(data), what_(std::move(what)) {}
  uint8_t u8() { return uint8_t(take(1)[0]); }
  uint32_t u32() {
    const auto b = take(4);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(b[i])) << (8 * i);
    return v;
  }
  uint64_t u64() {
    const auto b = take(8);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(b[i])) << (8 * i);
    return v;
  }
  double f64() {
    const uint64_t bits = u64();
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  std::span<const std::byte> raw() { return take(u64()); }
  std::string str() {
    const auto b = raw();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  uint64_t count(uint64_t min_bytes_each) {
    const uint64_t n = u64();
    if (min_bytes_each && n > (data_.size() - at_) / min_bytes_each) fail();
    return n;
  }
  bool done() const { return at_ == data_.size(); }

 private:
  std::span<const std::byte> take(uint64_t n) {
    if (n > data_.size() - at_) fail();
    auto out = data_.subspan(at_, n);
    at_ += n;
    return out;
  }
  [[noreturn]] void fail() const { throw Error(what_ + ": truncated or corrupt record"); }

  std::span<const std::byte> data_;
  std::string what_;
  uint64_t at_ = 0;
};

}  // namespace

PrecomputedWriter::PrecomputedWriter(const std::string& path) : sink_(path) {}

void PrecomputedWriter::add(const PrecomputedResult& result) {
  // The record is written in pieces: the fields around the payloads are encoded into small
  // buffers, and each payload goes from the result to the file as it is. A record assembled in
  // one growing vector held the payload's copy, the vector and its doubled successor at once (a
  // 16 MiB payload made a 32 MiB block while 32 MiB were still held): in wasm that block did not
  // always fit in the hole the weight's own buffer left, and the memory grew by it.
  struct Piece {
    Encoder fields;
    std::span<const std::byte> payload;  // written right after `fields`
  };
  std::vector<Piece> pieces(1);
  Encoder* body = &pieces.back().fields;
  body->str(result.name);
  body->u8(result.error ? 1 : 0);
  body->str(result.error.value_or(""));
  const WeightOutcome& o = result.outcome;
  body->u8(o.compressed ? 1 : 0);
  body->str(o.op_type);
  body->str(o.reason);
  body->u64(o.stored_bytes);
  body->f64(o.snr_db);
  body->f64(o.cosine);
  body->u64(result.name_bases.size());
  for (const auto& base : result.name_bases) body->str(base);
  body->u64(result.payloads.size());
  for (const auto& p : result.payloads) {
    body->str(p.file);
    body->u32(static_cast<uint32_t>(p.dtype));
    body->u64(p.padding_bits);
    body->u64(p.data().size());  // the length of Encoder::raw, whose bytes follow
    pieces.back().payload = p.data();
    pieces.emplace_back();
    body = &pieces.back().fields;
  }
  body->u64(result.ops.size());
  for (const auto& op : result.ops) {
    std::string serialized;
    if (!op.SerializeToString(&serialized)) throw Error(sink_.describe() + ": cannot encode an op");
    body->str(serialized);
  }
  uint64_t length = 0;
  for (auto& piece : pieces) length += piece.fields.bytes().size() + piece.payload.size();
  Encoder header;
  header.u32(kRecordMagic);
  header.u64(result.index);
  header.u64(length);
  sink_.write_at(end_, header.bytes());
  end_ += header.bytes().size();
  for (auto& piece : pieces) {
    sink_.write_at(end_, piece.fields.bytes());
    end_ += piece.fields.bytes().size();
    if (piece.payload.empty()) continue;
    sink_.write_at(end_, piece.payload);
    end_ += piece.payload.size();
  }
  ++count_;
}

void PrecomputedWriter::close() { sink_.close(); }

PrecomputedResults::PrecomputedResults(const std::vector<std::string>& paths) {
  for (size_t f = 0; f < paths.size(); ++f) {
    files_.push_back(std::make_unique<FileSource>(paths[f]));
    FileSource& file = *files_.back();
    for (uint64_t at = 0; at < file.size();) {
      std::vector<std::byte> header(kHeaderBytes);
      require_range(file, at, kHeaderBytes, "precomputed result header");
      file.read_at(at, header);
      Decoder d(header, file.describe());
      if (d.u32() != kRecordMagic) throw Error(file.describe() + ": not a precomputed result file");
      const uint64_t index = d.u64();
      const uint64_t length = d.u64();
      require_range(file, at + kHeaderBytes, length, "precomputed result");
      if (!where_.emplace(index, Location{f, at + kHeaderBytes, length}).second) {
        throw Error(file.describe() + ": weight " + std::to_string(index) +
                    " has more than one precomputed result");
      }
      at += kHeaderBytes + length;
    }
  }
}

std::optional<PrecomputedResult> PrecomputedResults::read(uint64_t index) {
  auto it = where_.find(index);
  if (it == where_.end()) return std::nullopt;
  FileSource& file = *files_[it->second.file];
  PrecomputedResult result;
  result.record.resize(it->second.length);
  file.read_at(it->second.offset, result.record);
  const std::string what = file.describe() + ": weight " + std::to_string(index);
  Decoder d(result.record, what);
  result.index = index;
  result.name = d.str();
  const bool has_error = d.u8() != 0;
  std::string error = d.str();
  if (has_error) result.error = std::move(error);
  WeightOutcome& o = result.outcome;
  o.compressed = d.u8() != 0;
  o.op_type = d.str();
  o.reason = d.str();
  o.stored_bytes = d.u64();
  o.snr_db = d.f64();
  o.cosine = d.f64();
  for (uint64_t n = d.count(8); n > 0; --n) result.name_bases.push_back(d.str());
  for (uint64_t n = d.count(28); n > 0; --n) {
    PrecomputedPayload p;
    p.file = d.str();
    p.dtype = static_cast<blob::BlobDType>(d.u32());
    p.padding_bits = d.u64();
    p.in_file = d.raw();
    result.payloads.push_back(std::move(p));
  }
  for (uint64_t n = d.count(8); n > 0; --n) {
    const std::string serialized = d.str();
    spec::Operation op;
    if (!op.ParseFromString(serialized)) throw Error(what + ": cannot decode an op");
    result.ops.push_back(std::move(op));
  }
  if (!d.done()) throw Error(what + ": trailing bytes in the record");
  return result;
}

namespace {

// The stand-in's number, or nullopt when `name` is not a stand-in.
std::optional<size_t> stand_in_number(const std::string& name) {
  const std::string prefix = kStandInNamePrefix;
  if (!name.starts_with(prefix)) return std::nullopt;
  try {
    return std::stoul(name.substr(prefix.size()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::vector<spec::Operation> replay_precomputed(
    PrecomputedResult& result, const std::function<std::string(const std::string&)>& unique_name,
    const std::function<uint64_t(const PrecomputedPayload&)>& append, const std::string& where) {
  // Names first, in the order the compressor asked for them, then the payloads in the order it
  // appended them: the same calls, in the same order, as compressing here would make.
  std::vector<std::string> names;
  for (const auto& base : result.name_bases) names.push_back(unique_name(base));
  std::vector<uint64_t> offsets;
  for (const auto& payload : result.payloads) offsets.push_back(append(payload));

  auto real_name = [&](std::string& name) {
    const auto n = stand_in_number(name);
    if (!n) return;
    if (*n >= names.size()) throw Error(where + ": precomputed op uses an unknown name " + name);
    name = names[*n];
  };
  for (auto& op : result.ops) {
    for (auto& output : *op.mutable_outputs()) real_name(*output.mutable_name());
    for (auto& [param, argument] : *op.mutable_inputs()) {
      for (auto& binding : *argument.mutable_arguments()) {
        if (binding.has_name()) real_name(*binding.mutable_name());
      }
    }
    auto attribute = op.mutable_attributes()->find("name");
    if (attribute != op.mutable_attributes()->end() &&
        !mil::string_scalar(attribute->second).empty()) {
      real_name(*attribute->second.mutable_immediatevalue()
                     ->mutable_tensor()
                     ->mutable_strings()
                     ->mutable_values(0));
    }
    mil::for_each_value_in_op(op, where, [&](spec::Value& value, const std::string&) {
      if (!value.has_blobfilevalue()) return;
      auto* blob = value.mutable_blobfilevalue();
      if (blob->offset() < kStandInOffsetBase) {
        throw Error(where + ": precomputed op refers to a blob it did not write");
      }
      const uint64_t n = blob->offset() - kStandInOffsetBase;
      if (n >= offsets.size()) throw Error(where + ": precomputed op uses an unknown payload");
      blob->set_offset(offsets[n]);
    });
    // A stand-in anywhere else (a name the compressor derived from one) would be a bug here.
    if (op.SerializeAsString().find(kStandInNamePrefix) != std::string::npos) {
      throw Error(where + ": precomputed op keeps a stand-in name");
    }
  }
  return std::move(result.ops);
}

std::vector<std::vector<uint64_t>> split_by_size(
    const std::vector<std::pair<uint64_t, uint64_t>>& weights, size_t parts) {
  std::vector<std::vector<uint64_t>> shares(std::max<size_t>(parts, 1));
  std::vector<uint64_t> load(shares.size(), 0);
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return weights[a].second > weights[b].second; });
  for (size_t i : order) {
    const size_t share = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    shares[share].push_back(weights[i].first);
    load[share] += weights[i].second;
  }
  for (auto& share : shares) std::sort(share.begin(), share.end());
  return shares;
}

}  // namespace mlpress::rewrite
