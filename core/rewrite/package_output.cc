#include "core/rewrite/package_output.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/io/byte_source.h"
#include "core/io/error.h"

namespace mlpress::rewrite {
namespace fs = std::filesystem;

namespace {

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

std::string serialize_deterministically(const mil::Model& model, const std::string& origin) {
  std::string serialized;
  google::protobuf::io::StringOutputStream stream(&serialized);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  if (!model.SerializeToCodedStream(&coded)) throw Error(origin + ": cannot serialize the model");
  coded.Trim();
  return serialized;
}

}  // namespace

void check_output_path(const std::string& in_path, const std::string& out_path) {
  output_kind_for(out_path);  // refuse a bad output name before reading anything
  if (same_path(in_path, out_path)) {
    throw Error(out_path +
                ": output is the input; write to another path (the input is never modified)");
  }
}

uint64_t stage_and_commit(PackageReader& package, const std::string& model_file,
                          const mil::Model& model, const std::string& origin,
                          const BlobRelocator& relocator, PackageWriter& writer) {
  writer.put_file(model_file, serialize_deterministically(model, origin));
  for (const auto& file : package.files()) {
    if (file == model_file || relocator.written_files().count(file)) continue;
    writer.copy_file(file, [&package, file] { return package.open_file(file); });
  }
  for (const auto& [id, item] : package.manifest().items) {
    const std::string path = "Data/" + item.path;
    if (!package.has_file(path)) writer.add_directory(path);
  }
  return writer.commit();
}

}  // namespace mlpress::rewrite
