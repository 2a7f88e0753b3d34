#pragma once
// Writes a new zip archive. Entries are written into a temporary file beside the output as they
// are added, in that order, and close() renames it into place, so an existing file is replaced
// only by a complete archive. Files are deflated (level 6) or stored; a stored entry can also be
// streamed (begin_stored), which is how a package's weight.bin goes straight from the blob
// writer into the archive, with a running CRC-32 and without a staged copy. ZIP64 records are
// written where sizes, offsets or the entry count need them. Every entry gets the same time and
// Unix mode, so the same entries give the same bytes everywhere (native, wasm, any time zone or
// umask); the records are laid out as libzip 1.7 writes them (tests/core/zip_writer_test.cc
// checks that byte for byte).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/io/byte_source.h"

namespace mlpress {

class ZipWriter {
 public:
  // Opens a temporary file beside `path`; throws mlpress::Error naming `path` when that fails.
  explicit ZipWriter(const std::string& path);
  // Discards an archive that was not closed: its temporary file is removed, and an existing file
  // at `path` is left as it was, so no half-written file is left behind.
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  void add_directory(const std::string& name);  // name ends in '/'
  // `store` = true writes the entry uncompressed (weight.bin: random access for readers). The
  // file is read now, in pieces.
  void add_file(const std::string& entry_name, const std::string& source_path, bool store);
  void add_bytes(const std::string& entry_name, std::span<const std::byte> data, bool store);
  // The whole of `source`, read now, in pieces.
  void add_source(const std::string& entry_name, ByteSource& source, bool store);

  // Starts a stored entry whose bytes are written through the returned sink, and no other entry
  // can be added until finish_stored(). Each write must start where the entry's bytes end so far
  // (they go straight to the file and into the CRC), except that the first `rewritable_head`
  // bytes may be written again at any time (a file header that is rewritten as it grows: its
  // CRC is combined in at the end). A write that breaks this throws, and the archive is
  // discarded. The sink is valid until finish_stored() or close().
  ByteSink& begin_stored(const std::string& entry_name, uint64_t rewritable_head);
  void finish_stored();

  // Finishes the entry being streamed, writes the central directory and renames the archive into
  // place; throws mlpress::Error naming the path on failure, after which the archive is
  // discarded. Calling close() again after success does nothing. An archive without entries is a
  // valid empty zip (the 22-byte end record alone).
  void close();

  // Sizes, offsets and entry counts from `threshold` up are written as ZIP64 (the format's own
  // limits are 0xFFFFFFFF and 0xFFFF). Tests lower it to reach the ZIP64 records with small
  // archives; call before adding entries.
  void set_zip64_threshold_for_testing(uint64_t threshold, uint64_t count_threshold);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace mlpress
