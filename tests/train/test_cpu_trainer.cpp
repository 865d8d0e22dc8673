// The CPU trainer: the lab's problem, convergence to least squares, analytic gradients against
// finite differences, short last batches, determinism, and the config/data pieces it rests on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <set>

#include "host/core/config.hpp"
#include "host/core/dataset.hpp"
#include "host/core/error.hpp"
#include "host/core/formulas.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"
#include "host/cli/commands.hpp"
#include "support.hpp"

namespace linreg {
namespace {

using test::all_close;
using test::to_double;

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

// Plain-loop SGD in double arithmetic over the given permutations: the reference the trainer's
// optimised loops must follow (same minibatches, same rounding of each update to float).
TrainResult reference_sgd(const HostDataset& ds, const TrainOptions& opt, const std::vector<std::vector<uint32_t>>& perms) {
  TrainResult r;
  r.w = initial_weights(ds.d, opt.seed);
  r.b = 0;
  const double scale = grad_scale(opt.loss);
  for (int64_t e = 0; e < opt.epochs; ++e) {
    for (int64_t s = 0; s < ds.n; s += opt.batch_size) {
      const int64_t cnt = std::min(opt.batch_size, ds.n - s);
      std::vector<double> g(static_cast<size_t>(ds.d), 0.0);
      double gb = 0;
      for (int64_t k = 0; k < cnt; ++k) {
        const uint32_t row = perms[e][s + k];
        double yhat = r.b;
        for (int64_t j = 0; j < ds.d; ++j) yhat += static_cast<double>(ds.X[row * ds.d + j]) * r.w[j];
        const double res = yhat - ds.y[row];
        for (int64_t j = 0; j < ds.d; ++j) g[j] += res * ds.X[row * ds.d + j];
        gb += res;
      }
      for (int64_t j = 0; j < ds.d; ++j) r.w[j] = sgd_step(r.w[j], g[j], opt.lr, scale, cnt);
      r.b = sgd_step(r.b, gb, opt.lr, scale, cnt);
    }
    double loss = 0;
    for (int64_t i = 0; i < ds.n; ++i) {
      double yhat = r.b;
      for (int64_t j = 0; j < ds.d; ++j) yhat += static_cast<double>(ds.X[i * ds.d + j]) * r.w[j];
      loss += loss_term(yhat - ds.y[i], opt.loss);
    }
    r.epoch_losses.push_back(loss / static_cast<double>(ds.n));
  }
  return r;
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
};

class CpuTrainerLeastSquares : public ::testing::TestWithParam<LsCase> {};

TEST_P(CpuTrainerLeastSquares, FullBatchMatchesNormalEquations) {
  // With batch = n, SGD is gradient descent on a strongly convex quadratic and
  // converges linearly to the least-squares solution; after enough epochs only float rounding
  // of the parameters remains: a few ulps of |θ| (≤ 4 here), so atol 1e-5.
  const auto [n, d] = GetParam();
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
  EXPECT_TRUE(all_close(theta, got, 1e-5, 1e-6));
}

TEST_P(CpuTrainerLeastSquares, MinibatchEndsNearLeastSquares) {
  // Minibatch SGD with a constant step keeps fluctuating around the optimum with an amplitude
  // of order sqrt(lr)·σ·(d+1)/sqrt(batch) (empirical bound here: 0.02 for σ = 0.5, lr 0.01).
  const auto [n, d] = GetParam();
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
  EXPECT_TRUE(all_close(theta, got, 0.02, 0.0));
}

INSTANTIATE_TEST_SUITE_P(Shapes, CpuTrainerLeastSquares,
                         ::testing::Values(LsCase{200, 1}, LsCase{1000, 2}, LsCase{1500, 3}, LsCase{2000, 16},
                                           LsCase{3000, 5}, LsCase{4000, 64}),
                         [](const auto& info) {
                           return "n" + std::to_string(info.param.n) + "_d" + std::to_string(info.param.d);
                         });

class CpuGradient : public ::testing::TestWithParam<int64_t> {};

TEST_P(CpuGradient, MatchesCentralFiniteDifferences) {
  // The loss is quadratic in (w, b), so a central difference is exact up to
  // rounding: with h = 1e-3 the error is ~ eps_double·|L|/h ≈ 1e-12; we allow 1e-7 relative.
  const int64_t d = GetParam();
  SyntheticSpec spec = spec_for(257, d, 99, 0.3f);
  const HostDataset ds = generate_synthetic_host(spec);
  std::vector<uint32_t> rows(37);
  for (size_t k = 0; k < rows.size(); ++k) rows[k] = static_cast<uint32_t>((k * 53 + 11) % ds.n);
  std::vector<float> w = initial_weights(d, 5);
  for (auto& v : w) v += 0.25f;  // away from zero
  const float b = 0.75f;
  for (LossKind kind : {LossKind::HalfMse, LossKind::Mse}) {
    std::vector<double> gw;
    double gb = 0;
    cpu_batch_gradient(ds, rows.data(), static_cast<int64_t>(rows.size()), w, b, kind, gw, gb);
    // Batch loss in double at (w + δ e_j, b).
    auto batch_loss = [&](const std::vector<double>& wd, double bd) {
      double s = 0;
      for (uint32_t row : rows) {
        double yhat = bd;
        for (int64_t j = 0; j < d; ++j) yhat += static_cast<double>(ds.X[row * d + j]) * wd[j];
        s += loss_term(yhat - ds.y[row], kind);
      }
      return s / static_cast<double>(rows.size());
    };
    const double h = 1e-3;
    std::vector<double> wd(w.begin(), w.end()), fd(static_cast<size_t>(d + 1));
    for (int64_t j = 0; j < d; ++j) {
      auto wp = wd, wm = wd;
      wp[j] += h;
      wm[j] -= h;
      fd[j] = (batch_loss(wp, b) - batch_loss(wm, b)) / (2 * h);
    }
    fd[d] = (batch_loss(wd, b + h) - batch_loss(wd, b - h)) / (2 * h);
    gw.push_back(gb);
    EXPECT_TRUE(all_close(fd, gw, 1e-9, 1e-7)) << loss_name(kind);
  }
}

INSTANTIATE_TEST_SUITE_P(Features, CpuGradient, ::testing::Values(1, 2, 3, 4, 5, 8, 16, 31, 64));

struct RefCase {
  int64_t n, d, batch;
  LossKind loss;
};

class CpuTrainerVsReference : public ::testing::TestWithParam<RefCase> {};

TEST_P(CpuTrainerVsReference, SameTrajectoryAsPlainLoops) {
  // n not a multiple of the batch (the last batch divides by its true size),
  // for every inner-loop specialisation. Both sides sum in double and round each update once;
  // only the order of the double sums differs (16 lanes vs one): ≤ B·eps_double relative per
  // gradient, far below float rounding, so parameters agree to a few float ulps.
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
  const TrainResult ref = reference_sgd(ds, opt, perms);
  std::vector<double> gp = to_double(got.w), rp = to_double(ref.w);
  gp.push_back(got.b);
  rp.push_back(ref.b);
  EXPECT_TRUE(all_close(rp, gp, 4 * FLT_EPSILON, 8 * FLT_EPSILON));
  EXPECT_TRUE(all_close(ref.epoch_losses, got.epoch_losses, 1e-12, 1e-5));
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

TEST(CpuTrainer, ThreadedStepsAreDeterministicAndMatchOneThread) {
  // batch·d ≥ 65536 takes the threaded path. Same thread count → bit-identical; one vs two
  // threads differ only in the order of double sums → a few float ulps.
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
  EXPECT_TRUE(all_close(ap, bp, 4 * FLT_EPSILON, 8 * FLT_EPSILON));
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
}

TEST(CpuTrainer, ValidationSetIsEvaluatedEachEpoch) {
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

TEST(SyntheticData, OddCountsUseTheWholeStream) {
  // n·d + n odd: the uniform stream is rounded up to even; every value is finite.
  const HostDataset ds = generate_synthetic_host(spec_for(7, 2, 5));
  EXPECT_EQ(synthetic_uniform_count(7, 2), 22);
  EXPECT_EQ(ds.X.size(), 14u);
  for (float v : ds.X) EXPECT_TRUE(std::isfinite(v));
  for (float v : ds.y) EXPECT_TRUE(std::isfinite(v));
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

}  // namespace
}  // namespace linreg
