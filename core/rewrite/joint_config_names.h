#pragma once
// The op names coremltools tries, before the chain's last op and the ops using the weight, when
// it looks up the op_name_configs entry of an existing constexpr chain in a joint step (§1.2,
// §6). Joint palettization and quantization visit the payload they recompress (a pruned
// weight's nonzero_data, quantized codes, a LUT) and then each constexpr between it and the
// chain's end; joint pruning visits the chain's last op itself, so it tries no other name.
#include <string>
#include <vector>

#include "MIL.pb.h"
#include "core/config/config.h"
#include "core/rewrite/joint_const.h"

namespace mlpress::rewrite {

// Payload first, then the constexpr ops toward `head` (head excluded). A payload written inline
// (as coremltools writes every payload) has no op name in the file; coremltools' loader names it
// "<constexpr op name>_<parameter>_0" the first time it loads the program in a process (later
// loads count up), and that first name is the one mlpress accepts.
std::vector<std::string> joint_config_names(const CoreML::Specification::MILSpec::Operation& head,
                                            config::Api api, const ProducerLookup& producer);

}  // namespace mlpress::rewrite
