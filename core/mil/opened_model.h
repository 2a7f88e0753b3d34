#pragma once
// A package opened for reading its model: the reader, the root model file, the parsed Model
// and every ML Program in it. Rewrites, plans, analyses and histograms all start here.
#include <memory>
#include <string>
#include <vector>

#include "core/mil/model_file.h"
#include "core/package/package_reader.h"

namespace mlpress::mil {

struct OpenedModel {
  // Throws naming the package or the model file when either cannot be read or parsed.
  explicit OpenedModel(const std::string& path);
  // `programs` point into `model`, so the whole stays where it was built.
  OpenedModel(const OpenedModel&) = delete;
  OpenedModel& operator=(const OpenedModel&) = delete;

  std::unique_ptr<PackageReader> package;
  std::string model_file;  // the root model's path inside the package
  std::string origin;      // how errors name the model file
  Model model;
  std::vector<ProgramRef> programs;
};

}  // namespace mlpress::mil
