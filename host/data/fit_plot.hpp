// The fit plot of `linreg train --plot`: the lab's scatter of one feature against the label with
// the fitted line over it, and (SGD) the loss per epoch, train and validation, on a log axis.
// Drawn with the project's SVG writer (host/plot/svg_plot.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"

namespace linreg::data {

struct FitPlotInput {
  const HostDataset* data = nullptr;  // original units, with labels
  int64_t feature = 0;                // the column on the x axis
  std::vector<double> w;              // original units
  double b = 0;
  std::vector<double> train_losses, val_losses;  // per epoch; empty for the normal solver
  std::string loss_name = "half-mse";
  std::string title;
  uint64_t seed = 42;                 // which rows the scatter shows when it thins them
};

// Scatter shows at most this many rows (a seeded sample), so files stay small.
constexpr int64_t kFitPlotPoints = 2000;
// Each loss curve shows at most this many epochs (every k-th and the last).
constexpr size_t kFitPlotLossPoints = 2000;

// With several features the line is the model's prediction along the chosen feature with the
// others held at their means: ŷ = b + w_k x + Σ_{j≠k} w_j x̄_j.
std::string render_fit_plot(const FitPlotInput& in);

}  // namespace linreg::data
