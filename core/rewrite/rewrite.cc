#include "core/rewrite/rewrite.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/blob/blob_writer.h"
#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/mil/model_file.h"
#include "core/mil/tensor_type.h"
#include "core/mil/value_walk.h"
#include "core/package/package_reader.h"
#include "core/package/package_writer.h"

namespace mlpress {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kCopyChunk = uint64_t{1} << 20;

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec)) return true;
  auto norm = [](const std::string& p) {
    std::error_code e;
    std::string s = fs::weakly_canonical(fs::absolute(p), e).generic_string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  return norm(a) == norm(b);
}

void copy_file(ByteSource& source, const std::string& dest) {
  FileSink sink(dest);
  std::vector<std::byte> chunk;
  for (uint64_t offset = 0; offset < source.size(); offset += kCopyChunk) {
    chunk.resize(std::min(kCopyChunk, source.size() - offset));
    source.read_at(offset, chunk);
    sink.write_at(offset, chunk);
  }
  sink.close();
}

// One output blob file per input blob file the program references, written in program order;
// each referenced record is copied once and every reference to it re-pointed.
class BlobRelocator {
 public:
  BlobRelocator(PackageReader& package, PackageWriter& writer) : blobs_(package), writer_(writer) {}

  void relocate(CoreML::Specification::MILSpec::Value& value, const std::string& where) {
    if (!value.has_blobfilevalue()) return;
    auto* blob_value = value.mutable_blobfilevalue();
    const auto shape = mil::tensor_shape_of(value.type(), where);
    const mil::LocatedBlob located = blobs_.locate(*blob_value, shape, where);
    Output& out = output_for(located.file);
    auto [it, fresh] = out.moved.try_emplace(blob_value->offset(), 0);
    if (fresh) {
      it->second = out.writer->append(located.record.dtype, located.record.size_in_bytes,
                                      bit_padding(located.record),
                                      [&](uint64_t offset, std::span<std::byte> chunk) {
                                        located.reader->read_data(located.record, offset, chunk);
                                      });
    }
    blob_value->set_offset(it->second);
  }

  const std::set<std::string>& rewritten_files() const { return files_; }

  void finish(RewriteReport& report) {
    for (auto& [file, out] : outputs_) {
      report.blobs_written += out.writer->count();
      report.blob_bytes_written += out.writer->file_size();
      out.sink->close();
    }
  }

 private:
  struct Output {
    std::unique_ptr<FileSink> sink;
    std::unique_ptr<blob::BlobWriter> writer;
    std::map<uint64_t, uint64_t> moved;  // input metadata offset -> output metadata offset
  };

  // Padding bits are meaningful only for sub-byte types; other types' junk is not carried.
  static uint64_t bit_padding(const blob::BlobRecord& record) {
    return blob::is_sub_byte(record.dtype) ? record.padding_bits : 0;
  }

  Output& output_for(const std::string& file) {
    auto it = outputs_.find(file);
    if (it != outputs_.end()) return it->second;
    Output out;
    out.sink = std::make_unique<FileSink>(writer_.staged_path(file));
    out.writer = std::make_unique<blob::BlobWriter>(*out.sink);
    files_.insert(file);
    return outputs_.emplace(file, std::move(out)).first->second;
  }

  mil::BlobFiles blobs_;
  PackageWriter& writer_;
  std::map<std::string, Output> outputs_;
  std::set<std::string> files_;
};

}  // namespace

RewriteReport rewrite_package(const std::string& in_path, const std::string& out_path,
                              const RewriteOptions& /*options*/) {
  output_kind_for(out_path);  // refuse a bad output name before reading anything
  if (same_path(in_path, out_path)) {
    throw Error(out_path +
                ": output is the input; write to another path (the input is never modified)");
  }
  auto package = PackageReader::open(in_path);
  const std::string model_file = package->root_model_file();
  const std::string origin = package->describe(model_file);
  mil::Model model =
      mil::parse_model(package->read_file(model_file, package->limits().max_model_bytes), origin);
  auto programs = mil::find_programs(model, origin);

  PackageWriter writer(out_path);
  RewriteReport report;
  BlobRelocator relocator(*package, writer);
  for (auto& program : programs) {
    mil::for_each_value(*program.program, [&](auto& value, const std::string& where) {
      relocator.relocate(value, origin + " (" + program.id + "): " + where);
    });
  }
  relocator.finish(report);

  std::string serialized;
  {
    google::protobuf::io::StringOutputStream stream(&serialized);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!model.SerializeToCodedStream(&coded)) throw Error(origin + ": cannot serialize the model");
  }
  {
    FileSink sink(writer.staged_path(model_file));
    sink.write_at(0, std::as_bytes(std::span(serialized)));
    sink.close();
  }
  for (const auto& file : package->files()) {
    if (file == model_file || relocator.rewritten_files().count(file)) continue;
    auto source = package->open_file(file);
    copy_file(*source, writer.staged_path(file));
  }
  for (const auto& [id, item] : package->manifest().items) {
    const std::string path = "Data/" + item.path;
    if (!package->has_file(path)) writer.add_directory(path);
  }
  report.output_bytes = writer.commit();
  return report;
}

}  // namespace mlpress
