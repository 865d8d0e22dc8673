// Sections 4 and 5 (autograd + float32 tensors) against the analytic CPU trainer (double
// gradient sums, one rounding per update) on the same data, initial weights and permutations.
//
// Tolerance, derived: the two runs differ only in rounding. Per SGD step the autograd path
// rounds (a) each residual r = ŷ − y, off by ≤ 2u·(|ŷ|+|y|) (u = FLT_EPSILON/2), which moves the
// update by ≤ lr·scale·2u·(|ŷ|+|y|)·‖x‖₁ per coordinate; (b) lr·g, ·/batch and p − Δ, ≤ 3u·|Δ| + u·|p|.
// SGD on this well-conditioned least-squares problem (lr·λmax ≪ 2) does not amplify earlier
// differences, so after T steps |Δp| ≤ T·(u·P + 3u·D + lr·scale·2u·(2Y)·X1), with P a bound on
// |p|, D on |Δ|, Y on |y| (|ŷ| ≈ |y|), X1 on ‖x‖₁. A worst case: actual differences are far smaller.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <memory>
#include <numeric>

#include "host/tutorial/tutorial.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"
#include "support.hpp"

namespace {

using linreg::HostDataset;
using linreg::LossKind;
using linreg::TrainOptions;
namespace tut = linreg::tutorial;

struct Case {
  int64_t n, d, batch, epochs;
  uint64_t seed;
};

double derived_tolerance(const HostDataset& ds, const TrainOptions& opt, double scale) {
  const double u = FLT_EPSILON / 2;
  double Y = 0, X1 = 0;
  for (int64_t i = 0; i < ds.n; ++i) {
    Y = std::max(Y, static_cast<double>(std::fabs(ds.y[static_cast<size_t>(i)])));
    double row = 0;
    for (int64_t j = 0; j < ds.d; ++j) row += std::fabs(ds.X[static_cast<size_t>(i * ds.d + j)]);
    X1 = std::max(X1, row);
  }
  const double P = 5;    // |w_j|, |b| ≤ 4.2 for these problems, with margin
  const double D = 1.0;  // |Δ| per step: lr·scale·|r|·‖x‖₁ stays far below 1 after the first steps
  const double steps = static_cast<double>(opt.epochs * ((ds.n + opt.batch_size - 1) / opt.batch_size));
  return steps * (u * P + 3 * u * D + opt.lr * scale * 2 * u * (2 * Y) * X1);
}

std::vector<std::vector<uint32_t>> perms_for(const tut::Permutations& p, int64_t n, int64_t epochs) {
  std::vector<std::vector<uint32_t>> out;
  for (int64_t e = 0; e < epochs; ++e) {
    const std::vector<int64_t> v = p(n, e);
    out.emplace_back(v.begin(), v.end());
  }
  return out;
}

void compare(const Case& c, LossKind kind) {
  linreg::SyntheticSpec spec = tut::lab_spec(c.seed);
  spec.examples = c.n;
  spec.features = c.d;
  spec.true_w = c.d == 2 ? std::vector<float>{2.0f, -3.4f} : linreg::default_true_w(c.d);
  const HostDataset ds = linreg::generate_synthetic_host(spec);
  TrainOptions opt;
  opt.batch_size = c.batch;
  opt.lr = 0.03f;
  opt.epochs = c.epochs;
  opt.seed = c.seed;
  opt.loss = kind;
  const tut::Permutations perms = tut::trainer_permutations(c.seed);

  const tut::FitResult got = kind == LossKind::HalfMse ? tut::train_from_scratch(ds, opt, perms)
                                                       : tut::train_concise(ds, opt, perms);
  std::unique_ptr<linreg::Trainer> cpu = linreg::make_cpu_trainer();
  cpu->load(ds);
  const linreg::TrainResult ref = cpu->fit_with_permutations(opt, perms_for(perms, c.n, c.epochs));

  const double tol = derived_tolerance(ds, opt, linreg::grad_scale(kind));
  std::vector<double> ref_p = linreg::test::to_double(ref.w), got_p = linreg::test::to_double(got.w);
  ref_p.push_back(ref.b);
  got_p.push_back(got.b);
  const ::testing::AssertionResult params = linreg::test::all_close(ref_p, got_p, tol, 0);
  EXPECT_TRUE(params) << "n " << c.n << " d " << c.d << " batch " << c.batch;
  ::testing::Test::RecordProperty("parameters", params.message());

  // The printed per-epoch loss: float32 element-wise vs the trainer's double evaluation at the
  // autograd's own parameters. Each residual (|r| ≳ noise 0.01) carries ≤ 2u·(|ŷ|+|y|) of
  // rounding, so r² is off by a relative 4u·2Y/|r|; 1e-3 covers Y ≤ 15 for |r| ≥ 0.005.
  ASSERT_EQ(got.epoch_losses.size(), static_cast<size_t>(c.epochs));
  EXPECT_TRUE(linreg::test::all_close({cpu->loss(got.w, got.b, kind)}, {got.epoch_losses.back()}, 0, 1e-3));
  // And the two runs learned the same thing: their losses agree closely too.
  EXPECT_TRUE(linreg::test::all_close(ref.epoch_losses, got.epoch_losses, 0, 1e-2));
}

TEST(TutorialTraining, ScratchMatchesCpuTrainerOnTheLabProblem) { compare({1000, 2, 10, 3, 42}, LossKind::HalfMse); }

TEST(TutorialTraining, ScratchMatchesCpuTrainerWithShortLastBatch) { compare({1003, 5, 10, 2, 7}, LossKind::HalfMse); }

TEST(TutorialTraining, ConciseMatchesCpuTrainerOnTheLabProblem) { compare({1000, 2, 10, 3, 42}, LossKind::Mse); }

TEST(TutorialTraining, ConciseMatchesCpuTrainerWithShortLastBatch) { compare({257, 3, 32, 3, 11}, LossKind::Mse); }

TEST(TutorialTraining, ScratchRecoversTheTrueParameters) {
  const HostDataset ds = linreg::generate_synthetic_host(tut::lab_spec(42));
  TrainOptions opt;
  const tut::FitResult r = tut::train_from_scratch(ds, opt, tut::trainer_permutations(42));
  // After 3 epochs the lab reaches the noise floor: errors of a few 1e-4 (noise 0.01, n 1000).
  EXPECT_NEAR(r.w[0], 2.0, 5e-3);
  EXPECT_NEAR(r.w[1], -3.4, 5e-3);
  EXPECT_NEAR(r.b, 4.2, 5e-3);
  EXPECT_LT(r.epoch_losses.back(), 1e-4);  // half-MSE ≈ 0.01²/2
}

}  // namespace
