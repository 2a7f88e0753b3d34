#include "core/plan/plan_configs.h"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace mlpress::plan {
namespace {

// The fields a coremltools user would write for the choice; defaults left out.
nlohmann::json op_config_dict(const Choice& choice) {
  nlohmann::json d = nlohmann::json::object();
  if (const auto* q = std::get_if<config::OpLinearQuantizerConfig>(&choice.config)) {
    d["mode"] = "linear_symmetric";
    d["dtype"] = q->dtype;
    d["granularity"] = config::granularity_name(q->granularity);
    if (q->granularity == config::Granularity::per_block)
      d["block_size"] = std::get<int64_t>(q->block_size);
    d["weight_threshold"] = *q->weight_threshold;
  } else if (const auto* p = std::get_if<config::OpPalettizerConfig>(&choice.config)) {
    d["mode"] = "kmeans";
    d["nbits"] = *p->nbits;
    d["granularity"] = config::granularity_name(p->granularity);
    if (p->granularity == config::Granularity::per_grouped_channel) d["group_size"] = p->group_size;
    d["weight_threshold"] = *p->weight_threshold;
  } else {
    const auto& m = std::get<config::OpMagnitudePrunerConfig>(choice.config);
    d["target_sparsity"] = *m.target_sparsity;
    d["weight_threshold"] = *m.weight_threshold;
  }
  return d;
}

const char* config_type(ChoiceKind kind) {
  switch (kind) {
    case ChoiceKind::kPalettize:
      return "OpPalettizerConfig";
    case ChoiceKind::kPrune:
      return "OpMagnitudePrunerConfig";
    default:
      return "OpLinearQuantizerConfig";
  }
}

std::string yaml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string yaml_scalar(const nlohmann::json& v) {
  if (v.is_string()) return yaml_string(v.get<std::string>());
  return v.dump();
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

}  // namespace

std::vector<PlanConfig> plan_configs(const SensitivityReport& report, const Plan& plan) {
  std::vector<PlanConfig> out;
  for (ChoiceKind kind : {ChoiceKind::kPrune, ChoiceKind::kPalettize, ChoiceKind::kQuantize}) {
    nlohmann::json names = nlohmann::json::object();
    for (const auto& item : plan.items) {
      const Choice& choice = report.choices[item.choice];
      if (choice.kind == kind) names[item.op_name] = op_config_dict(choice);
    }
    if (names.empty()) continue;
    PlanConfig pc;
    pc.kind = kind;
    pc.dict = {{"config_type", config_type(kind)}, {"op_name_configs", names}};
    pc.step.api = api_of(kind);
    pc.step.config = config::OptimizationConfig::from_dict(pc.dict);
    out.push_back(std::move(pc));
  }
  return out;
}

std::string config_yaml(const nlohmann::json& dict) {
  std::ostringstream out;
  out << "config_type: " << dict.at("config_type").get<std::string>() << "\n";
  out << "op_name_configs:\n";
  for (const auto& [name, fields] : dict.at("op_name_configs").items()) {
    out << "  " << yaml_string(name) << ":\n";
    for (const auto& [field, value] : fields.items())
      out << "    " << field << ": " << yaml_scalar(value) << "\n";
  }
  return out.str();
}

nlohmann::json plan_json(const SensitivityReport& report, const Plan& plan) {
  nlohmann::json out;
  out["method"] = plan.method;
  out["target_bytes"] = plan.target_bytes ? nlohmann::json(*plan.target_bytes) : nullptr;
  out["weight_file_bytes"] = report.weight_file_bytes;
  out["fixed_file_bytes"] = report.fixed_file_bytes;
  out["predicted_file_bytes"] = plan.predicted_file_bytes;
  out["total_sq_error"] = plan.total_sq_error;
  out["items"] = nlohmann::json::array();
  for (const auto& item : plan.items) {
    const Choice& choice = report.choices[item.choice];
    double sq_norm = 0;
    nlohmann::json names = nlohmann::json::array();
    for (size_t w : item.weights) {
      sq_norm += report.weights[w].sq_norm;
      names.push_back(report.weights[w].name);
    }
    const double snr = item.sq_error == 0 ? INFINITY : 10 * std::log10(sq_norm / item.sq_error);
    out["items"].push_back({{"op_name", item.op_name},
                            {"weights", names},
                            {"choice", choice.id},
                            {"kind", kind_name(choice.kind)},
                            {"kept_high_precision", item.kept_high_precision},
                            {"file_bytes", item.file_bytes},
                            {"sq_error", item.sq_error},
                            {"snr_db", finite_or_null(snr)}});
  }
  return out;
}

std::string format_plan_text(const SensitivityReport& report, const Plan& plan) {
  std::ostringstream out;
  for (const auto& item : plan.items) {
    const Choice& choice = report.choices[item.choice];
    out << "  " << std::left << std::setw(40) << item.op_name << std::setw(14) << choice.id
        << std::right << std::setw(12) << item.file_bytes << " bytes  error " << std::scientific
        << std::setprecision(3) << item.sq_error << std::defaultfloat
        << (item.kept_high_precision ? "  (first/last: 8-bit or dense)" : "") << "\n";
  }
  out << "plan: " << plan.method << "; weight files " << plan.predicted_file_bytes
      << " bytes (at most; of " << report.weight_file_bytes << " dense";
  if (plan.target_bytes) out << ", target " << *plan.target_bytes;
  out << "), total squared error " << std::scientific << std::setprecision(4) << plan.total_sq_error
      << "\n";
  return out.str();
}

}  // namespace mlpress::plan
