// Helpers of the GPU tests: the skip guard, a double-precision SGD reference on the host, and the
// derived bounds on how far two implementations of the same SGD trajectory may drift apart.
//
// The bound (used by test_gpu_trainer.cpp). Write p = (w, b), x̃ = (x, 1), H_t = Σ_batch x̃ x̃ᵀ and
// η_t = lr·scale/bt. The exact minibatch gradient is linear in p: g(p) = X̃ᵀ(X̃p − y), so two
// implementations A, B that each round differently satisfy
//     p_A' − p_B' = (I − η_t H_t)(p_A − p_B) − η_t (δg_A − δg_B) + (rounding of p' to float)
// and, H_t being symmetric positive semi-definite with λmax ≤ ‖H_t‖_∞ (Gershgorin),
//     e_{t+1} ≤ c_t·e_t + η_t·‖δg_A − δg_B‖₂ + ‖ulp(p')‖₂,   c_t = max(1, η_t‖H_t‖_∞ − 1),
// with e = ‖p_A − p_B‖₂. The gradient-sum errors per parameter follow the usual model of a sum
// of m terms, (m+1)·u·Σ|terms| (u the unit roundoff of the accumulator), plus the residual errors
// |x̃_j|·δr each residual carries in: δr ≤ ρ|r| + (d+2)·u_d·(Σ|x_j w_j| + |b| + |y|), ρ = u_f when
// the residual is stored as float (cublas), 0 otherwise. Both sides' errors add.
// The per-epoch loss then differs by at most ‖∇L‖₂·e + ½·scale·(tr H/n)·e² plus each side's
// evaluation rounding (1/n)(scale·Σ|r|δr + (n+1)·u_d·Σ loss_term).
// Magnitudes are taken along the reference trajectory (first-order: the two trajectories are
// within e of it); the final tolerance gets a 1.25 margin for that, stated where it is applied.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/core/formulas.hpp"
#include "host/train/device.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"

namespace linreg::gputest {

inline const GpuProbe& gpu_probe() {
  static const GpuProbe p = probe_gpu();
  return p;
}

#define LINREG_REQUIRE_GPU()                                                               \
  do {                                                                                     \
    if (!::linreg::gputest::gpu_probe().usable)                                            \
      GTEST_SKIP() << "no usable GPU: " << ::linreg::gputest::gpu_probe().reason;          \
  } while (0)

constexpr double kUf = FLT_EPSILON / 2;  // unit roundoff, float
constexpr double kUd = DBL_EPSILON / 2;  // unit roundoff, double

// How one implementation rounds: residual stored as float or not; gradient sums accumulated in
// float (cuBLAS Sgemv) or double.
struct RoundingModel {
  bool float_residual = false;
  bool float_weight_sums = false;
};
inline RoundingModel double_model() { return {}; }
inline RoundingModel cublas_model() { return {true, true}; }

struct Trajectory {
  std::vector<double> losses;           // per epoch (reference, double sums)
  std::vector<double> param_tol;        // per epoch: bound on ‖p_A − p_B‖₂
  std::vector<double> loss_tol;         // per epoch: bound on |L_A − L_B|
  std::vector<float> w;                 // reference final parameters
  float b = 0;
};

inline double loss_and_grad_norm(const HostDataset& ds, const std::vector<float>& w, float b, LossKind kind,
                                 double* grad_norm, double* eval_err, double* trace_h) {
  const int64_t n = ds.n, d = ds.d;
  const double scale = grad_scale(kind);
  std::vector<double> grad(static_cast<size_t>(d + 1), 0.0);
  double sum = 0, err = 0, tr = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x = &ds.X[static_cast<size_t>(i * d)];
    double dot = 0, mag = std::fabs(b) + std::fabs(ds.y[i]);
    for (int64_t j = 0; j < d; ++j) {
      dot += static_cast<double>(x[j]) * w[j];
      mag += std::fabs(static_cast<double>(x[j]) * w[j]);
      tr += static_cast<double>(x[j]) * x[j];
    }
    tr += 1;
    const double r = dot + b - ds.y[i];
    sum += loss_term(r, kind);
    for (int64_t j = 0; j < d; ++j) grad[j] += r * x[j];
    grad[d] += r;
    err += scale * std::fabs(r) * (d + 2) * kUd * mag;
  }
  double g2 = 0;
  for (double g : grad) g2 += (scale * g / n) * (scale * g / n);
  *grad_norm = std::sqrt(g2);
  *eval_err = (err + (n + 1) * kUd * sum) / n;
  *trace_h = tr;
  return sum / n;
}

// Runs the SGD of the trainers in double (sums) with float parameters (sgd_step), over `perms`,
// and derives the bounds between an implementation rounding as `a` and one rounding as `b`.
inline Trajectory reference_trajectory(const HostDataset& ds, const TrainOptions& opt,
                                       const std::vector<std::vector<uint32_t>>& perms, RoundingModel a,
                                       RoundingModel b_model) {
  const int64_t n = ds.n, d = ds.d, B = opt.batch_size;
  const double scale = grad_scale(opt.loss);
  Trajectory tr;
  std::vector<float> w = initial_weights(d, opt.seed);
  float b = 0.0f;
  double e = 0;  // bound on ‖p_A − p_B‖₂
  std::vector<double> gsum(static_cast<size_t>(d + 1)), gabs(static_cast<size_t>(d + 1)),
      rerr(static_cast<size_t>(d + 1));
  std::vector<double> H(static_cast<size_t>((d + 1) * (d + 1)));
  std::vector<double> xt(static_cast<size_t>(d + 1));
  for (int64_t ep = 0; ep < opt.epochs; ++ep) {
    const auto& perm = perms[static_cast<size_t>(ep)];
    for (int64_t start = 0; start < n; start += B) {
      const int64_t bt = std::min(B, n - start);
      std::fill(gsum.begin(), gsum.end(), 0.0);
      std::fill(gabs.begin(), gabs.end(), 0.0);
      std::fill(rerr.begin(), rerr.end(), 0.0);
      std::fill(H.begin(), H.end(), 0.0);
      for (int64_t k = 0; k < bt; ++k) {
        const int64_t i = perm[static_cast<size_t>(start + k)];
        const float* x = &ds.X[static_cast<size_t>(i * d)];
        double dot = 0, mag = std::fabs(b) + std::fabs(ds.y[i]);
        for (int64_t j = 0; j < d; ++j) {
          dot += static_cast<double>(x[j]) * w[j];
          mag += std::fabs(static_cast<double>(x[j]) * w[j]);
          xt[j] = x[j];
        }
        xt[d] = 1.0;
        const double r = dot + b - ds.y[i];
        // Residual error of each side, added.
        const double dr = (a.float_residual ? kUf * std::fabs(r) : 0.0) +
                          (b_model.float_residual ? kUf * std::fabs(r) : 0.0) + 2 * (d + 2) * kUd * mag;
        for (int64_t j = 0; j <= d; ++j) {
          gsum[j] += r * xt[j];
          gabs[j] += std::fabs(r * xt[j]);
          rerr[j] += std::fabs(xt[j]) * dr;
        }
        for (int64_t j = 0; j <= d; ++j)
          for (int64_t l = 0; l <= d; ++l) H[j * (d + 1) + l] += xt[j] * xt[l];
      }
      const double eta = opt.lr * scale / static_cast<double>(bt);
      double h_inf = 0;
      for (int64_t j = 0; j <= d; ++j) {
        double row = 0;
        for (int64_t l = 0; l <= d; ++l) row += std::fabs(H[j * (d + 1) + l]);
        h_inf = std::max(h_inf, row);
      }
      const double c = std::max(1.0, eta * h_inf - 1.0);
      double dg2 = 0, ulp2 = 0;
      for (int64_t j = 0; j <= d; ++j) {
        // Sum error per side: weights in float (Sgemv) or double; the bias sum is always double.
        auto sum_err = [&](RoundingModel m) {
          const double u = (m.float_weight_sums && j < d) ? kUf : kUd;
          return (bt + 1) * u * gabs[j];
        };
        const double dg = rerr[j] + sum_err(a) + sum_err(b_model);
        dg2 += dg * dg;
      }
      for (int64_t j = 0; j < d; ++j) w[j] = sgd_step(w[j], gsum[j], opt.lr, scale, bt);
      b = sgd_step(b, gsum[d], opt.lr, scale, bt);
      for (int64_t j = 0; j <= d; ++j) {
        const double p = j < d ? w[j] : b;
        const double ulp = FLT_EPSILON * std::max(std::fabs(p), static_cast<double>(FLT_MIN));
        ulp2 += ulp * ulp;
      }
      e = c * e + eta * std::sqrt(dg2) + std::sqrt(ulp2);
    }
    double gnorm = 0, eval_err = 0, trace = 0;
    const double L = loss_and_grad_norm(ds, w, b, opt.loss, &gnorm, &eval_err, &trace);
    tr.losses.push_back(L);
    tr.param_tol.push_back(e);
    tr.loss_tol.push_back(gnorm * e + 0.5 * scale * (trace / n) * e * e + 2 * eval_err);
  }
  tr.w = w;
  tr.b = b;
  return tr;
}

inline std::vector<std::vector<uint32_t>> host_perms(int64_t n, uint64_t seed, int64_t epochs) {
  std::vector<std::vector<uint32_t>> p(static_cast<size_t>(epochs), std::vector<uint32_t>(static_cast<size_t>(n)));
  for (int64_t e = 0; e < epochs; ++e) host_permutation(n, seed, e, p[static_cast<size_t>(e)].data());
  return p;
}

inline double param_distance(const std::vector<float>& w1, float b1, const std::vector<float>& w2, float b2) {
  double s = (static_cast<double>(b1) - b2) * (static_cast<double>(b1) - b2);
  for (size_t j = 0; j < w1.size(); ++j) s += (static_cast<double>(w1[j]) - w2[j]) * (static_cast<double>(w1[j]) - w2[j]);
  return std::sqrt(s);
}

}  // namespace linreg::gputest
