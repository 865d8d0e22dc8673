// The reference every SGD path is compared with: minibatch SGD written as plain loops in double
// straight from the lab's formulas, sharing no arithmetic with the code under test (not
// formulas.hpp's loss terms, gradient scale or SGD step, not the trainer's loops). It takes the
// starting point and the epoch orders from the caller, so that a trainer and the reference walk
// the same minibatches. Header-only so that tests of several folders use the one copy.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

#include "host/core/dataset.hpp"

namespace linreg::test {

// The lab's two losses of one residual r = ŷ − y and their derivative factor c in dL/dr = c·r:
// half-MSE (ŷ − y)²/2 has c = 1, nn.MSELoss's (ŷ − y)² has c = 2. Written out here on purpose.
inline bool is_mse(LossKind k) { return k == LossKind::Mse; }
inline double ref_loss_of_residual(double r, LossKind k) { return is_mse(k) ? r * r : r * r / 2; }
inline double ref_grad_factor(LossKind k) { return is_mse(k) ? 2.0 : 1.0; }

// ŷ − y for row i at (w, b), summed left to right in double.
inline double ref_residual(const HostDataset& ds, int64_t i, const std::vector<double>& w, double b) {
  double yhat = 0;
  for (int64_t j = 0; j < ds.d; ++j) yhat += static_cast<double>(ds.X[i * ds.d + j]) * w[j];
  return yhat + b - static_cast<double>(ds.y[i]);
}

inline std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// Row i's weight: ds.weights[i], or 1 when the dataset has none.
inline double ref_weight(const HostDataset& ds, int64_t i) { return ds.weights.empty() ? 1.0 : ds.weights[i]; }

// Mean loss over every row of ds at (w, b); with weights, (1/n) Σ v_i·loss_i.
inline double ref_dataset_loss(const HostDataset& ds, const std::vector<double>& w, double b, LossKind k) {
  double s = 0;
  for (int64_t i = 0; i < ds.n; ++i) s += ref_weight(ds, i) * ref_loss_of_residual(ref_residual(ds, i, w, b), k);
  return s / static_cast<double>(ds.n);
}
inline double ref_dataset_loss(const HostDataset& ds, const std::vector<float>& w, float b, LossKind k) {
  return ref_dataset_loss(ds, widen(w), static_cast<double>(b), k);
}

// A bound on |ref_dataset_loss − any other double evaluation of the same loss| at (w, b).
// Each residual is a sum of d + 2 terms (d products, b, −y): any summation order is within
// (d + 2)·ε·(Σ_j |x_ij w_j| + |b| + |y_i|) of the exact value, so the two sides' residuals differ
// by at most e_i, twice that, and r_i² by at most 2|r_i|·e_i + e_i². The mean of n non-negative
// terms adds at most (n + 1)·ε relative on either side. Near the optimum, where r_i is a small
// difference of large numbers, the first term dominates: that is what a float accumulation of ŷ
// would break by orders of magnitude.
inline double ref_loss_error_bound(const HostDataset& ds, const std::vector<double>& w, double b, LossKind k) {
  const double eps = DBL_EPSILON;
  double acc = 0, loss = 0;
  for (int64_t i = 0; i < ds.n; ++i) {
    double mag = std::fabs(b) + std::fabs(static_cast<double>(ds.y[i]));
    for (int64_t j = 0; j < ds.d; ++j) mag += std::fabs(static_cast<double>(ds.X[i * ds.d + j]) * w[j]);
    const double e = 2 * static_cast<double>(ds.d + 2) * eps * mag;
    const double r = std::fabs(ref_residual(ds, i, w, b)), v = ref_weight(ds, i);
    acc += v * ref_loss_of_residual(1.0, k) * (2 * r * e + e * e);
    loss += v * ref_loss_of_residual(r, k);
  }
  const double n = static_cast<double>(ds.n);
  return acc / n + 2 * (n + 1) * eps * loss / n;
}
inline double ref_loss_error_bound(const HostDataset& ds, const std::vector<float>& w, float b, LossKind k) {
  return ref_loss_error_bound(ds, widen(w), static_cast<double>(b), k);
}

struct ReferenceRun {
  std::vector<float> w;
  float b = 0;
  std::vector<double> epoch_losses;  // full-dataset loss after each epoch
  int64_t steps = 0;                 // minibatch steps taken
};

// Minibatch SGD from (w0, b0 = 0): epoch e visits the rows in perms[e] order, in batches of
// `batch` rows, the last one possibly shorter. Per batch of m rows:
//   g_j = Σ_k r_k x_kj,  g_b = Σ_k r_k  (double),   p ← p − lr·c·g/m, rounded once to float,
// which is the lab's sgd(params, lr, batch_size) on l.sum() (c = 1) or optim.SGD on MSELoss
// (c = 2, the mean over the batch); the parameters live in float32 as the lab's tensors do.
// With weights v_k (ds.weights), r_k becomes v_k·r_k in both sums; without an intercept b is
// never updated (it stays 0).
inline ReferenceRun reference_sgd(const HostDataset& ds, const std::vector<float>& w0, int64_t batch, float lr,
                                  int64_t epochs, LossKind kind, const std::vector<std::vector<uint32_t>>& perms,
                                  bool intercept = true) {
  ReferenceRun run;
  run.w = w0;
  run.b = 0;
  const double c = ref_grad_factor(kind), rate = static_cast<double>(lr);
  for (int64_t e = 0; e < epochs; ++e) {
    for (int64_t start = 0; start < ds.n; start += batch) {
      const int64_t m = std::min(batch, ds.n - start);
      const std::vector<double> w = widen(run.w);
      std::vector<double> g(static_cast<size_t>(ds.d), 0.0);
      double gb = 0;
      for (int64_t k = 0; k < m; ++k) {
        const int64_t row = perms[static_cast<size_t>(e)][static_cast<size_t>(start + k)];
        const double r = ref_weight(ds, row) * ref_residual(ds, row, w, run.b);
        for (int64_t j = 0; j < ds.d; ++j) g[j] += r * static_cast<double>(ds.X[row * ds.d + j]);
        gb += r;
      }
      for (int64_t j = 0; j < ds.d; ++j) run.w[j] = static_cast<float>(w[j] - rate * c * g[j] / static_cast<double>(m));
      if (intercept) run.b = static_cast<float>(static_cast<double>(run.b) - rate * c * gb / static_cast<double>(m));
      ++run.steps;
    }
    run.epoch_losses.push_back(ref_dataset_loss(ds, run.w, run.b, kind));
  }
  return run;
}

// One float32 ulp of |v| (the gap to the next float away from zero); FLT_TRUE_MIN for 0.
inline double float_ulp(float v) {
  const float a = std::fabs(v);
  return static_cast<double>(std::nextafter(a, INFINITY) - a);
}

}  // namespace linreg::test
