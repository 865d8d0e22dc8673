// The route of a training run, start to finish, without flags or printing:
//   data (synthetic, or a CSV file) → validation split → standardisation → a Fitter placed on
//   the device → fit → weights back in original units → metrics on the original rows.
// The synthetic problem without split or scaling is generated where the fitter runs (cuRAND on
// the GPU), so the data never crosses the bus; everything else is prepared on the host and
// copied to the device once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/core/config.hpp"
#include "host/core/dataset.hpp"
#include "host/data/csv.hpp"
#include "host/data/npy.hpp"
#include "host/data/metrics.hpp"
#include "host/data/prep.hpp"
#include "host/train/fit.hpp"
#include "host/train/inference.hpp"

namespace linreg {

class Communicator;

struct TrainPlan {
  std::string csv_path;        // empty: the synthetic problem
  data::CsvOptions csv;        // target and columns of the file
  bool npy_input = false;      // csv_path is a NumPy .npy file (data/npy.hpp): read with `npy`
  data::NpyOptions npy;
  SyntheticSpec synthetic;     // used when csv_path is empty (true_w filled in)
  double val_fraction = 0;     // share of rows held out, in [0, 1)
  bool standardize = false;    // SGD on standardised features (the exact solver does not need it)
  Method method = Method::Sgd;
  DeviceChoice device = DeviceChoice::Auto;
  TrainOptions sgd;            // its seed also seeds the validation split
  ExactOptions exact;          // the exact solver's factorisation, intercept and ridge
  bool need_rows = false;      // keep the training rows on the host (a plot needs them)
  // A data-parallel job (host/cluster): with more than one rank, this process trains on its
  // shard of the rows together with the others (sharded_pipeline.hpp). Null: one process.
  const Communicator* cluster = nullptr;
  // At most this many bytes of training rows in memory at once (0: no limit): an .npy file over
  // it is streamed in chunks (streamed_pipeline.hpp), as one too large for the free memory is.
  uint64_t memory_limit = 0;
};

// What a run did, for reports, the model file and the plot.
struct TrainOutcome {
  bool synthetic = true;
  double read_seconds = 0;     // reading the CSV file
  bool streamed = false;       // the rows were read in chunks, never held whole (streamed_pipeline.hpp)
  double read_bytes = 0;
  int64_t train_rows = 0;
  int64_t validation_rows = 0;
  int64_t features = 0;
  std::vector<std::string> feature_names;
  std::string target_name;
  std::string device, backend;  // where the fit ran
  std::string note;             // why auto fell back to the CPU, or empty
  data::Scaling scaling;        // empty without standardisation
  FitResult fit;                // w, b in original units
  bool has_metrics = false;     // false only for device-generated data too large to copy back
  data::Metrics train_metrics, validation_metrics;
  Inference inference;          // exact fits on the CPU: R's coefficient table
  HostDataset rows;             // the training rows (original units) when kept
  HostDataset validation;       // the validation rows, when any
};

// on_data: once the rows are read (names and sizes known), before any other check or work.
// on_start: once the data is in place and the device chosen, before the first epoch.
using StartCallback = std::function<void(const TrainOutcome&)>;

// Runs the plan. Throws InputError for bad data (the message names the file, column or value),
// DeviceUnavailable for --device gpu without a usable GPU. A diverged SGD run returns normally
// with fit.diverged set.
TrainOutcome run_training(const TrainPlan& plan, const StartCallback& on_data, const StartCallback& on_start,
                          const EpochCallback& on_epoch);

// Weights learned on standardised features (scaling not empty) → the same model in original
// units (data/prep.hpp: unscale_weights); no-op without scaling.
void to_original_units(const data::Scaling& scaling, FitResult& fit);

// Device-generated data is copied back for the metrics when it is at most this many floats
// (512 MiB): beyond that the copy would cost more than the training.
constexpr int64_t kMetricsCopyLimit = int64_t{1} << 27;

}  // namespace linreg
