// Regression metrics of a linear model y ≈ X·w + b, accumulated in double.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/core/dataset.hpp"

namespace linreg {
class Communicator;
}

namespace linreg::data {

struct Metrics {
  int64_t rows = 0;
  double mse = 0;   // mean (ŷ − y)²
  double rmse = 0;  // sqrt(mse)
  double mae = 0;   // mean |ŷ − y|
  double r2 = 0;    // 1 − SS_res / SS_tot; NaN when y is constant (SS_tot = 0) or a sum overflowed
  bool constant_target = false;  // SS_tot = 0: R² is undefined
};

// printf's `fmt` ("%.6g") for one double, but "nan", "inf", "-inf" for the others (never "-nan").
std::string number_text(double v, const char* fmt = "%.6g");

// ŷ_i = b + Σ_j w_j x_ij in double, on the double values (X64) where the dataset has them.
std::vector<double> predict(const HostDataset& ds, const std::vector<double>& w, double b);

// On the double labels (y64) where the dataset has them. Unweighted: every row counts once (the
// exact fit's coefficient table has the weighted R²).
Metrics compute_metrics(const HostDataset& ds, const std::vector<double>& w, double b);
// The same of rows that come in parts (a file streamed in chunks; data/prep.hpp's RowParts):
// parts(f) calls f on each part in row order, once per pass (twice). The same numbers as the rows
// read whole.
// comm: a data-parallel job, the parts this rank's rows (the job's metrics on every rank).
Metrics compute_metrics(const std::function<void(const std::function<void(const HostDataset&)>&)>& parts,
                        const std::vector<double>& w, double b, const Communicator* comm = nullptr);
// The same of a data-parallel job's rows, ds this rank's shard (a collective: every rank gets the
// job's metrics).
Metrics compute_metrics(const HostDataset& ds, const std::vector<double>& w, double b, const Communicator& comm);
Metrics compute_metrics(const std::vector<float>& y, const std::vector<double>& prediction);
Metrics compute_metrics(const std::vector<double>& y, const std::vector<double>& prediction);

// {"rows", "mse", "rmse", "mae", "r2"}; r2 is null when undefined.
nlohmann::json metrics_json(const Metrics& m);

// "MSE 0.0123  RMSE 0.111  MAE 0.0876  R² 0.9876 (800 rows)"
std::string metrics_text(const Metrics& m);

}  // namespace linreg::data
