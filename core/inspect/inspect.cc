#include "core/inspect/inspect.h"

#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/mil/dtype.h"
#include "core/mil/model_file.h"
#include "core/mil/op_access.h"
#include "core/mil/tensor_values.h"
#include "core/mil/weight_index.h"
#include "core/package/package_reader.h"

namespace mlpress {
namespace {

using json = nlohmann::json;
namespace spec = CoreML::Specification;

json feature_json(const spec::FeatureDescription& feature) {
  json out = {{"name", feature.name()}};
  if (!feature.shortdescription().empty()) out["description"] = feature.shortdescription();
  const auto& type = feature.type();
  switch (type.Type_case()) {
    case spec::FeatureType::kMultiArrayType: {
      static const std::map<int, const char*> kArrayTypes = {
          {spec::ArrayFeatureType::FLOAT32, "fp32"},
          {spec::ArrayFeatureType::DOUBLE, "fp64"},
          {spec::ArrayFeatureType::INT32, "int32"},
          {spec::ArrayFeatureType::INT8, "int8"},
          {spec::ArrayFeatureType::FLOAT16, "fp16"}};
      const auto& array = type.multiarraytype();
      out["type"] = "multiArray";
      auto it = kArrayTypes.find(array.datatype());
      out["dtype"] = it == kArrayTypes.end() ? "unknown" : it->second;
      out["shape"] = std::vector<int64_t>(array.shape().begin(), array.shape().end());
      if (array.has_enumeratedshapes()) out["flexible_shape"] = "enumerated";
      if (array.has_shaperange()) out["flexible_shape"] = "range";
      break;
    }
    case spec::FeatureType::kImageType: {
      static const std::map<int, const char*> kColors = {
          {spec::ImageFeatureType::GRAYSCALE, "grayscale"},
          {spec::ImageFeatureType::RGB, "RGB"},
          {spec::ImageFeatureType::BGR, "BGR"},
          {spec::ImageFeatureType::GRAYSCALE_FLOAT16, "grayscale_fp16"}};
      const auto& image = type.imagetype();
      out["type"] = "image";
      out["width"] = image.width();
      out["height"] = image.height();
      auto it = kColors.find(image.colorspace());
      out["color_space"] = it == kColors.end() ? "unknown" : it->second;
      break;
    }
    case spec::FeatureType::kInt64Type:
      out["type"] = "int64";
      break;
    case spec::FeatureType::kDoubleType:
      out["type"] = "double";
      break;
    case spec::FeatureType::kStringType:
      out["type"] = "string";
      break;
    case spec::FeatureType::kDictionaryType:
      out["type"] = "dictionary";
      break;
    case spec::FeatureType::kSequenceType:
      out["type"] = "sequence";
      break;
    case spec::FeatureType::kStateType:
      out["type"] = "state";
      break;
    case spec::FeatureType::TYPE_NOT_SET:
      out["type"] = "unknown";
      break;
  }
  if (type.isoptional()) out["optional"] = true;
  return out;
}

json features_json(const google::protobuf::RepeatedPtrField<spec::FeatureDescription>& features) {
  json out = json::array();
  for (const auto& feature : features) out.push_back(feature_json(feature));
  return out;
}

json model_json(const mil::Model& model) {
  const auto& description = model.description();
  const auto& metadata = description.metadata();
  json user_defined = json::object();
  for (const auto& [key, value] : metadata.userdefined()) user_defined[key] = value;
  json out = {{"specification_version", model.specificationversion()},
              {"type", mil::model_type_name(model)},
              {"inputs", features_json(description.input())},
              {"outputs", features_json(description.output())},
              {"metadata",
               {{"author", metadata.author()},
                {"short_description", metadata.shortdescription()},
                {"version", metadata.versionstring()},
                {"license", metadata.license()},
                {"user_defined", user_defined}}}};
  if (description.state_size() > 0) out["states"] = features_json(description.state());
  if (description.functions_size() > 0) {
    json functions = json::array();
    for (const auto& function : description.functions()) {
      functions.push_back({{"name", function.name()},
                           {"inputs", features_json(function.input())},
                           {"outputs", features_json(function.output())}});
    }
    out["functions"] = functions;
    out["default_function"] = description.defaultfunctionname();
  }
  return out;
}

json optional_json(const auto& value) { return value ? json(*value) : json(nullptr); }

json compression_json(const std::optional<mil::ExistingCompression>& compression) {
  if (!compression) return nullptr;
  const auto& c = *compression;
  json out = {{"kind", c.kind},
              {"ops", c.ops},
              {"nbits", optional_json(c.nbits)},
              {"granularity", c.granularity.empty() ? json(nullptr) : json(c.granularity)},
              {"sparsity", optional_json(c.sparsity)}};
  if (c.axis) out["axis"] = *c.axis;
  if (!c.block_sizes.empty()) out["block_sizes"] = c.block_sizes;
  if (c.cluster_dim) out["cluster_dim"] = *c.cluster_dim;
  if (c.lut_quantized) out["lut_quantized"] = true;
  if (c.per_channel_scale) out["per_channel_scale"] = true;
  return out;
}

json weight_json(const mil::WeightInfo& weight, mil::BlobFiles& blobs, const std::string& origin) {
  const std::string where = mil::op_location(origin + " (" + weight.program + ")", weight.function,
                                             weight.op_name, weight.op_type);
  json consumers = json::array();
  for (const auto& c : weight.consumers) {
    consumers.push_back(
        {{"op_type", c.op_type}, {"op_name", c.op_name}, {"parameter", c.parameter}});
  }
  const int bits = mil::dtype_bits(weight.shape.dtype).value_or(0);
  json out = {{"name", weight.name},
              {"op_name", weight.op_name},
              {"op_type", weight.op_type},
              {"program", weight.program},
              {"function", weight.function},
              {"shape", weight.shape.dims},
              {"dtype", mil::dtype_name(weight.shape.dtype)},
              {"element_count", weight.shape.element_count()},
              {"dense_bytes", (weight.shape.element_count() * bits + 7) / 8},
              {"consumers", consumers},
              {"block_output", weight.is_block_output},
              {"compression", compression_json(weight.compression)}};
  if (weight.value) {
    const auto stats = mil::value_stats(*weight.value, weight.shape, blobs, where);
    out["sparsity"] = stats.count ? double(stats.zeros) / double(stats.count) : 0.0;
    out["unique_values"] = stats.unique;
    if (weight.value->has_blobfilevalue()) {
      out["storage"] = {{"kind", "blob"},
                        {"file", weight.value->blobfilevalue().filename()},
                        {"offset", weight.value->blobfilevalue().offset()}};
    } else {
      out["storage"] = {{"kind", "inline"}};
    }
  } else {
    out["sparsity"] =
        optional_json(weight.compression ? weight.compression->sparsity : std::nullopt);
    out["unique_values"] = nullptr;
    out["storage"] = {{"kind", "constexpr"}};
  }
  return out;
}

}  // namespace

json inspect_package(const std::string& path, const InspectOptions& options) {
  auto package = PackageReader::open(path);
  const std::string model_origin = package->describe(package->root_model_file());
  mil::Model model = mil::parse_model(
      package->read_file(package->root_model_file(), package->limits().max_model_bytes),
      model_origin);
  auto programs = mil::find_programs(model, model_origin);
  mil::BlobFiles blobs(*package);

  json manifest_items = json::array();
  for (const auto& [id, item] : package->manifest().items) {
    manifest_items.push_back({{"identifier", id},
                              {"name", item.name},
                              {"author", item.author},
                              {"description", item.description},
                              {"path", item.path}});
  }
  json report = {{"path", path},
                 {"package",
                  {{"name", package->name()},
                   {"root_model", package->root_model_file()},
                   {"weights_dir", package->weights_dir()},
                   {"items", manifest_items},
                   {"files", package->files()}}},
                 {"model", model_json(model)}};

  json programs_json = json::array();
  json weights_json = json::array();
  uint64_t total_elements = 0, total_bytes = 0, compressed = 0;
  for (const auto& program : programs) {
    const auto index = mil::index_program(program, model_origin);
    json functions = json::array();
    for (const auto& f : index.functions) {
      functions.push_back({{"name", f.name}, {"opset", f.opset}, {"op_count", f.op_count}});
    }
    programs_json.push_back({{"id", index.id},
                             {"specification_version", index.specification_version},
                             {"functions", functions}});
    for (const auto& weight : index.weights) {
      if (weight.shape.element_count() <= options.weight_threshold) continue;
      json w = weight_json(weight, blobs, model_origin);
      total_elements += weight.shape.element_count();
      total_bytes += w["dense_bytes"].get<uint64_t>();
      if (weight.compression) ++compressed;
      weights_json.push_back(std::move(w));
    }
  }
  uint64_t blob_file_bytes = 0;
  for (const auto& file : package->files()) {
    if (!package->weights_dir().empty() && file.starts_with(package->weights_dir() + "/")) {
      blob_file_bytes += package->file_size(file);
    }
  }
  report["programs"] = programs_json;
  report["weights"] = weights_json;
  report["totals"] = {{"weights", weights_json.size()},
                      {"compressed_weights", compressed},
                      {"weight_elements", total_elements},
                      {"dense_weight_bytes", total_bytes},
                      {"weights_dir_bytes", blob_file_bytes}};
  return report;
}

}  // namespace mlpress
