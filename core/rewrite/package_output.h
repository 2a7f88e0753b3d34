#pragma once
// The steps every package rewrite shares around its program walk: refusing a bad output path,
// serializing the model deterministically, and staging the model and the untouched files.
// (decompress_package uses these; rewrite_package has its own copies of the same steps.)
#include <string>

#include "core/mil/model_file.h"
#include "core/package/package_reader.h"
#include "core/package/package_writer.h"
#include "core/rewrite/blob_relocator.h"

namespace mlpress::rewrite {

// Throws when `out_path` is not a .zip/.mlpackage name or names the input.
void check_output_path(const std::string& in_path, const std::string& out_path);

// Stages `model` as `model_file`, copies every other input file the relocator did not write,
// re-creates empty manifest item folders and commits; returns the output size.
uint64_t stage_and_commit(PackageReader& package, const std::string& model_file,
                          const mil::Model& model, const std::string& origin,
                          const BlobRelocator& relocator, PackageWriter& writer);

}  // namespace mlpress::rewrite
