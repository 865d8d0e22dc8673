// Presenting a training run: the lab's epoch line, the text report after the epochs, the one
// --json object of a run, and the model file's record of how it was trained.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "host/data/model_io.hpp"
#include "host/train/pipeline.hpp"

namespace linreg {

// What a run was asked and what it did: enough to print and to serialise it.
struct RunReport {
  const TrainPlan* plan = nullptr;
  const TrainOutcome* outcome = nullptr;
  std::string model_path;  // --save, or empty
  std::string plot_path;   // --plot, or empty
};

// The lab's epoch line: "epoch 1, loss 0.040213" ("nan", never "-nan", when it diverged).
std::string epoch_line(const EpochReport& rep);

// A long run's history is thinned: the epoch lines printed and the --json epoch_losses hold every
// epoch up to kEpochLines epochs; beyond, every k-th (k = 1, 2 or 5 × 10^m, the smallest that
// keeps at most kEpochLines) and the last (and, printed, any non-finite one).
constexpr int64_t kEpochLines = 1000;
int64_t epoch_stride(int64_t epochs, int64_t max_lines = kEpochLines);
std::string ordinal(int64_t n);  // "2nd", "100th"

// "[2, -3.4]" with up to `max_items` values (then ", ... (256 values)").
std::string format_values(const std::vector<float>& v, size_t max_items = 8);

// Everything printed after the epoch lines: the learned parameters (beside the true ones for the
// synthetic problem), time and throughput, metrics, and the files written.
std::string text_report(const RunReport& r);

// The --json object of a run (docs/DATA.md lists its fields).
nlohmann::json run_json(const RunReport& r);

// The model file of a run: weights in original units, the scaling, metrics, and the settings.
data::Model run_model(const RunReport& r);

double samples_per_second(int64_t examples, int64_t epochs, double seconds);

// Shortest decimal form of a float, for JSON (0.03f prints as 0.03).
double json_float(float v);
nlohmann::json json_floats(const std::vector<float>& v);

}  // namespace linreg
