#pragma once
// model.mlmodel: parsing, and finding every ML Program in it (the root, or the sub-models of
// pipelines, recursively).
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "Model.pb.h"

namespace mlpress::mil {

using Model = CoreML::Specification::Model;
using Program = CoreML::Specification::MILSpec::Program;

// Throws naming `origin` when the bytes are not a Model message.
Model parse_model(std::span<const std::byte> bytes, const std::string& origin);

// "mlProgram", "pipeline", "neuralNetwork", ... for the model's Type oneof.
std::string model_type_name(const Model& model);

struct ProgramRef {
  std::string
      id;  // "main program" for the root; "models[1]" or "models[0].models[2]" inside pipelines
  Model* model = nullptr;  // the (sub-)model holding the program
  Program* program = nullptr;
};

// Every ML Program in `model`, in pipeline order. Throws naming `origin` when there is none
// (e.g. a NeuralNetwork model, which must be converted to an ML Program first).
std::vector<ProgramRef> find_programs(Model& model, const std::string& origin);

}  // namespace mlpress::mil
