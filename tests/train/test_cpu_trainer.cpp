// The CPU trainer: the lab's problem, convergence to least squares, analytic gradients against
// finite differences, short last batches, determinism, and the config/data pieces it rests on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>
#include <utility>

#include "host/core/config.hpp"
#include "host/core/dataset.hpp"
#include "host/core/error.hpp"
#include "host/core/formulas.hpp"
#include "host/core/philox.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/least_squares.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"
#include "host/cli/commands.hpp"
#include "support.hpp"
#include "train/reference_sgd.hpp"

namespace linreg {
namespace {

using test::all_close;
using test::to_double;
using test::float_ulp;
using test::ref_dataset_loss;
using test::ref_loss_error_bound;

SyntheticSpec spec_for(int64_t n, int64_t d, uint64_t seed = 7, float noise = 0.01f) {
  SyntheticSpec s;
  s.examples = n;
  s.features = d;
  s.noise = noise;
  s.seed = seed;
  validate_synthetic(s);
  return s;
}

// Least squares with an intercept, in double: solves [X 1]ᵀ[X 1] θ = [X 1]ᵀ y by Cholesky.
std::vector<double> least_squares(const HostDataset& ds) {
  const int64_t p = ds.d + 1;
  std::vector<double> A(static_cast<size_t>(p * p), 0.0), rhs(static_cast<size_t>(p), 0.0);
  for (int64_t i = 0; i < ds.n; ++i) {
    for (int64_t a = 0; a < p; ++a) {
      const double xa = a < ds.d ? ds.X[i * ds.d + a] : 1.0;
      rhs[a] += xa * ds.y[i];
      for (int64_t c = 0; c <= a; ++c) A[a * p + c] += xa * (c < ds.d ? ds.X[i * ds.d + c] : 1.0);
    }
  }
  std::vector<double> L(A.size(), 0.0);
  for (int64_t j = 0; j < p; ++j) {
    double s = A[j * p + j];
    for (int64_t k = 0; k < j; ++k) s -= L[j * p + k] * L[j * p + k];
    L[j * p + j] = std::sqrt(s);
    for (int64_t i = j + 1; i < p; ++i) {
      double t = A[i * p + j];
      for (int64_t k = 0; k < j; ++k) t -= L[i * p + k] * L[j * p + k];
      L[i * p + j] = t / L[j * p + j];
    }
  }
  std::vector<double> z(static_cast<size_t>(p)), th(static_cast<size_t>(p));
  for (int64_t i = 0; i < p; ++i) {
    double t = rhs[i];
    for (int64_t k = 0; k < i; ++k) t -= L[i * p + k] * z[k];
    z[i] = t / L[i * p + i];
  }
  for (int64_t i = p - 1; i >= 0; --i) {
    double t = z[i];
    for (int64_t k = i + 1; k < p; ++k) t -= L[k * p + i] * th[k];
    th[i] = t / L[i * p + i];
  }
  return th;  // w_0..w_{d-1}, b
}

// The smallest eigenvalue of H = [X 1]ᵀ[X 1] / n (the Hessian of the half-MSE), by cyclic Jacobi
// rotations on the symmetric matrix until its off-diagonal part is negligible.
double smallest_hessian_eigenvalue(const HostDataset& ds) {
  const int64_t p = ds.d + 1;
  std::vector<double> G(static_cast<size_t>(p * p), 0.0);
  for (int64_t i = 0; i < ds.n; ++i)
    for (int64_t a = 0; a < p; ++a)
      for (int64_t c = 0; c < p; ++c)
        G[a * p + c] += (a < ds.d ? ds.X[i * ds.d + a] : 1.0) * (c < ds.d ? ds.X[i * ds.d + c] : 1.0) / ds.n;
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = 0;
    for (int64_t a = 0; a < p; ++a)
      for (int64_t c = a + 1; c < p; ++c) off += G[a * p + c] * G[a * p + c];
    if (off < 1e-30) break;
    for (int64_t a = 0; a < p; ++a)
      for (int64_t c = a + 1; c < p; ++c) {
        if (G[a * p + c] == 0) continue;
        const double th = (G[c * p + c] - G[a * p + a]) / (2 * G[a * p + c]);
        const double t = (th >= 0 ? 1 : -1) / (std::fabs(th) + std::sqrt(th * th + 1));
        const double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
        for (int64_t r = 0; r < p; ++r) {
          const double x = G[r * p + a], y = G[r * p + c];
          G[r * p + a] = cs * x - sn * y;
          G[r * p + c] = sn * x + cs * y;
        }
        for (int64_t r = 0; r < p; ++r) {
          const double x = G[a * p + r], y = G[c * p + r];
          G[a * p + r] = cs * x - sn * y;
          G[c * p + r] = sn * x + cs * y;
        }
      }
  }
  double lo = INFINITY;
  for (int64_t a = 0; a < p; ++a) lo = std::min(lo, G[a * p + a]);
  return lo;
}

std::vector<std::vector<uint32_t>> host_perms(int64_t n, uint64_t seed, int64_t epochs) {
  std::vector<std::vector<uint32_t>> p(static_cast<size_t>(epochs), std::vector<uint32_t>(static_cast<size_t>(n)));
  for (int64_t e = 0; e < epochs; ++e) host_permutation(n, seed, e, p[e].data());
  return p;
}

TEST(CpuTrainer, LabProblemConverges) {
  // The lab's problem (1000×2, batch 10, lr 0.03, 3 epochs, half-MSE).
  SyntheticSpec spec = spec_for(1000, 2, 42);
  auto t = make_cpu_trainer();
  t->generate(spec);
  TrainOptions opt;  // the lab's defaults
  const TrainResult r = t->fit(opt);
  ASSERT_EQ(r.epoch_losses.size(), 3u);
  EXPECT_FALSE(r.diverged);
  EXPECT_LT(r.epoch_losses.back(), 1e-4);
  EXPECT_GT(r.epoch_losses.front(), r.epoch_losses.back());
  EXPECT_NEAR(r.w[0], 2.0, 5e-3);
  EXPECT_NEAR(r.w[1], -3.4, 5e-3);
  EXPECT_NEAR(r.b, 4.2, 5e-3);
}

TEST(CpuTrainer, MseConventionAlsoConverges) {
  SyntheticSpec spec = spec_for(1000, 2, 3);
  auto t = make_cpu_trainer();
  t->generate(spec);
  TrainOptions opt;
  opt.loss = LossKind::Mse;
  const TrainResult r = t->fit(opt);
  // nn.MSELoss is twice the half-MSE: noise 0.01 → about 1e-4 at the optimum.
  EXPECT_LT(r.epoch_losses.back(), 2e-4);
  EXPECT_NEAR(r.w[1], -3.4, 5e-3);
}

struct LsCase {
  int64_t n, d;
  double minibatch_tol;  // empirical, see MinibatchEndsNearLeastSquares
};

class CpuTrainerLeastSquares : public ::testing::TestWithParam<LsCase> {};

TEST_P(CpuTrainerLeastSquares, FullBatchMatchesNormalEquations) {
  // With batch = n, SGD is gradient descent on a strongly convex quadratic and converges
  // linearly to the least-squares solution θ*, until float rounding of the parameters stops it.
  // Tolerance, derived: the iteration stalls where every update lr·g_j rounds away, |lr·g_j| ≤
  // u_j/2 (u_j: one float ulp of θ*_j), so ‖g‖ ≤ ‖u‖/(2·lr); with g = H(θ − θ*) that puts θ within
  // ‖u‖/(2·lr·λ_min(H)) of θ*. Twice that covers limit cycles of ±1 ulp and ulps changing at a
  // power of two; the contraction's remainder (1 − lr·λ_min)^epochs·‖θ₀ − θ*‖ is added (≈ 0 here).
  // Measured: about one ulp (1e-7 to 4e-7).
  const auto [n, d, unused] = GetParam();
  SyntheticSpec spec = spec_for(n, d, 11 + d, 0.5f);  // real noise: LS ≠ true parameters
  auto t = make_cpu_trainer();
  t->generate(spec);
  const HostDataset ds = t->download();
  const std::vector<double> theta = least_squares(ds);
  TrainOptions opt;
  opt.batch_size = n;
  opt.lr = 0.5f;
  opt.epochs = 400;
  const TrainResult r = t->fit(opt);
  std::vector<double> got = to_double(r.w);
  got.push_back(r.b);
  const double lambda = smallest_hessian_eigenvalue(ds);
  ASSERT_GT(lambda, 0.1) << "the design should be well conditioned";
  double u2 = 0, start2 = 0;
  const std::vector<float> w0 = initial_weights(d, opt.seed);
  for (size_t j = 0; j < theta.size(); ++j) {
    u2 += std::pow(float_ulp(static_cast<float>(theta[j])), 2);
    start2 += std::pow((j < w0.size() ? w0[j] : 0.0) - theta[j], 2);
  }
  const double tol = std::sqrt(u2) / (opt.lr * lambda) +
                     std::pow(1 - opt.lr * lambda, static_cast<double>(opt.epochs)) * std::sqrt(start2);
  double dist2 = 0;
  for (size_t j = 0; j < theta.size(); ++j) dist2 += (got[j] - theta[j]) * (got[j] - theta[j]);
  EXPECT_LE(std::sqrt(dist2), tol) << "λ_min " << lambda;
}

TEST_P(CpuTrainerLeastSquares, MinibatchEndsNearLeastSquares) {
  // Minibatch SGD with a constant step keeps fluctuating around the least-squares solution θ*.
  // For independent batches the stationary spread per coordinate is about
  // s = √(lr·σ²·(1 − B/n) / (B·(2 − lr))) (H ≈ I for these N(0, 1) features): 0.004 here
  // (σ = 0.5, lr 0.01, B = 64). Reshuffled epochs end closer than that; the end of the last
  // epoch measured 3e-4 to 3e-3, and 1.25e-2 for n = 200, whose epochs end with a batch of 8.
  // The bound per case is empirical: about twice the measured worst coordinate (0.02 for n = 200).
  const auto [n, d, tol] = GetParam();
  SyntheticSpec spec = spec_for(n, d, 5 + d, 0.5f);
  auto t = make_cpu_trainer();
  t->generate(spec);
  const std::vector<double> theta = least_squares(t->download());
  TrainOptions opt;
  opt.batch_size = 64;
  opt.lr = 0.01f;
  opt.epochs = std::max<int64_t>(30, 3000 * 64 / n);  // at least ~3000 steps
  const TrainResult r = t->fit(opt);
  std::vector<double> got = to_double(r.w);
  got.push_back(r.b);
  EXPECT_TRUE(all_close(theta, got, tol, 0.0));
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuTrainerLeastSquares,
                         ::testing::Values(LsCase{200, 1, 0.02}, LsCase{1000, 2, 6e-4}, LsCase{1500, 3, 4e-3},
                                           LsCase{2000, 16, 6e-3}, LsCase{3000, 5, 2e-3}, LsCase{4000, 64, 4e-3}),
                         [](const auto& info) {
                           return "n" + std::to_string(info.param.n) + "_d" + std::to_string(info.param.d);
                         });

class CpuGradient : public ::testing::TestWithParam<int64_t> {};

TEST_P(CpuGradient, MatchesCentralFiniteDifferences) {
  // cpu_batch_gradient (each inner-loop specialisation: d = 1, 2, 3, 4, 8, 16 unrolled, the
  // 16-lane loop, the four-row blocks from d = 32) against central differences of the batch loss
  // written out below, at two points: away from the optimum (residuals O(1)), and at the true
  // parameters of data with noise 0.01, where each residual is a difference of two numbers of
  // size |ŷ| ≈ 5 that agree to 0.01: an accumulation in float there is wrong by ~1e-5 relative.
  //
  // Tolerance, derived from the arithmetic. The batch loss is quadratic in (w, b), so the central
  // difference has no truncation error, only rounding. Every residual, on either side, is a sum
  // of d + 2 terms and within e_k = (d + 2)·ε·M_k of its exact value (M_k = Σ_j|x_kj w_j| + |b| +
  // |y_k|, ε = DBL_EPSILON). So a loss value at θ ± h is off by at most
  //   δL = c/m·Σ_k (R_k·e_k + e_k²/2) + (m + 1)·ε·L,   R_k = |r_k| + h·(‖x_k‖₁ + 1),
  // the difference quotient by δL/h; θ ± h itself rounds by ε·|θ_j|, moving the quotient by
  // ε·|θ_j|/h·|g_j|. The analytic gradient c/m·Σ r_k x_kj is off by c/m·Σ_k e_k·|x_kj| + (m + 1)·ε
  // ·c/m·Σ_k |r_k x_kj|. The tolerance is their sum (worst case: actual errors are smaller).
  const int64_t d = GetParam();
  const double eps = DBL_EPSILON;
  for (float noise : {0.3f, 0.01f}) {
    SyntheticSpec spec = spec_for(257, d, 99, noise);
    const HostDataset ds = generate_synthetic_host(spec);
    std::vector<uint32_t> rows(37);
    for (size_t k = 0; k < rows.size(); ++k) rows[k] = static_cast<uint32_t>((k * 53 + 11) % ds.n);
    const int64_t m = static_cast<int64_t>(rows.size());
    std::vector<float> w = spec.true_w;
    float b = spec.true_b;
    const bool at_optimum = noise < 0.1f;
    if (!at_optimum) {
      w = initial_weights(d, 5);
      for (auto& v : w) v += 0.25f;  // away from zero and from the optimum
      b = 0.75f;
    }
    for (LossKind kind : {LossKind::HalfMse, LossKind::Mse}) {
      const double c = test::ref_grad_factor(kind);
      std::vector<double> gw;
      double gb = 0;
      cpu_batch_gradient(ds, rows.data(), m, w, b, kind, gw, gb);
      gw.push_back(gb);
      auto batch_loss = [&](const std::vector<double>& wd, double bd) {
        double s = 0;
        for (uint32_t row : rows) s += test::ref_loss_of_residual(test::ref_residual(ds, row, wd, bd), kind);
        return s / static_cast<double>(m);
      };
      const double h = 1e-3;
      const std::vector<double> wd = test::widen(w);
      std::vector<double> fd(static_cast<size_t>(d + 1));
      for (int64_t j = 0; j < d; ++j) {
        auto wp = wd, wm = wd;
        wp[j] += h;
        wm[j] -= h;
        fd[j] = (batch_loss(wp, b) - batch_loss(wm, b)) / (2 * h);
      }
      fd[d] = (batch_loss(wd, b + h) - batch_loss(wd, b - h)) / (2 * h);

      // The derived tolerance, per coordinate (index d is the bias, whose "x" is 1).
      double dL = 0, L = 0;
      std::vector<double> an(static_cast<size_t>(d + 1), 0.0), mag(static_cast<size_t>(d + 1), 0.0);
      for (uint32_t row : rows) {
        double M = std::fabs(b) + std::fabs(ds.y[row]), x1 = 1;
        for (int64_t j = 0; j < d; ++j) {
          M += std::fabs(static_cast<double>(ds.X[row * d + j]) * wd[j]);
          x1 += std::fabs(ds.X[row * d + j]);
        }
        const double e = static_cast<double>(d + 2) * eps * M;
        const double r = std::fabs(test::ref_residual(ds, row, wd, b));
        dL += c * ((r + h * x1) * e + e * e / 2);
        L += test::ref_loss_of_residual(r + h * x1, kind);
        for (int64_t j = 0; j <= d; ++j) {
          const double x = j < d ? std::fabs(ds.X[row * d + j]) : 1.0;
          an[j] += c * e * x;
          mag[j] += c * r * x;
        }
      }
      dL = dL / static_cast<double>(m) + (m + 1) * eps * L / static_cast<double>(m);
      std::vector<double> tol(static_cast<size_t>(d + 1));
      for (int64_t j = 0; j <= d; ++j) {
        const double theta = j < d ? std::fabs(wd[j]) : std::fabs(b);
        tol[j] = dL / h + eps * (theta + h) / h * std::fabs(fd[j]) + an[j] / static_cast<double>(m) +
                 (m + 1) * eps * mag[j] / static_cast<double>(m);
      }
      for (int64_t j = 0; j <= d; ++j)
        EXPECT_LE(std::fabs(gw[j] - fd[j]), tol[j])
            << loss_name(kind) << (at_optimum ? " at the optimum" : " off the optimum") << ", coordinate " << j
            << ": analytic " << gw[j] << " vs difference " << fd[j] << " (derived tolerance " << tol[j] << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Features, CpuGradient, ::testing::Values(1, 2, 3, 4, 5, 8, 16, 31, 64));

struct RefCase {
  int64_t n, d, batch;
  LossKind loss;
};

class CpuTrainerVsReference : public ::testing::TestWithParam<RefCase> {};

TEST_P(CpuTrainerVsReference, SameTrajectoryAsPlainLoops) {
  // The trainer's optimised loops against tests/train/reference_sgd.hpp (plain loops in double,
  // written apart from the code under test) on the same minibatches; n is not a multiple of the
  // batch in most cases (the last batch divides by its true size), and every inner-loop
  // specialisation is reached.
  //
  // Tolerance, derived. Both sides sum in double and round each update to float once, so they
  // differ only in the order of the double sums (the trainer's 16 lanes and four-row blocks):
  // a gradient sum moves by at most (B + d)·ε_double·Σ|r·x|, which is ~1e-9 of a float ulp of the
  // update. That changes the rounding of an update only if its exact value lies that close to a
  // rounding boundary, and then by one ulp, which SGD (a contraction here) does not amplify. So
  // the parameters agree to one ulp: rtol FLT_EPSILON (one to two ulps). An accumulation in float
  // anywhere in a step moves every update by ~1e-2 ulp near the optimum and drifts by several.
  // The epoch losses are the reference loss at the trainer's own parameters after that epoch,
  // within ref_loss_error_bound (summation order of n residuals; see reference_sgd.hpp).
  const auto p = GetParam();
  SyntheticSpec spec = spec_for(p.n, p.d, 21);
  auto t = make_cpu_trainer(1);
  t->generate(spec);
  const HostDataset ds = t->download();
  TrainOptions opt;
  opt.batch_size = p.batch;
  opt.epochs = 3;
  opt.lr = 0.02f;
  opt.loss = p.loss;
  const auto perms = host_perms(p.n, opt.seed, opt.epochs);
  const TrainResult got = t->fit_with_permutations(opt, perms);
  const test::ReferenceRun ref =
      test::reference_sgd(ds, initial_weights(p.d, opt.seed), p.batch, opt.lr, opt.epochs, p.loss, perms);
  std::vector<double> gp = to_double(got.w), rp = to_double(ref.w);
  gp.push_back(got.b);
  rp.push_back(ref.b);
  EXPECT_TRUE(all_close(rp, gp, 0, FLT_EPSILON));
  ASSERT_EQ(got.epoch_losses.size(), 3u);
  for (int64_t e = 1; e <= opt.epochs; ++e) {
    TrainOptions upto = opt;
    upto.epochs = e;
    const TrainResult r = e == opt.epochs ? got : t->fit_with_permutations(upto, perms);
    EXPECT_EQ(r.epoch_losses.back(), got.epoch_losses[e - 1]) << "epoch " << e << " is not the same run";
    EXPECT_NEAR(got.epoch_losses[e - 1], ref_dataset_loss(ds, r.w, r.b, p.loss),
                ref_loss_error_bound(ds, r.w, r.b, p.loss))
        << "epoch " << e;
  }
  // fit() with the host permutations is the same run.
  const TrainResult again = t->fit(opt);
  EXPECT_EQ(again.w, got.w);
  EXPECT_EQ(again.b, got.b);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuTrainerVsReference,
    ::testing::Values(RefCase{1003, 2, 10, LossKind::HalfMse}, RefCase{1003, 2, 10, LossKind::Mse},
                      RefCase{257, 1, 32, LossKind::HalfMse}, RefCase{255, 3, 7, LossKind::Mse},
                      RefCase{1025, 4, 100, LossKind::HalfMse}, RefCase{33, 8, 33, LossKind::HalfMse},
                      RefCase{31, 16, 5, LossKind::Mse}, RefCase{509, 5, 64, LossKind::HalfMse},
                      RefCase{600, 300, 256, LossKind::HalfMse}, RefCase{1, 3, 1, LossKind::HalfMse}),
    [](const auto& info) {
      return "n" + std::to_string(info.param.n) + "_d" + std::to_string(info.param.d) + "_b" +
             std::to_string(info.param.batch) + "_" + (info.param.loss == LossKind::Mse ? "mse" : "half");
    });

struct WeightedCase {
  int64_t n, d, batch;
  bool weighted, intercept;
  int threads;
};

class CpuTrainerWeighted : public ::testing::TestWithParam<WeightedCase> {};

TEST_P(CpuTrainerWeighted, FollowsThePlainLoops) {
  // Per-row weights (some 0, fractional, up to 3) and fits through the origin take the general
  // loop, whatever the feature count (d = 2 and 16 have specialised loops, d = 300 with two
  // threads the threaded one: neither knows weights, so the trainer must not pick them). Compared
  // with the plain-loop reference on the same minibatches; the tolerance is the one derived for
  // SameTrajectoryAsPlainLoops (one to two float ulps: only the order of double sums differs).
  const auto p = GetParam();
  auto t = make_cpu_trainer(p.threads);
  t->generate(spec_for(p.n, p.d, 5));
  HostDataset ds = t->download();
  if (p.weighted) {
    ds.weights.resize(static_cast<size_t>(p.n));
    for (int64_t i = 0; i < p.n; ++i) ds.weights[i] = i % 7 == 3 ? 0.0 : 0.25 * static_cast<double>(i % 13);
  }
  t->load(ds, nullptr);
  TrainOptions opt;
  opt.batch_size = p.batch;
  opt.epochs = 3;
  opt.lr = 0.01f;
  opt.intercept = p.intercept;
  const auto perms = host_perms(p.n, opt.seed, opt.epochs);
  const TrainResult got = t->fit_with_permutations(opt, perms);
  const test::ReferenceRun ref = test::reference_sgd(ds, initial_weights(p.d, opt.seed), p.batch, opt.lr, opt.epochs,
                                                     opt.loss, perms, p.intercept);
  std::vector<double> gp = to_double(got.w), rp = to_double(ref.w);
  gp.push_back(got.b);
  rp.push_back(ref.b);
  EXPECT_TRUE(all_close(rp, gp, 0, FLT_EPSILON));
  if (!p.intercept) {
    EXPECT_EQ(got.b, 0.0f) << "b is never updated without an intercept";
  }
  // The reported loss is the weighted objective at the trainer's parameters.
  EXPECT_NEAR(got.epoch_losses.back(), ref_dataset_loss(ds, got.w, got.b, opt.loss),
              ref_loss_error_bound(ds, got.w, got.b, opt.loss));
  // The claim is not vacuous: the unweighted run with an intercept is a different trajectory.
  HostDataset plain = ds;
  plain.weights.clear();
  t->load(plain, nullptr);
  TrainOptions with_b = opt;
  with_b.intercept = true;
  const TrainResult other = t->fit_with_permutations(with_b, perms);
  EXPECT_NE(other.w, got.w);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuTrainerWeighted,
    ::testing::Values(WeightedCase{1003, 2, 10, true, true, 1}, WeightedCase{1003, 2, 10, false, false, 1},
                      WeightedCase{257, 16, 32, true, false, 1}, WeightedCase{600, 300, 256, true, true, 2},
                      WeightedCase{33, 5, 8, true, true, 1}),
    [](const auto& info) {
      return "n" + std::to_string(info.param.n) + "_d" + std::to_string(info.param.d) +
             (info.param.weighted ? "_weighted" : "") + (info.param.intercept ? "" : "_origin") + "_t" +
             std::to_string(info.param.threads);
    });

TEST(CpuTrainer, UnitWeightsAreTheUnweightedRun) {
  // Weights of 1 multiply nothing: the general loop then walks the same arithmetic as the
  // specialised one up to the order of its double sums (one float ulp, as derived above).
  auto t = make_cpu_trainer(1);
  t->generate(spec_for(500, 3, 9));
  HostDataset ds = t->download();
  TrainOptions opt;
  opt.epochs = 2;
  const TrainResult plain = t->fit(opt);
  ds.weights.assign(static_cast<size_t>(ds.n), 1.0);
  t->load(ds, nullptr);
  const TrainResult ones = t->fit(opt);
  std::vector<double> a = to_double(plain.w), b = to_double(ones.w);
  a.push_back(plain.b);
  b.push_back(ones.b);
  EXPECT_TRUE(all_close(a, b, 0, FLT_EPSILON));
}

TEST(CpuTrainer, WeightedSgdReachesWeightedLeastSquares) {
  // Full-batch gradient descent on the weighted objective converges to the weighted least-squares
  // solution (least_squares.cpp, a different method). Standard normal features, weights 0.5 to
  // 4.5 (mean 2.5): the weighted Hessian (1/n)·Σ v_i [x_i 1][x_i 1]ᵀ has eigenvalues near 2.5
  // (about 2 to 3 at n = 400), so at lr 0.2 each step contracts the error by 1 − 0.2·λ ≤ 0.6 and
  // 500 steps leave none; what remains is the float32 rounding of the parameters and of the data
  // (≈ 1e-7 relative): 2e-5 absolute is an empirical margin.
  auto t = make_cpu_trainer(1);
  t->generate(spec_for(400, 3, 13));
  HostDataset ds = t->download();
  ds.weights.resize(static_cast<size_t>(ds.n));
  for (int64_t i = 0; i < ds.n; ++i) ds.weights[i] = 0.5 + static_cast<double>(i % 5);
  t->load(ds, nullptr);
  TrainOptions opt;
  opt.batch_size = ds.n;
  opt.epochs = 500;
  opt.lr = 0.2f;
  const TrainResult got = t->fit(opt);
  LeastSquaresOptions lo;
  lo.method = ExactMethod::Qr;
  lo.weights = &ds.weights;
  const LeastSquaresFit exact = linreg::least_squares(ds, lo);
  for (int64_t j = 0; j < ds.d; ++j) EXPECT_NEAR(got.w[j], exact.w[j], 2e-5) << j;
  EXPECT_NEAR(got.b, exact.b, 2e-5);
}

TEST(CpuTrainer, ThreadedStepsAreDeterministicAndMatchOneThread) {
  // batch·d ≥ 65536 takes the threaded path: each thread sums a fixed slice of the batch in
  // double and the slices are added in thread order. Same thread count → bit-identical. Against
  // one thread and against the plain-loop reference only the order of double sums differs, so
  // (as in SameTrajectoryAsPlainLoops) the parameters agree to one float ulp: rtol FLT_EPSILON.
  // The last batch (3000 = 2·1024 + 952) is short.
  SyntheticSpec spec = spec_for(3000, 128, 8);
  auto one = make_cpu_trainer(1), two = make_cpu_trainer(2), two_again = make_cpu_trainer(2);
  for (auto* t : {one.get(), two.get(), two_again.get()}) t->generate(spec);
  TrainOptions opt;
  opt.batch_size = 1024;
  opt.lr = 0.05f;
  opt.epochs = 3;
  const TrainResult a = one->fit(opt), b = two->fit(opt), c = two_again->fit(opt);
  EXPECT_EQ(b.w, c.w);
  EXPECT_EQ(b.b, c.b);
  std::vector<double> ap = to_double(a.w), bp = to_double(b.w);
  ap.push_back(a.b);
  bp.push_back(b.b);
  EXPECT_TRUE(all_close(ap, bp, 0, FLT_EPSILON));
  const HostDataset ds = two->download();
  const test::ReferenceRun ref = test::reference_sgd(ds, initial_weights(ds.d, opt.seed), opt.batch_size, opt.lr,
                                                     opt.epochs, opt.loss, host_perms(ds.n, opt.seed, opt.epochs));
  std::vector<double> rp = to_double(ref.w);
  rp.push_back(ref.b);
  EXPECT_TRUE(all_close(rp, bp, 0, FLT_EPSILON));
  EXPECT_NEAR(b.epoch_losses.back(), ref_dataset_loss(ds, b.w, b.b, opt.loss),
              ref_loss_error_bound(ds, b.w, b.b, opt.loss));
}

TEST(CpuTrainer, DivergenceStopsAtTheFirstNonFiniteEpoch) {
  // Library side of divergence: lr far past 2/λ_max makes the iterates blow up.
  SyntheticSpec spec = spec_for(1000, 2, 1);
  auto t = make_cpu_trainer();
  t->generate(spec);
  TrainOptions opt;
  opt.lr = 50.0f;
  opt.epochs = 50;
  const TrainResult r = t->fit(opt);
  EXPECT_TRUE(r.diverged);
  EXPECT_LT(r.epochs_run, 50);
  EXPECT_EQ(static_cast<int64_t>(r.epoch_losses.size()), r.epochs_run);
  EXPECT_FALSE(std::isfinite(r.epoch_losses.back()));
  // It stopped at the first non-finite loss (an infinite one counts, not only NaN).
  for (size_t e = 0; e + 1 < r.epoch_losses.size(); ++e) EXPECT_TRUE(std::isfinite(r.epoch_losses[e])) << e;

  // A run whose first non-finite loss is +inf, not NaN: x = 1 and y = 0 on every row, full
  // batches, so s = w + b is multiplied by 1 − 2·lr = −99 each step; when lr·s overflows float,
  // w and b both become the same infinity and the loss is +inf. The epoch after would be NaN
  // (inf − inf): stopping there instead is the bug this guards against.
  HostDataset ones;
  ones.n = 10;
  ones.d = 1;
  ones.X.assign(10, 1.0f);
  ones.y.assign(10, 0.0f);
  t->load(ones, nullptr);
  opt.batch_size = 10;
  opt.epochs = 100;
  const TrainResult inf_run = t->fit(opt);
  ASSERT_TRUE(inf_run.diverged);
  EXPECT_TRUE(std::isinf(inf_run.epoch_losses.back())) << inf_run.epoch_losses.back();
  for (size_t e = 0; e + 1 < inf_run.epoch_losses.size(); ++e) EXPECT_TRUE(std::isfinite(inf_run.epoch_losses[e])) << e;
}

TEST(CpuTrainer, ValidationSetIsEvaluatedEachEpoch) {
  // A validation set from the same model: its loss falls with training to the noise floor
  // (half-MSE of noise 0.01 is 5e-5; 1e-3 leaves room for three epochs' remaining error).
  const HostDataset train = generate_synthetic_host(spec_for(500, 3, 1));
  const HostDataset val = generate_synthetic_host(spec_for(100, 3, 2));
  auto t = make_cpu_trainer();
  t->load(train, &val);
  TrainOptions opt;
  opt.epochs = 10;
  const TrainResult r = t->fit(opt);
  ASSERT_EQ(r.epoch_val_losses.size(), 10u);
  EXPECT_LT(r.epoch_val_losses.back(), r.epoch_val_losses.front());
  EXPECT_LT(r.epoch_val_losses.back(), 1e-3);
}

TEST(CpuTrainer, ValidationLossesAreTheLossOnTheValidationRows) {
  // The validation rows come from a model whose bias is 1 higher than the training rows', so the
  // loss on the wrong rows (or in the wrong convention) is off by O(1), not by sampling noise.
  // Each epoch's two losses must be the reference loss (plain loops, reference_sgd.hpp) of the
  // parameters after that epoch — on the training rows and on the validation rows — within the
  // derived bound of a double sum (ref_loss_error_bound). The parameters after epoch e are those
  // of the same run stopped after e epochs (training is deterministic).
  const HostDataset train = generate_synthetic_host(spec_for(400, 3, 1));
  SyntheticSpec shifted = spec_for(90, 3, 2);
  shifted.true_b += 1.0f;
  const HostDataset val = generate_synthetic_host(shifted);
  for (LossKind kind : {LossKind::HalfMse, LossKind::Mse}) {
    auto t = make_cpu_trainer(1);
    t->load(train, &val);
    TrainOptions opt;
    opt.epochs = 3;
    opt.batch_size = 16;
    opt.loss = kind;
    std::vector<double> reported_val;
    const TrainResult r = t->fit(opt, [&](const EpochReport& rep) { reported_val.push_back(rep.val_loss); });
    ASSERT_EQ(r.epoch_val_losses.size(), 3u);
    EXPECT_EQ(reported_val, r.epoch_val_losses) << "the callback sees the recorded losses";
    for (int64_t e = 1; e <= opt.epochs; ++e) {
      TrainOptions upto = opt;
      upto.epochs = e;
      const TrainResult s = e == opt.epochs ? r : t->fit(upto);
      EXPECT_NEAR(r.epoch_val_losses[e - 1], ref_dataset_loss(val, s.w, s.b, kind),
                  ref_loss_error_bound(val, s.w, s.b, kind))
          << loss_name(kind) << " epoch " << e;
      EXPECT_NEAR(r.epoch_losses[e - 1], ref_dataset_loss(train, s.w, s.b, kind),
                  ref_loss_error_bound(train, s.w, s.b, kind))
          << loss_name(kind) << " epoch " << e;
    }
    // The two sets really differ: the validation loss carries the bias shift of 1 (loss c·1²/2),
    // at least half of it, while the training loss is far below.
    EXPECT_GT(r.epoch_val_losses.back(), 0.25 * test::ref_grad_factor(kind));
    EXPECT_LT(r.epoch_losses.back(), 0.1 * r.epoch_val_losses.back());
  }
  // Without a validation set there are no validation losses.
  auto t = make_cpu_trainer();
  t->load(train);
  TrainOptions opt;
  EXPECT_TRUE(t->fit(opt).epoch_val_losses.empty());
}

TEST(CpuTrainer, RejectsBadOptionsAndPermutations) {
  auto t = make_cpu_trainer();
  t->generate(spec_for(50, 2));
  TrainOptions opt;
  opt.batch_size = 51;
  EXPECT_THROW(t->fit(opt), InputError);
  opt.batch_size = 10;
  std::vector<std::vector<uint32_t>> bad(3, std::vector<uint32_t>(50, 0));
  bad[1][3] = 50;  // out of range
  EXPECT_THROW(t->fit_with_permutations(opt, bad), InputError);
  bad.resize(2);
  EXPECT_THROW(t->fit_with_permutations(opt, bad), InputError);
}

TEST(SyntheticData, IsDeterministicAndHasTheRightMoments) {
  const SyntheticSpec spec = spec_for(20000, 4, 123, 0.1f);
  const HostDataset a = generate_synthetic_host(spec), b = generate_synthetic_host(spec);
  EXPECT_EQ(a.X, b.X);
  EXPECT_EQ(a.y, b.y);
  double mean = 0, var = 0;
  for (float v : a.X) mean += v;
  mean /= static_cast<double>(a.X.size());
  for (float v : a.X) var += (v - mean) * (v - mean);
  var /= static_cast<double>(a.X.size());
  // 80000 N(0,1) draws: the mean's standard error is 0.0035, the variance's 0.005; 5 sigma.
  EXPECT_NEAR(mean, 0.0, 0.018);
  EXPECT_NEAR(var, 1.0, 0.025);
  // Residuals of the true model are the noise: std 0.1.
  double rs = 0;
  for (int64_t i = 0; i < a.n; ++i) {
    double yhat = spec.true_b;
    for (int64_t j = 0; j < a.d; ++j) yhat += static_cast<double>(a.X[i * a.d + j]) * spec.true_w[j];
    rs += (a.y[i] - yhat) * (a.y[i] - yhat);
  }
  EXPECT_NEAR(std::sqrt(rs / static_cast<double>(a.n)), 0.1, 0.004);
  const HostDataset c = generate_synthetic_host(spec_for(20000, 4, 124, 0.1f));
  EXPECT_NE(a.X, c.X);
}

// One N(0, 1) pair from two of cuRAND's uniforms, written out here: Box-Muller,
// z1 = √(−2 ln u1)·cos(2π u2), z2 = √(−2 ln u1)·sin(2π u2), in double.
std::pair<double, double> box_muller_pair(uint64_t seed, int64_t k) {
  const double u1 = curand_uniform_from_u32(curand_philox_u32_at(seed, static_cast<uint64_t>(k)));
  const double u2 = curand_uniform_from_u32(curand_philox_u32_at(seed, static_cast<uint64_t>(k + 1)));
  const double radius = std::sqrt(-2.0 * std::log(u1)), angle = 2.0 * M_PI * u2;
  return {radius * std::cos(angle), radius * std::sin(angle)};
}

TEST(SyntheticData, OddCountsUseTheWholeStream) {
  // n = 7, d = 2: X takes uniforms 0..13 (seven Box-Muller pairs) and the noise 14..20, an odd
  // count: the stream is rounded up to 22 so that the last noise value (uniform 20) is the first
  // half of a Box-Muller pair with uniform 21, like every other value. So each of X[k] and the
  // noise of row i (stream position 14 + i) is the Box-Muller transform of its pair of cuRAND
  // uniforms (philox.hpp's stream, pinned against cuRAND in test_philox.cpp), and
  // y_i = x_i·w + b + noise·z_{14+i}. The reference below is computed in double and rounded
  // once; the library rounds z to float before the label, so they agree to one float ulp of the
  // value (the label: of |y| plus one ulp of the noise term).
  const SyntheticSpec spec = spec_for(7, 2, 5);
  const HostDataset ds = generate_synthetic_host(spec);
  EXPECT_EQ(synthetic_uniform_count(7, 2), 22);
  EXPECT_EQ(synthetic_uniform_count(7, 3), 28);  // even already: nothing added
  ASSERT_EQ(ds.X.size(), 14u);
  ASSERT_EQ(ds.y.size(), 7u);
  std::vector<double> z(22);
  for (int64_t k = 0; k < 22; k += 2) std::tie(z[k], z[k + 1]) = box_muller_pair(spec.seed, k);
  for (int64_t k = 0; k < 14; ++k)
    EXPECT_NEAR(ds.X[k], z[k], float_ulp(static_cast<float>(z[k]))) << "X[" << k << "]";
  for (int64_t i = 0; i < 7; ++i) {
    const double noise = static_cast<double>(spec.noise) * z[14 + i];
    const double y = static_cast<double>(ds.X[i * 2]) * spec.true_w[0] + static_cast<double>(ds.X[i * 2 + 1]) * spec.true_w[1] +
                     spec.true_b + noise;
    const double tol = float_ulp(static_cast<float>(y)) + std::fabs(noise) * FLT_EPSILON;
    EXPECT_NEAR(ds.y[i], y, tol) << "y[" << i << "]" << (i == 6 ? " (the noise value that needs uniform 21)" : "");
  }
  // A longer request draws the same leading values (the stream does not depend on its length).
  const HostDataset longer = generate_synthetic_host(spec_for(8, 2, 5));
  EXPECT_TRUE(std::equal(ds.X.begin(), ds.X.end(), longer.X.begin()));
}

TEST(SyntheticData, ZeroNoiseIsAllowedAndGivesExactLabels) {
  // The boundary of the noise rule: 0 passes validation and gives y = x·w + b, rounded once.
  SyntheticSpec spec;
  spec.examples = 50;
  spec.features = 3;
  spec.noise = 0.0f;
  ASSERT_NO_THROW(validate_synthetic(spec));
  const HostDataset ds = generate_synthetic_host(spec);
  for (int64_t i = 0; i < ds.n; ++i) {
    double y = spec.true_b;
    for (int64_t j = 0; j < 3; ++j) y += static_cast<double>(ds.X[i * 3 + j]) * spec.true_w[j];
    EXPECT_NEAR(ds.y[i], y, float_ulp(static_cast<float>(y))) << i;
  }
  auto t = make_cpu_trainer();
  t->generate(spec);
  TrainOptions opt;
  opt.batch_size = 50;  // a batch as large as the data is allowed too
  opt.lr = 0.5f;
  opt.epochs = 200;
  const TrainResult r = t->fit(opt);
  EXPECT_FALSE(r.diverged);
  // Full-batch descent on noiseless data: the loss falls to float rounding of the parameters
  // (|r| ~ 1e-6, half-MSE ~ 1e-12); empirical bound 1e-10.
  EXPECT_LT(r.epoch_losses.back(), 1e-10);
}

TEST(HostPermutation, IsAPermutationThatChangesEachEpoch) {
  for (int64_t n : {1, 2, 31, 1000, 100003}) {
    std::vector<uint32_t> p(static_cast<size_t>(n)), q(static_cast<size_t>(n)), again(static_cast<size_t>(n));
    host_permutation(n, 42, 0, p.data());
    host_permutation(n, 42, 1, q.data());
    host_permutation(n, 42, 0, again.data());
    EXPECT_EQ(p, again);
    std::vector<uint32_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], static_cast<uint32_t>(i));
    if (n > 30) {
      EXPECT_NE(p, q);
    }
  }
}

TEST(InitialWeights, AreSmallSeededNormals) {
  const auto w = initial_weights(1001, 9);
  EXPECT_EQ(w, initial_weights(1001, 9));
  EXPECT_NE(w, initial_weights(1001, 10));
  double s2 = 0;
  for (float v : w) s2 += static_cast<double>(v) * v;
  EXPECT_NEAR(std::sqrt(s2 / 1001.0), 0.01, 0.0015);
}

TEST(Config, DefaultTrueWeights) {
  EXPECT_EQ(default_true_w(2), (std::vector<float>{2.0f, -3.4f}));
  const auto w = default_true_w(4);
  EXPECT_EQ(w, (std::vector<float>{-2.0f, -1.0f, 0.0f, 1.0f}));
}

TEST(Config, ParseFloatList) {
  EXPECT_EQ(parse_float_list("2,-3.4", "--true-w"), (std::vector<float>{2.0f, -3.4f}));
  EXPECT_EQ(parse_float_list(" 1e-3 , 5 ", "--true-w"), (std::vector<float>{1e-3f, 5.0f}));
  for (const char* bad : {"", "1,,2", "1,x", "nan", "1,inf", "1,", "1e999"}) {
    try {
      parse_float_list(bad, "--true-w");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--true-w"), std::string::npos) << e.what();
    }
  }
}

// Library code names the setting (and the command line maps it to its flag, as main() does).
TEST(Config, ValidationNamesTheSetting) {
  auto expect_flag = [](auto&& fn, const std::string& flag) {
    try {
      fn();
      ADD_FAILURE() << "no error for " << flag;
    } catch (const SettingError& e) {
      EXPECT_EQ(cli::flag_of_setting(e.setting()), flag) << e.what();
      EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << "a flag in a library message: " << e.what();
    }
  };
  expect_flag([] { SyntheticSpec s; s.examples = 0; validate_synthetic(s); }, "--examples");
  expect_flag([] { SyntheticSpec s; s.features = 0; validate_synthetic(s); }, "--features");
  expect_flag([] { SyntheticSpec s; s.noise = -1; validate_synthetic(s); }, "--noise");
  expect_flag([] { SyntheticSpec s; s.true_w = {1, 2, 3}; validate_synthetic(s); }, "--true-w");
  expect_flag([] { TrainOptions o; o.batch_size = 0; validate_train(o, 10); }, "--batch-size");
  expect_flag([] { TrainOptions o; o.batch_size = 11; validate_train(o, 10); }, "--batch-size");
  expect_flag([] { TrainOptions o; o.lr = -1; validate_train(o, 10); }, "--lr");
  expect_flag([] { TrainOptions o; o.lr = NAN; validate_train(o, 10); }, "--lr");
  expect_flag([] { TrainOptions o; o.lr = INFINITY; validate_train(o, 10); }, "--lr");
  expect_flag([] { TrainOptions o; o.epochs = 0; validate_train(o, 10); }, "--epochs");
}

// Both sides of every validation rule: the value on the edge that must pass, and the first one
// past it that must fail.
TEST(Config, EveryRulePassesOnItsEdge) {
  auto synthetic = [](auto&& edit) {
    SyntheticSpec s;
    edit(s);
    validate_synthetic(s);
    return s;
  };
  EXPECT_NO_THROW(synthetic([](SyntheticSpec& s) { s.noise = 0; }));  // the README allows zero noise
  EXPECT_THROW(synthetic([](SyntheticSpec& s) { s.noise = -FLT_TRUE_MIN; }), SettingError);
  EXPECT_THROW(synthetic([](SyntheticSpec& s) { s.noise = INFINITY; }), SettingError);
  EXPECT_THROW(synthetic([](SyntheticSpec& s) { s.noise = NAN; }), SettingError);
  EXPECT_NO_THROW(synthetic([](SyntheticSpec& s) { s.examples = 1; }));
  EXPECT_NO_THROW(synthetic([](SyntheticSpec& s) { s.examples = (int64_t{1} << 31) - 1; }));  // 32-bit row indices
  EXPECT_THROW(synthetic([](SyntheticSpec& s) { s.examples = int64_t{1} << 31; }), SettingError);
  EXPECT_NO_THROW(synthetic([](SyntheticSpec& s) { s.features = 1; s.true_w.clear(); }));
  EXPECT_NO_THROW(synthetic([](SyntheticSpec& s) { s.features = int64_t{1} << 20; }));
  EXPECT_THROW(synthetic([](SyntheticSpec& s) { s.features = (int64_t{1} << 20) + 1; }), SettingError);
  EXPECT_THROW(synthetic([](SyntheticSpec& s) { s.true_b = INFINITY; }), SettingError);
  EXPECT_NO_THROW(synthetic([](SyntheticSpec& s) { s.true_b = -FLT_MAX; }));
  EXPECT_THROW(synthetic([](SyntheticSpec& s) { s.true_w = {1.0f, NAN}; }), SettingError);
  EXPECT_NO_THROW(synthetic([](SyntheticSpec& s) { s.true_w = {FLT_MAX, -FLT_MAX}; }));
  // An empty true_w is filled with the default for the feature count.
  EXPECT_EQ(synthetic([](SyntheticSpec& s) { s.features = 4; }).true_w, default_true_w(4));

  auto train = [](auto&& edit, int64_t examples) {
    TrainOptions o;
    edit(o);
    validate_train(o, examples);
  };
  EXPECT_NO_THROW(train([](TrainOptions& o) { o.batch_size = 10; }, 10));  // a batch as large as the data
  EXPECT_THROW(train([](TrainOptions& o) { o.batch_size = 11; }, 10), SettingError);
  EXPECT_NO_THROW(train([](TrainOptions& o) { o.batch_size = 1; }, 1));
  EXPECT_THROW(train([](TrainOptions& o) { o.batch_size = 0; }, 1), SettingError);
  EXPECT_NO_THROW(train([](TrainOptions& o) { o.lr = FLT_TRUE_MIN; }, 10));  // any lr > 0
  EXPECT_THROW(train([](TrainOptions& o) { o.lr = 0; }, 10), SettingError);
  EXPECT_NO_THROW(train([](TrainOptions& o) { o.lr = FLT_MAX; }, 10));
  EXPECT_NO_THROW(train([](TrainOptions& o) { o.epochs = 1; }, 10));
  EXPECT_THROW(train([](TrainOptions& o) { o.epochs = 0; }, 10), SettingError);

  // The float-list parser: the largest magnitude it takes is 3.4e38 (just below FLT_MAX).
  EXPECT_EQ(parse_float_list("3.4e38,-3.4e38", "--true-w"), (std::vector<float>{3.4e38f, -3.4e38f}));
  EXPECT_THROW(parse_float_list("3.5e38", "--true-w"), InputError);
  EXPECT_EQ(parse_float_list("0", "--true-w"), (std::vector<float>{0.0f}));
}

}  // namespace
}  // namespace linreg
