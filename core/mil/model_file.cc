#include "core/mil/model_file.h"

#include "core/io/error.h"

namespace mlpress::mil {

Model parse_model(std::span<const std::byte> bytes, const std::string& origin) {
  Model model;
  if (bytes.empty()) throw Error(origin + ": empty file, expected a Core ML model specification");
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    throw Error(origin + ": not a valid Core ML model specification (protobuf parse failed)");
  }
  return model;
}

std::string model_type_name(const Model& model) {
  switch (model.Type_case()) {
    case Model::kPipelineClassifier:
      return "pipelineClassifier";
    case Model::kPipelineRegressor:
      return "pipelineRegressor";
    case Model::kPipeline:
      return "pipeline";
    case Model::kMlProgram:
      return "mlProgram";
    case Model::kGlmRegressor:
      return "glmRegressor";
    case Model::kSupportVectorRegressor:
      return "supportVectorRegressor";
    case Model::kTreeEnsembleRegressor:
      return "treeEnsembleRegressor";
    case Model::kNeuralNetworkRegressor:
      return "neuralNetworkRegressor";
    case Model::kBayesianProbitRegressor:
      return "bayesianProbitRegressor";
    case Model::kGlmClassifier:
      return "glmClassifier";
    case Model::kSupportVectorClassifier:
      return "supportVectorClassifier";
    case Model::kTreeEnsembleClassifier:
      return "treeEnsembleClassifier";
    case Model::kNeuralNetworkClassifier:
      return "neuralNetworkClassifier";
    case Model::kKNearestNeighborsClassifier:
      return "kNearestNeighborsClassifier";
    case Model::kNeuralNetwork:
      return "neuralNetwork";
    case Model::kItemSimilarityRecommender:
      return "itemSimilarityRecommender";
    case Model::kCustomModel:
      return "customModel";
    case Model::kLinkedModel:
      return "linkedModel";
    case Model::kClassConfidenceThresholding:
      return "classConfidenceThresholding";
    case Model::kOneHotEncoder:
      return "oneHotEncoder";
    case Model::kImputer:
      return "imputer";
    case Model::kFeatureVectorizer:
      return "featureVectorizer";
    case Model::kDictVectorizer:
      return "dictVectorizer";
    case Model::kScaler:
      return "scaler";
    case Model::kCategoricalMapping:
      return "categoricalMapping";
    case Model::kNormalizer:
      return "normalizer";
    case Model::kArrayFeatureExtractor:
      return "arrayFeatureExtractor";
    case Model::kNonMaximumSuppression:
      return "nonMaximumSuppression";
    case Model::kIdentity:
      return "identity";
    case Model::kTextClassifier:
      return "textClassifier";
    case Model::kWordTagger:
      return "wordTagger";
    case Model::kVisionFeaturePrint:
      return "visionFeaturePrint";
    case Model::kSoundAnalysisPreprocessing:
      return "soundAnalysisPreprocessing";
    case Model::kGazetteer:
      return "gazetteer";
    case Model::kWordEmbedding:
      return "wordEmbedding";
    case Model::kAudioFeaturePrint:
      return "audioFeaturePrint";
    case Model::kSerializedModel:
      return "serializedModel";
    case Model::TYPE_NOT_SET:
      break;
  }
  return "unknown";
}

namespace {

CoreML::Specification::Pipeline* pipeline_of(Model& model) {
  switch (model.Type_case()) {
    case Model::kPipeline:
      return model.mutable_pipeline();
    case Model::kPipelineClassifier:
      return model.mutable_pipelineclassifier()->mutable_pipeline();
    case Model::kPipelineRegressor:
      return model.mutable_pipelineregressor()->mutable_pipeline();
    default:
      return nullptr;
  }
}

void collect(Model& model, const std::string& id, std::vector<ProgramRef>& out) {
  if (model.has_mlprogram()) {
    out.push_back({id.empty() ? "main program" : id, &model, model.mutable_mlprogram()});
    return;
  }
  if (auto* pipeline = pipeline_of(model)) {
    for (int i = 0; i < pipeline->models_size(); ++i) {
      const std::string sub = (id.empty() ? "" : id + ".") + "models[" + std::to_string(i) + "]";
      collect(*pipeline->mutable_models(i), sub, out);
    }
  }
}

}  // namespace

std::vector<ProgramRef> find_programs(Model& model, const std::string& origin) {
  std::vector<ProgramRef> programs;
  collect(model, "", programs);
  if (programs.empty()) {
    const std::string type = model_type_name(model);
    if (type.find("neuralNetwork") != std::string::npos) {
      throw Error(origin + ": this is a NeuralNetwork model (" + type +
                  "), not an ML Program; convert it with coremltools using "
                  "convert_to=\"mlprogram\" first");
    }
    throw Error(origin + ": the model is of type " + type +
                " and contains no ML Program; mlpress compresses ML Program weights only");
  }
  return programs;
}

}  // namespace mlpress::mil
