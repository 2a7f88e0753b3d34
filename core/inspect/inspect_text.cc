// Human-readable rendering of the inspect report (the JSON is the source of truth).
#include <iomanip>
#include <sstream>

#include "core/inspect/inspect.h"

namespace mlpress {
namespace {

using json = nlohmann::json;

std::string shape_text(const json& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i].get<int64_t>());
  return s + "]";
}

std::string feature_text(const json& f) {
  std::string s = f["name"].get<std::string>() + ": " + f["type"].get<std::string>();
  if (f["type"] == "multiArray")
    s += " " + f["dtype"].get<std::string>() + " " + shape_text(f["shape"]);
  if (f["type"] == "image") {
    s += " " + std::to_string(f["width"].get<int64_t>()) + "x" +
         std::to_string(f["height"].get<int64_t>()) + " " + f["color_space"].get<std::string>();
  }
  return s;
}

std::string consumers_text(const json& consumers) {
  std::string s;
  for (const auto& c : consumers) {
    if (!s.empty()) s += ", ";
    s += c["op_type"].get<std::string>() + "." + c["parameter"].get<std::string>() + " (" +
         c["op_name"].get<std::string>() + ")";
  }
  return s.empty() ? "-" : s;
}

std::string compression_text(const json& c) {
  if (c.is_null()) return "-";
  std::string s = c["kind"].get<std::string>();
  if (!c["nbits"].is_null()) s += " " + std::to_string(c["nbits"].get<int>()) + "-bit";
  if (!c["granularity"].is_null()) s += " " + c["granularity"].get<std::string>();
  if (!c["sparsity"].is_null()) {
    std::ostringstream os;
    os << " " << std::fixed << std::setprecision(1) << 100 * c["sparsity"].get<double>()
       << "% sparse";
    s += os.str();
  }
  return s;
}

}  // namespace

std::string format_inspect_text(const json& report, uint64_t min_elements) {
  std::ostringstream out;
  const auto& model = report["model"];
  out << "Package   " << report["package"]["name"].get<std::string>() << " ("
      << report["path"].get<std::string>() << ")\n";
  out << "Model     " << model["type"].get<std::string>() << ", specification version "
      << model["specification_version"].get<int>() << "\n";
  for (const auto& program : report["programs"]) {
    for (const auto& f : program["functions"]) {
      out << "Function  " << program["id"].get<std::string>() << " / "
          << f["name"].get<std::string>() << ": opset " << f["opset"].get<std::string>() << ", "
          << f["op_count"].get<uint64_t>() << " ops\n";
    }
  }
  for (const auto& f : model["inputs"]) out << "Input     " << feature_text(f) << "\n";
  for (const auto& f : model["outputs"]) out << "Output    " << feature_text(f) << "\n";
  const auto& meta = model["metadata"];
  if (!meta["author"].get<std::string>().empty())
    out << "Author    " << meta["author"].get<std::string>() << "\n";
  if (!meta["version"].get<std::string>().empty())
    out << "Version   " << meta["version"].get<std::string>() << "\n";
  for (const auto& [key, value] : meta["user_defined"].items()) {
    out << "Metadata  " << key << " = " << value.get<std::string>() << "\n";
  }

  size_t name_width = 6;
  uint64_t hidden = 0;
  for (const auto& w : report["weights"]) {
    if (w["element_count"].get<uint64_t>() >= min_elements) {
      name_width = std::max(name_width, w["name"].get<std::string>().size());
    }
  }
  name_width += 2;
  out << "\n"
      << std::left << std::setw(int(name_width)) << "weight" << std::setw(18) << "shape"
      << std::setw(6) << "dtype" << std::right << std::setw(10) << "elements" << std::setw(9)
      << "sparsity" << std::setw(9) << "unique"
      << "  " << std::left << std::setw(12) << "storage"
      << "  compression / consumers\n";
  for (const auto& w : report["weights"]) {
    if (w["element_count"].get<uint64_t>() < min_elements) {
      ++hidden;
      continue;
    }
    std::ostringstream sparsity;
    if (!w["sparsity"].is_null()) {
      sparsity << std::fixed << std::setprecision(1) << 100 * w["sparsity"].get<double>() << "%";
    } else {
      sparsity << "-";
    }
    const std::string unique =
        w["unique_values"].is_null() ? "-" : std::to_string(w["unique_values"].get<uint64_t>());
    std::string storage = w["storage"]["kind"].get<std::string>();
    if (storage == "blob") storage += "@" + std::to_string(w["storage"]["offset"].get<uint64_t>());
    out << std::left << std::setw(int(name_width)) << w["name"].get<std::string>() << std::setw(18)
        << shape_text(w["shape"]) << std::setw(6) << w["dtype"].get<std::string>() << std::right
        << std::setw(10) << w["element_count"].get<uint64_t>() << std::setw(9) << sparsity.str()
        << std::setw(9) << unique << "  " << std::left << std::setw(12) << storage << "  "
        << compression_text(w["compression"]) << " / " << consumers_text(w["consumers"]) << "\n";
  }
  const auto& totals = report["totals"];
  out << "\n"
      << totals["weights"].get<uint64_t>() << " weights, "
      << totals["weight_elements"].get<uint64_t>() << " elements, "
      << totals["dense_weight_bytes"].get<uint64_t>() << " bytes dense, "
      << totals["compressed_weights"].get<uint64_t>() << " already compressed; weights folder "
      << totals["weights_dir_bytes"].get<uint64_t>() << " bytes\n";
  if (hidden > 0) {
    out << hidden << " constants of fewer than " << min_elements
        << " elements not listed (--all lists them)\n";
  }
  return out.str();
}

}  // namespace mlpress
