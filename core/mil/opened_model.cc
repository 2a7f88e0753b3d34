#include "core/mil/opened_model.h"

namespace mlpress::mil {

OpenedModel::OpenedModel(const std::string& path)
    : package(PackageReader::open(path)),
      model_file(package->root_model_file()),
      origin(package->describe(model_file)),
      model(parse_model(package->read_file(model_file, package->limits().max_model_bytes), origin)),
      programs(find_programs(model, origin)) {}

}  // namespace mlpress::mil
