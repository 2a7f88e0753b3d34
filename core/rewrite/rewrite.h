#pragma once
// Rewrites a package: today losslessly (every weight carried over, a fresh weight.bin holding
// exactly the referenced blobs); the compression stages plug in here.
#include <cstdint>
#include <string>

namespace mlpress {

struct RewriteOptions {};

struct RewriteReport {
  uint64_t blobs_written = 0;      // across all blob files
  uint64_t blob_bytes_written = 0; // total size of the new blob files
  uint64_t output_bytes = 0;       // size of the output zip, or of the directory's files
};

// Reads `in_path` (zip or package directory; never modified) and writes `out_path`: a zip
// holding one NAME.mlpackage/ folder when it ends in ".zip", a package directory when it ends
// in ".mlpackage". Written to a temporary name first and renamed only when complete; refuses
// out_path == in_path. Throws mlpress::Error naming what is wrong.
RewriteReport rewrite_package(const std::string& in_path, const std::string& out_path,
                              const RewriteOptions& options = {});

}  // namespace mlpress
