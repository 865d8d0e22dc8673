// Regression metrics in double (see metrics.hpp).
#include "host/data/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"

namespace linreg::data {

std::vector<double> predict(const HostDataset& ds, const std::vector<double>& w, double b) {
  if (static_cast<int64_t>(w.size()) != ds.d) throw InputError("predict: the model has a different number of features");
  std::vector<double> out(static_cast<size_t>(ds.n));
  const int64_t d = ds.d;
  // The values as read (double) where the source had them; the float32 ones otherwise. Eight
  // accumulators in a fixed order (vectorised without reassociating): the same sum wherever the
  // row lies in memory, so that rows read in parts predict exactly as rows read whole (an
  // `omp simd` reduction peels for alignment, and its sums then depend on the address).
  const auto rows = [&](const auto* X) {
    constexpr int kLanes = 8;
    for (int64_t i = 0; i < ds.n; ++i) {
      const auto* x = X + i * d;
      double acc[kLanes] = {};
      int64_t j = 0;
      for (; j + kLanes <= d; j += kLanes)
        for (int k = 0; k < kLanes; ++k) acc[k] += w[j + k] * static_cast<double>(x[j + k]);
      double tail = 0;
      for (; j < d; ++j) tail += w[j] * static_cast<double>(x[j]);
      for (int width = kLanes / 2; width > 0; width /= 2)
        for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
      out[i] = (acc[0] + tail) + b;
    }
  };
  if (!ds.X64.empty()) rows(ds.X64.data());
  else rows(ds.X.data());
  return out;
}

namespace {

// The metrics of m.rows rows from their sums of squared, absolute residuals and squared
// deviations from the mean.
void finish(Metrics& m, double ss_res, double ss_abs, double ss_tot) {
  const double n = static_cast<double>(m.rows);
  m.mse = ss_res / n;
  m.rmse = std::sqrt(m.mse);
  m.mae = ss_abs / n;
  m.constant_target = ss_tot == 0;
  m.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : std::numeric_limits<double>::quiet_NaN();
}

template <typename T>
Metrics metrics_of(const std::vector<T>& y, const std::vector<double>& pred) {
  if (y.size() != pred.size()) throw InputError("metrics: labels and predictions differ in number");
  Metrics m;
  m.rows = static_cast<int64_t>(y.size());
  if (m.rows == 0) return m;
  const double n = static_cast<double>(m.rows);
  double mean_y = 0;
  for (T v : y) mean_y += static_cast<double>(v);
  mean_y /= n;
  double ss_res = 0, ss_abs = 0, ss_tot = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double r = pred[i] - static_cast<double>(y[i]);
    const double c = static_cast<double>(y[i]) - mean_y;
    ss_res += r * r;
    ss_abs += std::fabs(r);
    ss_tot += c * c;
  }
  finish(m, ss_res, ss_abs, ss_tot);
  return m;
}

}  // namespace

Metrics compute_metrics(const std::vector<float>& y, const std::vector<double>& pred) { return metrics_of(y, pred); }
Metrics compute_metrics(const std::vector<double>& y, const std::vector<double>& pred) { return metrics_of(y, pred); }

// The rows held whole are one part: the same code as rows streamed in parts, so the same bits.
Metrics compute_metrics(const HostDataset& ds, const std::vector<double>& w, double b) {
  if (static_cast<int64_t>(ds.y.size()) != ds.n) throw InputError("metrics: the dataset has no labels");
  return compute_metrics([&](const std::function<void(const HostDataset&)>& f) { f(ds); }, w, b, nullptr);
}

Metrics compute_metrics(const std::function<void(const std::function<void(const HostDataset&)>&)>& parts,
                        const std::vector<double>& w, double b, const Communicator* comm) {
  // metrics_of's two passes, each running on across the parts in row order, on the double labels
  // where a part has them; in a job, each pass's sums then added across ranks in rank order.
  const Communicator& ranks = comm ? *comm : single_process();
  Metrics m;
  int64_t rows = 0;
  double mean_y = 0;
  const auto label = [](const HostDataset& ds, int64_t i) {
    return ds.y64.empty() ? static_cast<double>(ds.y[i]) : ds.y64[i];
  };
  parts([&](const HostDataset& ds) {
    if (static_cast<int64_t>(ds.y.size()) != ds.n) throw InputError("metrics: the dataset has no labels");
    rows += ds.n;
    for (int64_t i = 0; i < ds.n; ++i) mean_y += label(ds, i);
  });
  m.rows = sum_counts(ranks, rows);
  if (m.rows == 0) return m;
  const double n = static_cast<double>(m.rows);
  mean_y = sum_in_rank_order(ranks, mean_y) / n;
  double sums[3] = {0, 0, 0};
  double &ss_res = sums[0], &ss_abs = sums[1], &ss_tot = sums[2];
  parts([&](const HostDataset& ds) {
    const std::vector<double> pred = predict(ds, w, b);
    for (int64_t i = 0; i < ds.n; ++i) {
      const double y = label(ds, i), r = pred[i] - y, c = y - mean_y;
      ss_res += r * r;
      ss_abs += std::fabs(r);
      ss_tot += c * c;
    }
  });
  sum_in_rank_order(ranks, sums, 3);
  finish(m, ss_res, ss_abs, ss_tot);
  return m;
}

Metrics compute_metrics(const HostDataset& ds, const std::vector<double>& w, double b, const Communicator& comm) {
  if (static_cast<int64_t>(ds.y.size()) != ds.n) throw InputError("metrics: the dataset has no labels");
  return compute_metrics([&](const std::function<void(const HostDataset&)>& f) { f(ds); }, w, b, &comm);
}

nlohmann::json metrics_json(const Metrics& m) {
  nlohmann::json j;
  j["rows"] = m.rows;
  j["mse"] = m.mse;
  j["rmse"] = m.rmse;
  j["mae"] = m.mae;
  j["r2"] = std::isfinite(m.r2) ? nlohmann::json(m.r2) : nlohmann::json(nullptr);
  return j;
}

std::string number_text(double v, const char* fmt) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string metrics_text(const Metrics& m) {
  const std::string r2 = std::isfinite(m.r2) ? number_text(m.r2, "%.6f")
                                             : (m.constant_target ? "n/a (constant target)" : "n/a");
  return "MSE " + number_text(m.mse) + "  RMSE " + number_text(m.rmse) + "  MAE " + number_text(m.mae) + "  R^2 " + r2 +
         "  (" + std::to_string(m.rows) + (m.rows == 1 ? " row)" : " rows)");
}

}  // namespace linreg::data
