#pragma once
// Compressed weights computed ahead of the rewrite, so that several processes (browser workers,
// with no shared memory) can each compress a share of a package's weights and one ordinary
// rewrite then splices their results in, writing exactly the bytes a single run writes.
//
// A result is what one const compressor did through its ConstContext, recorded with stand-ins:
// the names it asked unique_name() for, the payloads it appended (with stand-in offsets), the
// replacement ops (which refer to both stand-ins), the weight's outcome, or the error it threw.
// The rewrite replays it at the weight's place in the walk: it asks for the names and appends
// the payloads for real, then puts the real names and offsets into the ops.
//
// Results are stored one after another in plain files (one per process), each record naming its
// weight, and read back one record at a time: memory stays at one weight.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "MIL.pb.h"
#include "core/blob/blob_format.h"
#include "core/io/byte_source.h"
#include "core/rewrite/rewrite.h"

namespace mlpress::rewrite {

// The stand-in names and blob offsets a recorded result uses until the replay. Real offsets
// in a weight file are far below 2^62; only the ops a compressor made are searched for the names.
inline constexpr uint64_t kStandInOffsetBase = uint64_t{1} << 62;
inline constexpr const char* kStandInNamePrefix = "__mlpress_precomputed_name_";

struct PrecomputedPayload {
  std::string file;  // the package-relative blob file it goes to
  blob::BlobDType dtype = blob::BlobDType::Float16;
  uint64_t padding_bits = 0;
  std::vector<std::byte> bytes;        // the payload, when recorded by the compressor
  std::span<const std::byte> in_file;  // the payload, when read back: a view of the record
  std::span<const std::byte> data() const { return bytes.empty() ? in_file : std::span(bytes); }
};

struct PrecomputedResult {
  uint64_t index = 0;                // the weight's index in the report (its planning order)
  std::string name;                  // the weight's var, checked when the result is used
  std::optional<std::string> error;  // what the compressor threw, thrown again at its place
  // The outcome fields the compressor sets (compressed, op_type, reason, stored_bytes, snr_db,
  // cosine); the rest come from planning.
  WeightOutcome outcome;
  std::vector<std::string> name_bases;       // unique_name(base) calls in order; the i-th returned
                                             // kStandInNamePrefix + i
  std::vector<PrecomputedPayload> payloads;  // the i-th got offset kStandInOffsetBase + i
  std::vector<CoreML::Specification::MILSpec::Operation> ops;  // empty: the weight stays dense
  // The record read back, which the payloads' `in_file` views point into: the splice keeps one
  // weight-sized buffer, not the record and a copy of each payload. Moving the result keeps the
  // views valid; copying it would not, so it cannot be copied.
  std::vector<std::byte> record;

  PrecomputedResult() = default;
  PrecomputedResult(PrecomputedResult&&) = default;
  PrecomputedResult& operator=(PrecomputedResult&&) = default;
  PrecomputedResult(const PrecomputedResult&) = delete;
  PrecomputedResult& operator=(const PrecomputedResult&) = delete;
};

// Appends results to one file.
class PrecomputedWriter {
 public:
  explicit PrecomputedWriter(const std::string& path);
  void add(const PrecomputedResult& result);
  void close();  // throws if the file could not be written completely
  uint64_t count() const { return count_; }

 private:
  FileSink sink_;
  uint64_t end_ = 0;
  uint64_t count_ = 0;
};

// The results in a set of files (each written by a PrecomputedWriter), by weight index. Opening
// reads only the records' headers.
class PrecomputedResults {
 public:
  explicit PrecomputedResults(const std::vector<std::string>& paths);
  bool has(uint64_t index) const { return where_.count(index) != 0; }
  size_t size() const { return where_.size(); }
  // Reads and decodes the result of weight `index`; nullopt when no file holds it.
  std::optional<PrecomputedResult> read(uint64_t index);

 private:
  struct Location {
    size_t file = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  std::vector<std::unique_ptr<FileSource>> files_;
  std::map<uint64_t, Location> where_;
};

// Replays `result` into the rewrite: `unique_name` gives the real names, `append` writes each
// payload and returns its real offset; returns the ops with stand-ins replaced. Throws when an
// op refers to a stand-in that was not recorded, or keeps one after the replacement.
std::vector<CoreML::Specification::MILSpec::Operation> replay_precomputed(
    PrecomputedResult& result, const std::function<std::string(const std::string&)>& unique_name,
    const std::function<uint64_t(const PrecomputedPayload&)>& append, const std::string& where);

// Candidate weights as {index, dense bytes}, split into `parts` shares of about equal size
// (largest first, each to the share with the fewest bytes so far; ties to the lower share).
// Every share is sorted by index; shares may be empty when there are fewer weights than parts.
std::vector<std::vector<uint64_t>> split_by_size(
    const std::vector<std::pair<uint64_t, uint64_t>>& weights, size_t parts);

}  // namespace mlpress::rewrite
