#include "core/plan/sensitivity_json.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace mlpress::plan {
namespace {

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

nlohmann::json choice_json(const Choice& choice) {
  nlohmann::json j = {{"id", choice.id},
                      {"kind", kind_name(choice.kind)},
                      {"bits", choice.bits},
                      {"needs_ios18", choice.needs_ios18}};
  j["config"] =
      choice.kind == ChoiceKind::kDense ? nlohmann::json(nullptr) : config::to_json(choice.config);
  return j;
}

}  // namespace

nlohmann::json choice_result_json(const ChoiceResult& r) {
  if (!r.available) return {{"available", false}, {"reason", r.reason}};
  return {{"available", true},
          {"sq_error", r.error.sq_error},
          {"rel_error", r.error.rel_error},
          {"snr_db", finite_or_null(r.error.snr_db)},
          {"cosine", r.error.cosine},
          {"stored_bytes", r.bytes.payload},
          {"blob_bytes", r.bytes.blob},
          {"file_bytes", r.bytes.file}};
}

nlohmann::json sensitivity_json(const SensitivityReport& report) {
  nlohmann::json out;
  out["weight_threshold"] = report.weight_threshold;
  out["sensitivity_choice"] = kSensitivityChoice;
  out["weight_file_bytes"] = report.weight_file_bytes;
  out["fixed_file_bytes"] = report.fixed_file_bytes;
  out["choices"] = nlohmann::json::array();
  for (const auto& choice : report.choices) out["choices"].push_back(choice_json(choice));
  out["weights"] = nlohmann::json::array();
  size_t rank = 0;
  for (size_t i : sensitivity_ranking(report)) {
    const auto& w = report.weights[i];
    nlohmann::json results = nlohmann::json::object();
    for (size_t c = 0; c < report.choices.size(); ++c)
      results[report.choices[c].id] = choice_result_json(w.choices[c]);
    out["weights"].push_back({{"rank", ++rank},
                              {"program", w.program},
                              {"function", w.function},
                              {"name", w.name},
                              {"op_name", w.op_name},
                              {"shape", w.shape},
                              {"dtype", w.dtype},
                              {"opset_version", w.opset_version},
                              {"sq_norm", w.sq_norm},
                              {"sensitivity", finite_or_null(w.sensitivity)},
                              {"owns_blob", w.owns_blob},
                              {"results", results}});
  }
  return out;
}

std::string format_sensitivity_text(const SensitivityReport& report) {
  static const char* kColumns[] = {"int8_channel", "int4_block32", "pal8_tensor", "pal6_tensor",
                                   "pal4_tensor",  "pal3_tensor",  "pal2_tensor", "prune50"};
  std::ostringstream out;
  out << "Sensitivity = relative error ||w - w'|| / ||w|| under " << kSensitivityChoice
      << "; columns: SNR in dB (- = not available)\n";
  out << std::left << std::setw(5) << "rank" << std::setw(36) << "weight (const op)" << std::right
      << std::setw(10) << "elements" << std::setw(12) << "sensitivity";
  for (const char* c : kColumns) out << std::setw(14) << c;
  out << "\n";
  size_t rank = 0;
  for (size_t i : sensitivity_ranking(report)) {
    const auto& w = report.weights[i];
    uint64_t elements = 1;
    for (uint64_t d : w.shape) elements *= d;
    std::string name = w.op_name;
    if (name.size() > 35) name = name.substr(0, 32) + "...";
    out << std::left << std::setw(5) << ++rank << std::setw(36) << name << std::right
        << std::setw(10) << elements << std::setw(12);
    if (std::isfinite(w.sensitivity)) {
      out << std::fixed << std::setprecision(4) << w.sensitivity;
    } else {
      out << "-";
    }
    for (const char* c : kColumns) {
      const auto& r = w.choices[report.choice_index(c)];
      out << std::setw(14);
      if (r.available) {
        out << std::fixed << std::setprecision(1) << r.error.snr_db;
      } else {
        out << "-";
      }
    }
    out << "\n";
  }
  out << report.weights.size() << " candidate weights (more than " << report.weight_threshold
      << " elements); weight files " << report.weight_file_bytes << " bytes, "
      << report.fixed_file_bytes << " of them fixed\n";
  return out.str();
}

}  // namespace mlpress::plan
