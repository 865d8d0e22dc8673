// Regression metrics in double (see metrics.hpp).
#include "host/data/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "host/core/error.hpp"

namespace linreg::data {

std::vector<double> predict(const HostDataset& ds, const std::vector<double>& w, double b) {
  if (static_cast<int64_t>(w.size()) != ds.d) throw InputError("predict: the model has a different number of features");
  std::vector<double> out(static_cast<size_t>(ds.n));
  const int64_t d = ds.d;
  for (int64_t i = 0; i < ds.n; ++i) {
    const float* x = ds.X.data() + i * d;
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < d; ++j) acc += w[j] * static_cast<double>(x[j]);
    out[i] = acc + b;
  }
  return out;
}

Metrics compute_metrics(const std::vector<float>& y, const std::vector<double>& pred) {
  if (y.size() != pred.size()) throw InputError("metrics: labels and predictions differ in number");
  Metrics m;
  m.rows = static_cast<int64_t>(y.size());
  if (y.empty()) return m;
  const double n = static_cast<double>(y.size());
  double mean_y = 0;
  for (float v : y) mean_y += v;
  mean_y /= n;
  double ss_res = 0, ss_abs = 0, ss_tot = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double r = pred[i] - static_cast<double>(y[i]);
    const double c = static_cast<double>(y[i]) - mean_y;
    ss_res += r * r;
    ss_abs += std::fabs(r);
    ss_tot += c * c;
  }
  m.mse = ss_res / n;
  m.rmse = std::sqrt(m.mse);
  m.mae = ss_abs / n;
  m.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : std::numeric_limits<double>::quiet_NaN();
  return m;
}

Metrics compute_metrics(const HostDataset& ds, const std::vector<double>& w, double b) {
  if (static_cast<int64_t>(ds.y.size()) != ds.n) throw InputError("metrics: the dataset has no labels");
  return compute_metrics(ds.y, predict(ds, w, b));
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

std::string metrics_text(const Metrics& m) {
  char r2[32];
  if (std::isfinite(m.r2)) std::snprintf(r2, sizeof r2, "%.6f", m.r2);
  else std::snprintf(r2, sizeof r2, "n/a (constant target)");
  char buf[256];
  std::snprintf(buf, sizeof buf, "MSE %.6g  RMSE %.6g  MAE %.6g  R^2 %s  (%lld rows)", m.mse, m.rmse, m.mae, r2,
                static_cast<long long>(m.rows));
  return buf;
}

}  // namespace linreg::data
