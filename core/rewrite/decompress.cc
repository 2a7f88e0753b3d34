#include "core/rewrite/decompress.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/blob/blob_format.h"
#include "core/compress/decompress_ops.h"
#include "core/io/error.h"
#include "core/mil/blob_files.h"
#include "core/mil/dtype.h"
#include "core/mil/model_file.h"
#include "core/mil/op_access.h"
#include "core/mil/opened_model.h"
#include "core/mil/tensor_builder.h"
#include "core/mil/tensor_type.h"
#include "core/mil/value_walk.h"
#include "core/package/package_reader.h"
#include "core/package/package_writer.h"
#include "core/rewrite/blob_relocator.h"
#include "core/rewrite/constexpr_graph.h"
#include "core/rewrite/package_output.h"
#include "core/rewrite/value_tensor.h"

namespace mlpress {
namespace spec = CoreML::Specification::MILSpec;
using compress::DenseTensor;
using rewrite::mil_dtype_of;

namespace {

constexpr const char* kDefaultBlobFile = "@model_path/weights/weight.bin";

bool is_constexpr(const spec::Operation& op) { return op.type().starts_with("constexpr_"); }

class Decompressor {
 public:
  Decompressor(mil::ProgramRef& program, const std::string& origin, mil::BlobFiles& blobs,
               rewrite::BlobRelocator& relocator, RewriteReport& report)
      : program_(program),
        origin_(origin + " (" + program.id + ")"),
        blobs_(blobs),
        relocator_(relocator),
        report_(report) {}

  void run() {
    auto relocate = [&](spec::Value& value, const std::string& at) {
      relocator_.relocate(value, at);
    };
    mil::for_each_attribute_value(*program_.program->mutable_attributes(),
                                  origin_ + ": program attributes", relocate);
    std::vector<std::string> names;
    for (const auto& [name, f] : program_.program->functions()) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      auto& function = program_.program->mutable_functions()->at(name);
      function_ = name;
      mil::for_each_attribute_value(*function.mutable_attributes(),
                                    origin_ + ": function \"" + name + "\"", relocate);
      std::vector<std::string> keys;
      for (const auto& [key, block] : function.block_specializations()) keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      for (const auto& key : keys) {
        spec::Block& block = function.mutable_block_specializations()->at(key);
        graph_.emplace(block, blobs_, origin_ + ": function \"" + name + "\"");
        walk_block(block);
      }
    }
  }

 private:
  std::string where(const std::string& op, const std::string& type) const {
    return mil::op_location(origin_, function_, op, type);
  }

  void walk_block(spec::Block& block) {
    mil::for_each_attribute_value(
        *block.mutable_attributes(), origin_ + ": function \"" + function_ + "\" block",
        [&](spec::Value& value, const std::string& at) { relocator_.relocate(value, at); });
    google::protobuf::RepeatedPtrField<spec::Operation> out;
    out.Reserve(block.operations_size());
    for (auto& op : *block.mutable_operations()) {
      const std::string op_where = where(mil::op_name(op), op.type());
      if (is_constexpr(op)) {
        replace_constexpr(op, op_where, out);
        continue;
      }
      mil::for_each_value_in_op(op, op_where, [&](spec::Value& value, const std::string& at) {
        relocator_.relocate(value, at);
      });
      for (auto& nested : *op.mutable_blocks()) walk_block(nested);
      out.Add(std::move(op));
    }
    block.mutable_operations()->Swap(&out);
  }

  // One const per output something other than a constexpr uses; nothing when none is used.
  void replace_constexpr(const spec::Operation& op, const std::string& op_where,
                         google::protobuf::RepeatedPtrField<spec::Operation>& out) {
    bool any = false;
    for (const auto& output : op.outputs()) any = any || graph_->needed(output.name());
    if (!any) return;
    const rewrite::ConstexprGraph::Operation* recorded =
        graph_->producer(op.outputs(0).name()).first;
    rewrite::ConstexprGraph::Cache cache;  // the chain's intermediate values, dropped after this op
    const rewrite::ConstexprGraph::Outputs& values = graph_->evaluate(*recorded, cache);
    const std::string file = blob_file_of(op);
    const std::string out_file = blobs_.output_path_for(file);
    auto append = [&](blob::BlobDType dtype, std::span<const std::byte> data, uint64_t padding) {
      return relocator_.append_new(out_file, dtype, data, padding);
    };
    for (int i = 0; i < op.outputs_size(); ++i) {
      const auto& output = op.outputs(i);
      if (!graph_->needed(output.name())) continue;
      const DenseTensor& value = values[static_cast<size_t>(i)];
      const mil::TensorShape declared =
          mil::tensor_shape_of(output.type(), op_where + ", output \"" + output.name() + "\"");
      if (declared.dims != value.dims) {
        throw Error(op_where + ": output \"" + output.name() + "\" is declared " +
                    declared.to_string() + " but decodes to " + std::to_string(value.count()) +
                    " elements of another shape");
      }
      const int dtype = mil_dtype_of(value.type);
      spec::Operation c;
      c.set_type("const");
      (*c.mutable_attributes())["name"] = mil::string_scalar_value(output.name());
      (*c.mutable_attributes())["val"] =
          mil::tensor_value(dtype, value.dims, value.data, file, append);
      auto* new_output = c.add_outputs();
      new_output->set_name(output.name());
      mil::set_tensor_type(new_output->mutable_type(), dtype, value.dims);
      out.Add(std::move(c));

      WeightOutcome outcome;
      outcome.program = program_.id;
      outcome.function = function_;
      outcome.name = output.name();
      outcome.op_name = output.name();
      outcome.shape = value.dims;
      outcome.dtype = mil::dtype_name(dtype);
      outcome.op_type = op.type();
      outcome.reason = "decompressed from " + op.type();
      outcome.dense_bytes =
          (value.count() * static_cast<uint64_t>(mil::dtype_bits(dtype).value_or(0)) + 7) / 8;
      report_.weights.push_back(std::move(outcome));
    }
  }

  // The blob file the op's payloads live in (new blobs go there too).
  static std::string blob_file_of(const spec::Operation& op) {
    std::vector<std::string> names;
    for (const auto& [name, value] : op.attributes())
      if (value.has_blobfilevalue()) names.push_back(value.blobfilevalue().filename());
    for (const auto& [name, argument] : op.inputs())
      for (const auto& binding : argument.arguments())
        if (binding.has_value() && binding.value().has_blobfilevalue())
          names.push_back(binding.value().blobfilevalue().filename());
    if (names.empty()) return kDefaultBlobFile;
    return *std::min_element(names.begin(), names.end());
  }

  mil::ProgramRef& program_;
  std::string origin_;
  mil::BlobFiles& blobs_;
  rewrite::BlobRelocator& relocator_;
  RewriteReport& report_;
  std::string function_;
  std::optional<rewrite::ConstexprGraph> graph_;  // of the block being walked
};

}  // namespace

RewriteReport decompress_package(const std::string& in_path, const std::string& out_path) {
  rewrite::check_output_path(in_path, out_path);
  mil::OpenedModel opened(in_path);
  auto& [package, model_file, origin, model, programs] = opened;

  RewriteReport report;
  mil::BlobFiles blobs(*package);
  PackageWriter writer(out_path);
  rewrite::BlobRelocator relocator(blobs, writer);
  for (auto& program : programs) Decompressor(program, origin, blobs, relocator, report).run();
  relocator.finish(report);
  report.output_bytes =
      rewrite::stage_and_commit(*package, model_file, model, origin, relocator, writer);
  return report;
}

}  // namespace mlpress
