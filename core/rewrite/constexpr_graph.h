#pragma once
// The values of a function's constexpr_* outputs, decoded as coremltools' decompress_weights
// does: what `mlpress decompress` writes in their place and what `mlpress histogram` bins.
// Chains (a constexpr bound by name to another's output, or to a const) are decoded whole.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "MIL.pb.h"
#include "core/compress/decompress_ops.h"
#include "core/mil/blob_files.h"

namespace mlpress::rewrite {

class ConstexprGraph {
 public:
  using Operation = CoreML::Specification::MILSpec::Operation;
  using Outputs = std::vector<compress::DenseTensor>;
  // A chain's intermediate values, keyed by the recorded op; the caller drops it when done.
  using Cache = std::map<const Operation*, Outputs>;

  // Records the constexpr ops of `block` and its nested blocks (copies: the caller may move
  // the block's ops afterwards), the consts they bind by name, and which constexpr outputs
  // something other than a constexpr uses. `where` names the function in messages
  // ("ORIGIN: function \"main\"").
  ConstexprGraph(const CoreML::Specification::MILSpec::Block& block, mil::BlobFiles& blobs,
                 std::string where);

  // True when an ordinary op or a block output uses `output` (a constexpr output or not).
  bool needed(const std::string& output) const { return needed_.count(output) != 0; }

  // The recorded constexpr op producing `output` and the output's index; {nullptr, 0} when
  // no constexpr produces it.
  std::pair<const Operation*, int> producer(const std::string& output) const;

  // The values of every output of `op` (a recorded op), decoding what it is bound to.
  const Outputs& evaluate(const Operation& op, Cache& cache);

  // "ORIGIN: function \"F\", op \"NAME\" (TYPE)".
  std::string where(const std::string& op_name, const std::string& type) const;

 private:
  compress::DenseTensor required(const Operation& op, const std::string& name,
                                 const std::string& op_where, Cache& cache);
  std::optional<compress::DenseTensor> param(const Operation& op, const std::string& name,
                                             const std::string& op_where, Cache& cache);
  std::optional<int64_t> int_param(const Operation& op, const std::string& name,
                                   const std::string& op_where, Cache& cache);
  Outputs compute(const Operation& op, const std::string& at, Cache& cache);

  mil::BlobFiles& blobs_;
  std::string where_;
  std::map<std::string, std::pair<std::shared_ptr<const Operation>, int>> producers_;
  std::map<std::string, std::shared_ptr<const Operation>> consts_;  // bound by constexprs
  std::set<std::string> needed_;
};

}  // namespace mlpress::rewrite
