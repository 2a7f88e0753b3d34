#include "core/rewrite/joint_config_names.h"

#include <algorithm>
#include <string_view>

#include "core/mil/op_access.h"

namespace mlpress::rewrite {
namespace {

namespace spec = CoreML::Specification::MILSpec;

// The parameter of a constexpr op whose const coremltools' joint step compresses
// (_validate_child_constexpr_for_compress of palettize_weights / linear_quantize_weights).
std::string_view payload_param(config::Api api, std::string_view op_type) {
  if (api == config::Api::palettize_weights) {
    if (op_type == "constexpr_sparse_to_dense") return "nonzero_data";
    if (op_type == "constexpr_blockwise_shift_scale") return "data";
  } else if (api == config::Api::linear_quantize_weights) {
    if (op_type == "constexpr_lut_to_dense" || op_type == "constexpr_lut_to_sparse") return "lut";
    if (op_type == "constexpr_sparse_to_dense") return "nonzero_data";
  }
  return {};
}

}  // namespace

std::vector<std::string> joint_config_names(const spec::Operation& head, config::Api api,
                                            const ProducerLookup& producer) {
  std::vector<std::string> toward_payload;  // constexprs below head, then the payload
  const spec::Operation* op = &head;
  for (size_t depth = 0; depth < 8; ++depth) {  // chains are at most three ops long
    const std::string param(payload_param(api, op->type()));
    if (param.empty()) break;
    const std::string bound = mil::param_binding_name(*op, param);
    if (bound.empty()) {
      if (mil::param_value(*op, param))
        toward_payload.push_back(mil::op_name(*op) + "_" + param + "_0");
      break;
    }
    const spec::Operation* from = producer(bound);
    if (!from) break;
    toward_payload.push_back(mil::op_name(*from));
    if (from->type() == "const") break;
    op = from;
  }
  std::reverse(toward_payload.begin(), toward_payload.end());
  return toward_payload;
}

}  // namespace mlpress::rewrite
