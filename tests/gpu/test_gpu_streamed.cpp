// Streamed SGD on the GPU (host/gpu/streamed_trainer.hpp): chunks through pinned double buffers
// (or straight from pinned host memory) take the in-memory GPU trainer's rules steps on the
// two-level order bit for bit, whatever the chunk size against the batch; the epoch losses agree
// with the in-memory evaluation to the rounding of a sum of per-chunk sums; and plain SGD matches
// the CPU's streamed trainer within float32 rounding; a validation set held on the device gives
// the in-memory trainer's validation losses and stop. Skips without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gpu_test_util.hpp"
#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/data/prep.hpp"
#include "host/gpu/gpu_trainer.hpp"
#include "host/gpu/streamed_trainer.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/permutation.hpp"
#include "support.hpp"

namespace linreg {
namespace {

// Rows from memory through the reader (not resident: the staged path with a second thread).
class StagedChunks final : public RowChunks {
 public:
  explicit StagedChunks(const HostDataset& ds) : ds_(ds) {}
  int64_t rows() const override { return ds_.n; }
  int64_t features() const override { return ds_.d; }
  void read(int64_t r0, int64_t count, float* X, float* y) const override {
    std::copy_n(ds_.X.data() + r0 * ds_.d, count * ds_.d, X);
    std::copy_n(ds_.y.data() + r0, count, y);
  }

 private:
  const HostDataset& ds_;
};

std::vector<std::vector<uint32_t>> two_level(int64_t n, int64_t chunk, uint64_t seed, int64_t epochs) {
  std::vector<std::vector<uint32_t>> perms(static_cast<size_t>(epochs), std::vector<uint32_t>(static_cast<size_t>(n)));
  for (int64_t e = 0; e < epochs; ++e) two_level_permutation(n, chunk, seed, e, perms[static_cast<size_t>(e)].data());
  return perms;
}

// Σ over chunks of per-chunk sums against one sum over all rows: both are sums of the same n
// non-negative loss terms in double, so they differ by at most 2(n + 1)·u·(their sum).
void expect_losses_close(const std::vector<double>& a, const std::vector<double>& b, int64_t n) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t e = 0; e < a.size(); ++e)
    EXPECT_LE(std::fabs(a[e] - b[e]), 2.0 * static_cast<double>(n + 1) * gputest::kUd * std::fabs(b[e]) + 1e-300)
        << "epoch " << e + 1;
}

struct Shape {
  int64_t n, d, batch, chunk;
};

class GpuStreamed : public ::testing::TestWithParam<Shape> {};

TEST_P(GpuStreamed, StepsAreTheInMemoryRulesStepsOnTheTwoLevelOrder) {
  LINREG_REQUIRE_GPU();
  const Shape s = GetParam();
  const HostDataset ds = test::gaussian_rows(s.n, s.d, 7 + static_cast<uint64_t>(s.d));
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = s.batch;
  opt.lr = 0.01f;
  opt.seed = 5;
  opt.optimizer = Optimizer::Momentum;  // a rule: the in-memory trainer's general loop
  opt.strategy = s.d > kern::kMaxFusedFeatures ? Strategy::Cublas : Strategy::Fused;
  auto mem = create_gpu_trainer(0);
  mem->load(ds, nullptr);
  const TrainResult want = mem->fit_with_permutations(opt, two_level(s.n, s.chunk, opt.seed, opt.epochs));
  const StagedChunks staged(ds);
  const ResidentRows resident(ds);
  for (const RowChunks* src : {static_cast<const RowChunks*>(&staged), static_cast<const RowChunks*>(&resident)}) {
    const TrainResult got = train_streamed_gpu(0, *src, opt, s.chunk);
    // Each source takes its own path: rows in host memory are copied from where they lie.
    EXPECT_NE(got.strategy.find(src == &resident ? "from pinned host memory" : "through pinned buffers"),
              std::string::npos) << got.strategy;
    EXPECT_EQ(got.w, want.w) << got.strategy;
    EXPECT_EQ(got.b, want.b) << got.strategy;
    EXPECT_EQ(got.epochs_run, want.epochs_run);
    expect_losses_close(got.epoch_losses, want.epoch_losses, s.n);
  }
}

INSTANTIATE_TEST_SUITE_P(Chunks, GpuStreamed,
                         ::testing::Values(Shape{1000, 8, 32, 100},    // whole chunks of whole batches
                                           Shape{1003, 5, 64, 97},     // batches across chunk ends
                                           Shape{777, 3, 100, 30},     // a batch spans four chunks
                                           Shape{500, 16, 50, 500},    // one chunk
                                           Shape{301, 700, 40, 64}));  // past the fused kernels: cublas

TEST(GpuStreamedSgd, PlainSgdMatchesTheCpuStreamedTrainer) {
  LINREG_REQUIRE_GPU();
  const HostDataset ds = test::gaussian_rows(2000, 6, 3);
  TrainOptions opt;
  opt.epochs = 4;
  opt.batch_size = 40;
  opt.lr = 0.02f;
  const int64_t chunk = 333;
  const TrainResult cpu = train_streamed(StagedChunks(ds), opt, chunk);
  const TrainResult gpu = train_streamed_gpu(0, StagedChunks(ds), opt, chunk);
  ASSERT_EQ(cpu.w.size(), gpu.w.size());
  // Both sum in double and round each step's update to float: after 200 steps of a contracting
  // iteration the parameters differ by a few float ulps each; 1e-5 relative to the weights'
  // scale (≈1) is 80 ulps.
  for (size_t j = 0; j < cpu.w.size(); ++j) EXPECT_NEAR(cpu.w[j], gpu.w[j], 1e-5) << "w" << j;
  EXPECT_NEAR(cpu.b, gpu.b, 1e-5);
  for (size_t e = 0; e < cpu.epoch_losses.size(); ++e)
    EXPECT_NEAR(cpu.epoch_losses[e], gpu.epoch_losses[e], 1e-5 * (1 + cpu.epoch_losses[e])) << "epoch " << e + 1;
}

TEST(GpuStreamedSgd, EarlyStoppingAveragingAndBadInput) {
  LINREG_REQUIRE_GPU();
  const HostDataset ds = test::gaussian_rows(600, 4, 9);
  TrainOptions opt;
  opt.epochs = 30;
  opt.batch_size = 16;
  opt.lr = 0.05f;
  opt.average = true;
  opt.early_stopping = true;
  opt.strategy = Strategy::Fused;
  auto mem = create_gpu_trainer(0);
  mem->load(ds, nullptr);
  const TrainResult want = mem->fit_with_permutations(opt, two_level(ds.n, 77, opt.seed, opt.epochs));
  const TrainResult got = train_streamed_gpu(0, ResidentRows(ds), opt, 77);
  EXPECT_NE(got.strategy.find("from pinned host memory"), std::string::npos) << got.strategy;
  EXPECT_EQ(got.w, want.w);
  EXPECT_EQ(got.b, want.b);
  EXPECT_EQ(got.best_epoch, want.best_epoch);
  EXPECT_EQ(got.epochs_run, want.epochs_run);
  EXPECT_EQ(got.stop_reason, want.stop_reason);
  opt.initial_w = {1.0f};
  EXPECT_THROW(train_streamed_gpu(0, ResidentRows(ds), opt, 77), SettingError);
}

TEST(GpuStreamedSgd, AValidationSetOnTheDeviceGivesTheInMemoryLossesAndStop) {
  LINREG_REQUIRE_GPU();
  // Early stopping on the validation loss, with averaging: the held-out rows' loss each epoch is
  // the in-memory trainer's kernel on the same rows and model (the same bits), and so are the
  // best epoch, the stop and the model returned.
  const HostDataset all = test::gaussian_rows(900, 5, 21);
  const auto [ds, val] = data::split_validation(all, 0.25, 3);
  TrainOptions opt;
  opt.epochs = 25;
  opt.batch_size = 32;
  opt.lr = 0.05f;
  opt.average = true;
  opt.early_stopping = true;
  opt.strategy = Strategy::Fused;
  auto mem = create_gpu_trainer(0);
  mem->load(ds, &val);
  for (const int64_t chunk : {int64_t{61}, ds.n}) {
    const TrainResult want = mem->fit_with_permutations(opt, two_level(ds.n, chunk, opt.seed, opt.epochs));
    ASSERT_EQ(want.epoch_val_losses.size(), static_cast<size_t>(want.epochs_run));
    for (const bool staged : {true, false}) {
      const TrainResult got = staged ? train_streamed_gpu(0, StagedChunks(ds), opt, chunk, {}, &val)
                                     : train_streamed_gpu(0, ResidentRows(ds), opt, chunk, {}, &val);
      EXPECT_EQ(got.epoch_val_losses, want.epoch_val_losses) << chunk << " " << staged;
      EXPECT_EQ(got.best_epoch, want.best_epoch) << chunk << " " << staged;
      EXPECT_EQ(got.epochs_run, want.epochs_run) << chunk << " " << staged;
      EXPECT_EQ(got.stop_reason, want.stop_reason) << chunk << " " << staged;
      EXPECT_EQ(got.w, want.w) << chunk << " " << staged;
      EXPECT_EQ(got.b, want.b) << chunk << " " << staged;
      expect_losses_close(got.epoch_losses, want.epoch_losses, ds.n);
    }
  }
  HostDataset other = val;
  other.d = 4;
  EXPECT_THROW(train_streamed_gpu(0, ResidentRows(ds), opt, 61, {}, &other), InputError);
}

// A GPU rank of a job streaming its shard (train_streamed_gpu_job), here the one rank a GPU
// machine can run: the in-memory GPU rank's steps (create_sharded_gpu_trainer, NCCL across one
// rank) on the two-level order bit for bit, with the validation losses, the stop and the model.
// Several ranks need several GPUs; the minibatch bookkeeping across ranks is tested on the host
// (tests/train/test_job_batches.cpp).
TEST(GpuStreamedJob, OneRankTakesTheInMemoryRanksStepsOnTheTwoLevelOrder) {
  LINREG_REQUIRE_GPU();
  struct Case {
    int64_t n, d, batch, chunk;
    bool validation;
  };
  for (const Case c : {Case{1003, 5, 64, 97, false}, Case{777, 3, 100, 30, true}, Case{301, 700, 40, 64, true}}) {
    const HostDataset ds = test::gaussian_rows(c.n, c.d, 31);
    const HostDataset val = test::gaussian_rows(c.n / 4 + 1, c.d, 32);
    TrainOptions opt;
    opt.epochs = 6;
    opt.batch_size = c.batch;
    opt.lr = 0.01f;
    opt.optimizer = Optimizer::Adam;
    opt.early_stopping = true;
    opt.patience = 1;
    ShardPlacement shard;
    shard.comm = &single_process();
    shard.total_rows = c.n;
    shard.val_total = c.validation ? val.n : 0;
    const HostDataset* v = c.validation ? &val : nullptr;
    auto mem = create_sharded_gpu_trainer(0, shard);
    mem->load(ds, v);
    TrainResult want;
    try {
      want = mem->fit_with_permutations(opt, two_level(c.n, c.chunk, opt.seed, opt.epochs));
    } catch (const DeviceUnavailable& e) {
      GTEST_SKIP() << e.what();  // no NCCL on this machine
    }
    const TrainResult got = train_streamed_gpu_job(0, StagedChunks(ds), opt, c.chunk, shard, {}, v);
    const std::string at = std::to_string(c.n) + "x" + std::to_string(c.d) + ", chunk " + std::to_string(c.chunk);
    EXPECT_NE(got.strategy.find("NCCL across 1 rank"), std::string::npos) << got.strategy;
    EXPECT_EQ(got.w, want.w) << at;
    EXPECT_EQ(got.b, want.b) << at;
    EXPECT_EQ(got.epoch_val_losses, want.epoch_val_losses) << at;
    EXPECT_EQ(got.best_epoch, want.best_epoch) << at;
    EXPECT_EQ(got.epochs_run, want.epochs_run) << at;
    EXPECT_EQ(got.stop_reason, want.stop_reason) << at;
    expect_losses_close(got.epoch_losses, want.epoch_losses, c.n);
  }
}

}  // namespace
}  // namespace linreg
