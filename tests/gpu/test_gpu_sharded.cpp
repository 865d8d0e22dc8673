// A GPU rank of a data-parallel job (create_sharded_gpu_trainer): the rank's rows of each
// minibatch, the sums gathered with NCCL and added in rank order, then the rules' update. With
// one GPU there can be only one rank (NCCL takes one rank a device), so these tests run a job of
// one rank, whose steps must be the ordinary trainer's rules loop bit for bit (the filtering
// keeps every row, the rank-order sum of one part is that part, the host permutation is the
// device's), with a validation set, past the fused kernels' feature limit (the cublas sums), and
// on the lab's plain SGD. Several ranks on several GPUs did not run here. Skips without a GPU,
// and with NCCL's reason where NCCL cannot be loaded.
#include <gtest/gtest.h>

#include <vector>

#include "gpu_test_util.hpp"
#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/gpu/gpu_trainer.hpp"
#include "host/train/cpu_trainer.hpp"
#include "support.hpp"

namespace linreg {
namespace {

struct Case {
  int64_t n, d, batch;
  bool validation;
  bool rule;  // a rule of docs/SGD.md (else the lab's plain SGD)
};

class GpuShardedOneRank : public ::testing::TestWithParam<Case> {};

TEST_P(GpuShardedOneRank, IsTheOrdinaryTrainersRulesLoop) {
  LINREG_REQUIRE_GPU();
  const Case c = GetParam();
  const HostDataset ds = test::gaussian_rows(c.n, c.d, 21);
  const HostDataset val = test::gaussian_rows(c.n / 4 + 1, c.d, 22);
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = c.batch;
  opt.lr = 0.01f;
  if (c.rule) {
    opt.optimizer = Optimizer::Adam;
    opt.early_stopping = true;
    opt.patience = 1;
  }
  ShardPlacement shard;
  shard.comm = &single_process();
  shard.total_rows = c.n;
  shard.val_total = c.validation ? val.n : 0;
  auto rank = create_sharded_gpu_trainer(0, shard);
  rank->load(ds, c.validation ? &val : nullptr);
  TrainResult got;
  try {
    got = rank->fit(opt);
  } catch (const DeviceUnavailable& e) {
    GTEST_SKIP() << e.what();  // no NCCL on this machine
  }
  EXPECT_NE(got.strategy.find("NCCL across 1 rank"), std::string::npos) << got.strategy;

  if (!c.rule) return;  // the plain ordinary trainer takes other kernels: see PlainSgd below
  opt.strategy = c.d > kern::kMaxFusedFeatures ? Strategy::Cublas : Strategy::Fused;
  auto one = create_gpu_trainer(0);
  one->load(ds, c.validation ? &val : nullptr);
  const TrainResult want = one->fit(opt);
  EXPECT_EQ(got.w, want.w);
  EXPECT_EQ(got.b, want.b);
  EXPECT_EQ(got.epoch_losses, want.epoch_losses);
  EXPECT_EQ(got.epoch_val_losses, want.epoch_val_losses);
  EXPECT_EQ(got.best_epoch, want.best_epoch);
  EXPECT_EQ(got.epochs_run, want.epochs_run);
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuShardedOneRank,
                         ::testing::Values(Case{1000, 8, 32, false, true}, Case{1003, 5, 64, true, true},
                                           Case{301, 700, 40, true, true}, Case{999, 2, 10, false, false}));

// The lab's plain SGD on one rank against the CPU trainer (the same steps, double sums on both
// sides, each update rounded to float): within a few float ulps of the weights.
TEST(GpuShardedOneRank, PlainSgdMatchesTheCpuTrainer) {
  LINREG_REQUIRE_GPU();
  const HostDataset ds = test::gaussian_rows(1500, 6, 4);
  TrainOptions opt;
  opt.epochs = 3;
  opt.batch_size = 30;
  opt.lr = 0.02f;
  ShardPlacement shard;
  shard.comm = &single_process();
  shard.total_rows = ds.n;
  auto rank = create_sharded_gpu_trainer(0, shard);
  rank->load(ds, nullptr);
  TrainResult got;
  try {
    got = rank->fit(opt);
  } catch (const DeviceUnavailable& e) {
    GTEST_SKIP() << e.what();
  }
  auto cpu = make_cpu_trainer(1);
  cpu->load(ds, nullptr);
  const TrainResult want = cpu->fit(opt);
  for (size_t j = 0; j < want.w.size(); ++j) EXPECT_NEAR(got.w[j], want.w[j], 1e-5) << "w" << j;
  EXPECT_NEAR(got.b, want.b, 1e-5);
}

}  // namespace
}  // namespace linreg
