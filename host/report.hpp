// Presenting a training run: the text report (the lab's lines) and the --json object.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "host/config.hpp"
#include "host/trainer.hpp"

namespace linreg {

// What a run was: enough to print and to serialise it.
struct RunInfo {
  std::string device;   // GPU name or "cpu"
  std::string backend;  // "cuda" or "cpu"
  std::string note;     // why auto fell back to the CPU, or empty
  int64_t examples = 0;
  int64_t features = 0;
  TrainOptions options;
  bool synthetic = true;
  SyntheticSpec spec;   // meaningful when synthetic
};

// The lab's epoch line: "epoch 1, loss 0.040213".
std::string epoch_line(const EpochReport& rep);

// "[2, -3.4]" with up to `max_items` values (then ", ... (256 values)").
std::string format_values(const std::vector<float>& v, size_t max_items = 8);

// Learned parameters beside the true ones (when known), the time and the throughput.
std::string text_summary(const RunInfo& info, const TrainResult& result);

nlohmann::json result_json(const RunInfo& info, const TrainResult& result);

double samples_per_second(const RunInfo& info, const TrainResult& result);

// Shortest decimal form of a float, for JSON (0.03f prints as 0.03).
double json_float(float v);
nlohmann::json json_floats(const std::vector<float>& v);

}  // namespace linreg
