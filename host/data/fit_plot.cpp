// The fit plot (see fit_plot.hpp).
#include "host/data/fit_plot.hpp"

#include <algorithm>
#include <cmath>

#include "host/core/error.hpp"
#include "host/core/formulas.hpp"
#include "host/plot/svg_plot.hpp"

namespace linreg::data {

std::string render_fit_plot(const FitPlotInput& in) {
  const HostDataset& ds = *in.data;
  const int64_t n = ds.n, d = ds.d, k = in.feature;
  if (n <= 0 || k < 0 || k >= d || static_cast<int64_t>(in.w.size()) != d || static_cast<int64_t>(ds.y.size()) != n)
    throw InputError("fit plot: inconsistent inputs");
  const std::string xname = ds.feature_names.size() == static_cast<size_t>(d) ? ds.feature_names[k] : "x" + std::to_string(k);
  const std::string yname = ds.target_name.empty() ? "y" : ds.target_name;

  // A seeded sample of rows (all of them when there are few), in file order.
  std::vector<int64_t> rows;
  if (n <= kFitPlotPoints) {
    for (int64_t i = 0; i < n; ++i) rows.push_back(i);
  } else {
    std::vector<char> pick(static_cast<size_t>(n), 0);
    uint64_t state = splitmix64(in.seed ^ 0x504c4f54ull);  // "PLOT"
    int64_t chosen = 0;
    while (chosen < kFitPlotPoints) {
      state = splitmix64(state);
      const int64_t i = static_cast<int64_t>(state % static_cast<uint64_t>(n));
      if (!pick[i]) {
        pick[i] = 1;
        ++chosen;
      }
    }
    for (int64_t i = 0; i < n; ++i)
      if (pick[i]) rows.push_back(i);
  }
  plot::Series pts{"data", {}, {}, plot::SeriesKind::Scatter};
  for (int64_t i : rows) {
    pts.x.push_back(ds.X[i * d + k]);
    pts.y.push_back(ds.y[i]);
  }

  // The line over the full range of the feature, others at their means (over all rows).
  double lo = INFINITY, hi = -INFINITY, offset = in.b;
  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += ds.X[i * d + j];
  for (int64_t j = 0; j < d; ++j) {
    mean[j] /= static_cast<double>(n);
    if (j != k) offset += in.w[j] * mean[j];
  }
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, static_cast<double>(ds.X[i * d + k]));
    hi = std::max(hi, static_cast<double>(ds.X[i * d + k]));
  }
  plot::Series line{d > 1 ? "fit (other features at their means)" : "fit", {}, {}, plot::SeriesKind::Line};
  constexpr int kLinePoints = 64;
  for (int t = 0; t <= kLinePoints; ++t) {
    const double x = lo + (hi - lo) * t / kLinePoints;
    line.x.push_back(x);
    line.y.push_back(offset + in.w[k] * x);
  }

  plot::Chart fit;
  fit.title = in.title.empty() ? yname + " against " + xname : in.title;
  fit.x_label = xname;
  fit.y_label = yname;
  fit.series = {pts, line};
  if (in.train_losses.empty()) return plot::render_svg(fit);

  plot::Chart loss;
  loss.title = "loss per epoch (" + in.loss_name + ")";
  loss.x_label = "epoch";
  loss.y_label = "loss";
  bool positive = true;
  // A long run keeps at most kFitPlotLossPoints points per curve (every k-th epoch and the last),
  // so that a million epochs do not make a million-point SVG.
  const auto curve = [&](const char* name, const std::vector<double>& losses) {
    plot::Series s{name, {}, {}, plot::SeriesKind::Line};
    const size_t n_loss = losses.size();
    const size_t stride = (n_loss + kFitPlotLossPoints - 1) / kFitPlotLossPoints;
    for (size_t e = 0; e < n_loss; ++e) {
      if (stride > 1 && (e + 1) % stride != 0 && e + 1 != n_loss) continue;
      s.x.push_back(static_cast<double>(e + 1));
      s.y.push_back(losses[e]);
      positive = positive && losses[e] > 0;
    }
    return s;
  };
  loss.series.push_back(curve("train", in.train_losses));
  if (!in.val_losses.empty()) loss.series.push_back(curve("validation", in.val_losses));
  loss.log_y = positive;
  return plot::render_svg(std::vector<plot::Chart>{fit, loss}, 2);
}

}  // namespace linreg::data
