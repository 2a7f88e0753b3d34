#include "core/rewrite/report_json.h"

#include <cmath>

namespace mlpress {

nlohmann::json report_json(const RewriteReport& report) {
  nlohmann::json weights = nlohmann::json::array();
  for (const auto& w : report.weights) {
    nlohmann::json j = {{"name", w.name},
                        {"op_name", w.op_name},
                        {"program", w.program},
                        {"function", w.function},
                        {"shape", w.shape},
                        {"dtype", w.dtype},
                        {"compressed", w.compressed},
                        {"dense_bytes", w.dense_bytes}};
    // Which step of a job produced this outcome (1-based); absent for a lossless rewrite.
    if (w.step > 0) j["step"] = w.step;
    if (w.compressed) {
      j["op_type"] = w.op_type;
      j["stored_bytes"] = w.stored_bytes;
      // JSON has no infinity: an exact reconstruction has no finite SNR.
      j["snr_db"] = std::isfinite(w.snr_db) ? nlohmann::json(w.snr_db) : nlohmann::json(nullptr);
      j["cosine"] = w.cosine;
      j["config_from"] = w.config_from;
    } else {
      j["reason"] = w.reason;
    }
    weights.push_back(std::move(j));
  }
  return {{"output_bytes", report.output_bytes},
          {"blobs_written", report.blobs_written},
          {"blob_bytes_written", report.blob_bytes_written},
          {"weights", weights}};
}

}  // namespace mlpress
