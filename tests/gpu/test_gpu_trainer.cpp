// The GPU trainer against the CPU trainer (same data, same permutations) for every strategy and
// both fused kernels: per-epoch losses and parameters within the derived bound of
// gpu_test_util.hpp; determinism (bit for bit); device shuffles equal to host_permutation inside
// the trainer; capped CUDA graphs equal to uncapped ones bit for bit; the persistent kernel over
// several staged chunks; the lab's problem; divergence; validation set and loss(), up to 8192
// features. Skipped with a reason when no GPU is usable.
#if LINREG_HAVE_CUDA

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/gpu/gpu_trainer.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"
#include "kernels/launch_limits.hpp"
#include "tests/gpu/gpu_test_util.hpp"

namespace linreg {
namespace {

using gputest::host_perms;
using gputest::param_distance;
using gputest::reference_trajectory;

struct Shape {
  int64_t n, d, batch, epochs;
  LossKind loss;
};

std::string shape_name(const Shape& s) {
  return std::to_string(s.n) + "x" + std::to_string(s.d) + "_b" + std::to_string(s.batch) + "_e" +
         std::to_string(s.epochs) + (s.loss == LossKind::Mse ? "_mse" : "_halfmse");
}

const Strategy kStrategies[] = {Strategy::Cublas, Strategy::Fused, Strategy::Persistent};

// A strategy with, for fused, the kernel it runs.
struct Variant {
  Strategy strategy;
  kern::FusedKernel kernel;
};
const Variant kVariants[] = {{Strategy::Cublas, kern::FusedKernel::Tiled},
                             {Strategy::Fused, kern::FusedKernel::Tiled},
                             {Strategy::Fused, kern::FusedKernel::RowGroups},
                             {Strategy::Persistent, kern::FusedKernel::Tiled}};

std::string variant_name(const Variant& v) {
  return std::string(strategy_name(v.strategy)) +
         (v.strategy == Strategy::Fused ? std::string(" (") + kern::fused_kernel_name(v.kernel) + ")" : "");
}

GpuTuning tuning_for(kern::FusedKernel k) {
  GpuTuning t;
  t.fused_kernel = k;
  return t;
}

SyntheticSpec spec_for(const Shape& s, uint64_t seed) {
  SyntheticSpec spec;
  spec.examples = s.n;
  spec.features = s.d;
  spec.noise = 0.5f;  // residuals stay O(1): a wrong row, batch size or step shows far above the bound
  spec.seed = seed;
  validate_synthetic(spec);
  return spec;
}

// GPU (every strategy that takes the shape) vs CPU on identical data and permutations.
class GpuVsCpu : public ::testing::TestWithParam<Shape> {};

// Runs every variant that takes the shape against the CPU trainer; returns how many ran.
int check_against_cpu(const Shape& s, const Variant* variants, size_t count) {
  auto gpu = create_gpu_trainer(0);
  gpu->generate(spec_for(s, 1234));
  const HostDataset ds = gpu->download();  // exactly the GPU's data, so only the SGD differs
  auto gpu_rows = create_gpu_trainer(0, tuning_for(kern::FusedKernel::RowGroups));
  gpu_rows->load(ds);
  auto cpu = make_cpu_trainer();
  cpu->load(ds);

  TrainOptions opt;
  opt.batch_size = s.batch;
  opt.epochs = s.epochs;
  opt.lr = 0.03f;
  opt.loss = s.loss;
  opt.seed = 99;
  const auto perms = host_perms(s.n, opt.seed, s.epochs);
  const TrainResult ref_cpu = cpu->fit_with_permutations(opt, perms);
  EXPECT_EQ(ref_cpu.epochs_run, s.epochs);
  if (ref_cpu.epochs_run != s.epochs) return 0;

  int ran = 0;
  for (size_t vi = 0; vi < count; ++vi) {
    const Variant& v = variants[vi];
    const Strategy st = v.strategy;
    if (!strategy_supported(st, s.d, s.batch)) continue;
    ++ran;
    opt.strategy = st;
    Trainer& trainer = (st == Strategy::Fused && v.kernel == kern::FusedKernel::RowGroups) ? *gpu_rows : *gpu;
    const TrainResult got = trainer.fit_with_permutations(opt, perms);
    SCOPED_TRACE("strategy " + variant_name(v));
    EXPECT_EQ(got.epochs_run, s.epochs);
    EXPECT_FALSE(got.diverged);
    if (got.epochs_run != s.epochs) continue;
    const auto model = st == Strategy::Cublas ? gputest::cublas_model() : gputest::double_model();
    const auto bound = reference_trajectory(ds, opt, perms, model, gputest::double_model());
    // 1.25: margin for the first-order terms of the bound (magnitudes taken on the reference).
    for (int64_t e = 0; e < s.epochs; ++e) {
      const double tol = 1.25 * bound.loss_tol[static_cast<size_t>(e)];
      EXPECT_LE(std::fabs(got.epoch_losses[e] - ref_cpu.epoch_losses[e]), tol)
          << "epoch " << e + 1 << ": gpu " << got.epoch_losses[e] << " cpu " << ref_cpu.epoch_losses[e]
          << " reference " << bound.losses[e];
    }
    const double dist = param_distance(got.w, got.b, ref_cpu.w, ref_cpu.b);
    const double tol_p = 1.25 * bound.param_tol.back();
    EXPECT_LE(dist, tol_p) << "‖p_gpu − p_cpu‖₂ = " << dist << ", bound " << tol_p << " ("
                           << (tol_p > 0 ? dist / tol_p * 100 : 0) << "% used); b gpu " << got.b << " cpu "
                           << ref_cpu.b;
    // The CPU trainer and the in-test reference both sum in double: a failure above that also
    // shows here points at the GPU; one that does not points at the CPU side.
    EXPECT_LE(param_distance(got.w, got.b, bound.w, bound.b), tol_p) << "GPU vs in-test double reference";
  }
  return ran;
}

TEST_P(GpuVsCpu, TrajectoriesAgreeWithinDerivedBound) {
  LINREG_REQUIRE_GPU();
  const Shape s = GetParam();
  const int ran = check_against_cpu(s, kVariants, std::size(kVariants));
  EXPECT_GE(ran, 1) << "cublas takes every shape";
  if (s.d <= kern::kMaxFusedFeatures) {
    EXPECT_GE(ran, 3) << "cublas and both fused kernels take every shape up to 512 features";
  }
}

// Sizes after STYLE.md: 1, 31/32/33, 255/256/257, 1023/1024/1025, an odd prime, a large case;
// n not a multiple of the batch in most rows (last minibatch short: 1025 % 256 = 1).
INSTANTIATE_TEST_SUITE_P(GpuShapes, GpuVsCpu,
                         ::testing::Values(Shape{1, 1, 1, 3, LossKind::HalfMse}, Shape{31, 2, 10, 3, LossKind::HalfMse},
                                           Shape{32, 2, 32, 3, LossKind::Mse}, Shape{33, 3, 32, 3, LossKind::HalfMse},
                                           Shape{255, 5, 16, 2, LossKind::Mse}, Shape{256, 2, 10, 2, LossKind::HalfMse},
                                           Shape{257, 33, 32, 2, LossKind::HalfMse},
                                           Shape{1023, 16, 64, 2, LossKind::HalfMse},
                                           Shape{1024, 8, 100, 2, LossKind::Mse},
                                           Shape{1025, 4, 256, 3, LossKind::HalfMse},
                                           Shape{4099, 7, 100, 2, LossKind::HalfMse},
                                           Shape{2053, 64, 256, 2, LossKind::Mse},
                                           Shape{2053, 256, 512, 2, LossKind::HalfMse},
                                           Shape{1031, 600, 128, 1, LossKind::HalfMse},  // cublas only past 512
                                           Shape{257, 1000, 64, 1, LossKind::HalfMse},   // --features 1000
                                           Shape{100003, 2, 10, 1, LossKind::HalfMse}),
                         [](const ::testing::TestParamInfo<Shape>& i) { return shape_name(i.param); });

// The persistent kernel over several staged chunks (its double buffering: warps 1..7 fill one
// buffer while warp 0 steps through the other), and the fused kernels on the same shapes: the
// shapes scripts/gpu-check.sh runs under compute-sanitizer's racecheck.
class GpuRaceShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(GpuRaceShapes, PersistentAndFusedMatchCpu) {
  LINREG_REQUIRE_GPU();
  const Shape s = GetParam();
  EXPECT_LT(kern::persistent_chunk_rows(s.d, s.batch, kern::kHopperSmem), s.n) << "meant to span several chunks";
  const Variant v[] = {{Strategy::Persistent, kern::FusedKernel::Tiled},
                       {Strategy::Fused, kern::FusedKernel::Tiled},
                       {Strategy::Fused, kern::FusedKernel::RowGroups}};
  EXPECT_EQ(check_against_cpu(s, v, std::size(v)), 3);
}

INSTANTIATE_TEST_SUITE_P(GpuRace, GpuRaceShapes,
                         ::testing::Values(Shape{1023, 16, 64, 2, LossKind::HalfMse},
                                           Shape{4099, 7, 100, 2, LossKind::Mse},
                                           Shape{100003, 2, 10, 1, LossKind::HalfMse}),
                         [](const ::testing::TestParamInfo<Shape>& i) { return shape_name(i.param); });

bool same_bits(const TrainResult& a, const TrainResult& b) {
  if (a.w.size() != b.w.size() || a.epoch_losses.size() != b.epoch_losses.size()) return false;
  return std::memcmp(a.w.data(), b.w.data(), a.w.size() * sizeof(float)) == 0 &&
         std::memcmp(&a.b, &b.b, sizeof(float)) == 0 &&
         std::memcmp(a.epoch_losses.data(), b.epoch_losses.data(), a.epoch_losses.size() * sizeof(double)) == 0;
}

// Two runs with one seed give the same bits; and fit() (device shuffles) equals
// fit_with_permutations(host_permutation) bit for bit, which ties the device shuffle to the host's.
TEST(GpuTrainer, DeterministicAndDeviceShuffleMatchesHost) {
  LINREG_REQUIRE_GPU();
  const Shape shapes[] = {{1000, 2, 10, 3, LossKind::HalfMse}, {20011, 16, 1024, 2, LossKind::HalfMse},
                          {40009, 256, 4096, 2, LossKind::Mse}};
  for (const Shape& s : shapes) {
    for (const Variant& v : kVariants) {
      if (!strategy_supported(v.strategy, s.d, s.batch)) continue;
      auto gpu = create_gpu_trainer(0, tuning_for(v.kernel));
      gpu->generate(spec_for(s, 5));
      TrainOptions opt;
      opt.batch_size = s.batch;
      opt.epochs = s.epochs;
      opt.loss = s.loss;
      opt.seed = 2024;
      opt.strategy = v.strategy;
      const TrainResult r1 = gpu->fit(opt);
      const TrainResult r2 = gpu->fit(opt);
      const TrainResult r3 = gpu->fit_with_permutations(opt, host_perms(s.n, opt.seed, s.epochs));
      SCOPED_TRACE(shape_name(s) + " strategy " + variant_name(v));
      EXPECT_TRUE(same_bits(r1, r2)) << "two runs differ";
      EXPECT_TRUE(same_bits(r1, r3)) << "device shuffle differs from host_permutation";
    }
  }
}

// The fused strategy's graphs capped at a few nodes (many chunk replays, each after a copy of its
// slice of the permutation) give the same bits as the default cap, for both kernels and for
// epochs whose last step is short (1023 rows) or full (1000).
TEST(GpuTrainer, CappedGraphsAreBitIdentical) {
  LINREG_REQUIRE_GPU();
  for (const Shape& s : {Shape{1023, 16, 10, 2, LossKind::HalfMse}, Shape{1000, 40, 10, 2, LossKind::Mse}}) {
    for (kern::FusedKernel k : {kern::FusedKernel::Tiled, kern::FusedKernel::RowGroups}) {
      TrainOptions opt;
      opt.batch_size = s.batch;
      opt.epochs = s.epochs;
      opt.loss = s.loss;
      opt.strategy = Strategy::Fused;
      const GpuTuning base = tuning_for(k);
      auto ref_trainer = create_gpu_trainer(0, base);
      ref_trainer->generate(spec_for(s, 17));
      const TrainResult ref = ref_trainer->fit(opt);
      for (int64_t cap : {2, 3, 16, 101}) {
        GpuTuning t = base;
        t.graph_max_nodes = cap;
        auto gpu = create_gpu_trainer(0, t);
        gpu->generate(spec_for(s, 17));
        const TrainResult got = gpu->fit(opt);
        EXPECT_TRUE(same_bits(ref, got)) << shape_name(s) << " kernel " << kern::fused_kernel_name(k) << " cap " << cap;
      }
    }
  }
}

// The lab's problem on every strategy.
TEST(GpuTrainer, LabProblemConverges) {
  LINREG_REQUIRE_GPU();
  auto gpu = create_gpu_trainer(0);
  SyntheticSpec spec;  // 1000 × 2, w = [2, −3.4], b = 4.2, noise 0.01
  validate_synthetic(spec);
  gpu->generate(spec);
  EXPECT_FALSE(gpu->device_name().empty());
  EXPECT_EQ(gpu->backend(), "cuda");
  for (Strategy st : {Strategy::Auto, Strategy::Cublas, Strategy::Fused, Strategy::Persistent}) {
    TrainOptions opt;  // batch 10, lr 0.03, 3 epochs
    opt.strategy = st;
    const TrainResult r = gpu->fit(opt);
    SCOPED_TRACE("strategy " + r.strategy);
    if (st == Strategy::Auto) {
      EXPECT_EQ(r.strategy, "persistent");
    }
    ASSERT_EQ(r.epoch_losses.size(), 3u);
    EXPECT_LT(r.epoch_losses.back(), 1e-4);
    EXPECT_NEAR(r.w[0], 2.0, 5e-3);
    EXPECT_NEAR(r.w[1], -3.4, 5e-3);
    EXPECT_NEAR(r.b, 4.2, 5e-3);
    EXPECT_GT(r.train_seconds, 0.0);
    EXPECT_GT(r.eval_seconds, 0.0);
  }
}

TEST(GpuTrainer, AutoRule) {
  // Pure host logic (the full sweep is in tests/kernels/test_launch_limits.cpp); these are the
  // module's entry points to it.
  EXPECT_EQ(choose_strategy(1000, 2, 10), Strategy::Persistent);
  EXPECT_EQ(choose_strategy(100000, 2, 10), Strategy::Persistent);
  EXPECT_EQ(choose_strategy(1000000, 16, 1024), Strategy::Fused);
  EXPECT_EQ(choose_strategy(1000000, 256, 4096), Strategy::Fused);
  EXPECT_EQ(choose_strategy(10000000, 256, 65536), Strategy::Fused);
  EXPECT_EQ(choose_strategy(10000, 1000, 100), Strategy::Cublas);
  EXPECT_FALSE(strategy_supported(Strategy::Persistent, 17, 10));
  EXPECT_FALSE(strategy_supported(Strategy::Fused, 513, 10));
}

// Divergence: a huge lr makes the loss non-finite; training stops at that epoch on every strategy,
// at the same epoch as the CPU trainer.
TEST(GpuTrainer, DivergenceStopsAtFirstNonFiniteEpoch) {
  LINREG_REQUIRE_GPU();
  const Shape s{1000, 2, 10, 20, LossKind::HalfMse};
  auto gpu = create_gpu_trainer(0);
  gpu->generate(spec_for(s, 3));
  auto cpu = make_cpu_trainer();
  cpu->load(gpu->download());
  TrainOptions opt;
  opt.batch_size = s.batch;
  opt.epochs = s.epochs;
  opt.lr = 1e4f;
  const auto perms = host_perms(s.n, opt.seed, s.epochs);
  const TrainResult c = cpu->fit_with_permutations(opt, perms);
  ASSERT_TRUE(c.diverged);
  for (Strategy st : kStrategies) {
    opt.strategy = st;
    const TrainResult g = gpu->fit_with_permutations(opt, perms);
    SCOPED_TRACE("strategy " + g.strategy);
    EXPECT_TRUE(g.diverged);
    ASSERT_EQ(static_cast<int64_t>(g.epoch_losses.size()), g.epochs_run);
    EXPECT_FALSE(std::isfinite(g.epoch_losses.back()));
    for (size_t e = 0; e + 1 < g.epoch_losses.size(); ++e) EXPECT_TRUE(std::isfinite(g.epoch_losses[e]));
    EXPECT_LT(g.epochs_run, s.epochs);
  }
}

// load() with a validation set: per-epoch validation losses; loss() on the device equals the host's
// double evaluation within the evaluation bound (same parameters: only rounding differs).
TEST(GpuTrainer, ValidationAndLossEvaluation) {
  LINREG_REQUIRE_GPU();
  // Up to 8192 features: the evaluation's shared memory no longer grows with d.
  for (const Shape& s : {Shape{1025, 3, 32, 2, LossKind::HalfMse}, Shape{777, 600, 64, 2, LossKind::Mse},
                         Shape{400, 766, 64, 1, LossKind::HalfMse}, Shape{301, 8192, 64, 1, LossKind::Mse}}) {
    SCOPED_TRACE(shape_name(s));
    const HostDataset train = generate_synthetic_host(spec_for(s, 11));
    Shape vs = s;
    vs.n = 301;
    const HostDataset val = generate_synthetic_host(spec_for(vs, 12));
    auto gpu = create_gpu_trainer(0);
    gpu->load(train, &val);
    EXPECT_EQ(gpu->examples(), s.n);
    EXPECT_EQ(gpu->features(), s.d);
    TrainOptions opt;
    opt.batch_size = s.batch;
    opt.epochs = s.epochs;
    opt.loss = s.loss;
    opt.strategy = Strategy::Cublas;
    const TrainResult r = gpu->fit(opt);
    ASSERT_EQ(r.epoch_val_losses.size(), static_cast<size_t>(s.epochs));
    double gn = 0, err = 0, trace = 0;
    const double host_val = gputest::loss_and_grad_norm(val, r.w, r.b, s.loss, &gn, &err, &trace);
    EXPECT_LE(std::fabs(r.epoch_val_losses.back() - host_val), 2 * err);
    const double host_train = gputest::loss_and_grad_norm(train, r.w, r.b, s.loss, &gn, &err, &trace);
    EXPECT_LE(std::fabs(r.epoch_losses.back() - host_train), 2 * err);
    EXPECT_LE(std::fabs(gpu->loss(r.w, r.b, s.loss) - host_train), 2 * err);
    // download() returns what load() copied in.
    const HostDataset back = gpu->download();
    EXPECT_EQ(back.X, train.X);
    EXPECT_EQ(back.y, train.y);
  }
}

TEST(GpuTrainer, RejectsBadInput) {
  LINREG_REQUIRE_GPU();
  auto gpu = create_gpu_trainer(0);
  TrainOptions opt;
  EXPECT_THROW(gpu->fit(opt), InputError);  // no data
  gpu->generate(spec_for(Shape{100, 20, 10, 1, LossKind::HalfMse}, 1));
  opt.strategy = Strategy::Persistent;  // d = 20 > 16
  EXPECT_THROW(gpu->fit(opt), InputError);
  opt.strategy = Strategy::Cublas;
  std::vector<std::vector<uint32_t>> perms(1, std::vector<uint32_t>(100, 0));
  perms[0][5] = 100;  // out of range
  opt.epochs = 1;
  EXPECT_THROW(gpu->fit_with_permutations(opt, perms), InputError);
}

// LINREG_FUSED_KERNEL picks the fused kernel for `linreg` (host logic: runs without a GPU).
TEST(GpuTuning, FusedKernelFromEnvironment) {
  const char* old = std::getenv("LINREG_FUSED_KERNEL");
  const std::string saved = old ? old : "";
  ::unsetenv("LINREG_FUSED_KERNEL");
  EXPECT_EQ(gpu_tuning_from_environment().fused_kernel, kern::FusedKernel::Tiled);
  EXPECT_EQ(gpu_tuning_from_environment().graph_max_nodes, gpu_rule::kGraphMaxNodes);
  ::setenv("LINREG_FUSED_KERNEL", "rowgroups", 1);
  EXPECT_EQ(gpu_tuning_from_environment().fused_kernel, kern::FusedKernel::RowGroups);
  ::setenv("LINREG_FUSED_KERNEL", "tiled", 1);
  EXPECT_EQ(gpu_tuning_from_environment().fused_kernel, kern::FusedKernel::Tiled);
  ::setenv("LINREG_FUSED_KERNEL", "fast", 1);
  EXPECT_THROW(gpu_tuning_from_environment(), InputError);
  if (old) {
    ::setenv("LINREG_FUSED_KERNEL", saved.c_str(), 1);
  } else {
    ::unsetenv("LINREG_FUSED_KERNEL");
  }
}

}  // namespace
}  // namespace linreg

#endif  // LINREG_HAVE_CUDA
