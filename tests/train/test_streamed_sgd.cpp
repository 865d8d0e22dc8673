// SGD on rows streamed in chunks (cpu_trainer.hpp: train_streamed; streamed_pipeline.hpp): the
// documented two-level order, the same steps and losses as the in-memory trainer on that order
// bit for bit, and the route of `linreg train --memory-limit` on an .npy file.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "host/core/error.hpp"
#include "host/data/npy.hpp"
#include "host/data/prep.hpp"
#include "host/io/atomic_file.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/permutation.hpp"
#include "host/train/pipeline.hpp"
#include "host/train/streamed_pipeline.hpp"
#include "support.hpp"

namespace linreg {
namespace {

// Rows from memory, through the streaming interface (and counting the reads).
class MemoryChunks final : public RowChunks {
 public:
  explicit MemoryChunks(const HostDataset& ds) : ds_(ds) {}
  int64_t rows() const override { return ds_.n; }
  int64_t features() const override { return ds_.d; }
  void read(int64_t r0, int64_t count, float* X, float* y) const override {
    std::copy_n(ds_.X.data() + r0 * ds_.d, count * ds_.d, X);
    std::copy_n(ds_.y.data() + r0, count, y);
    rows_read_ += count;
  }
  mutable std::atomic<int64_t> rows_read_{0};

 private:
  const HostDataset& ds_;
};

// The same rows, read slowly (the reading thread then takes less of each chunk's loss).
class SlowChunks final : public RowChunks {
 public:
  explicit SlowChunks(const HostDataset& ds) : rows_(ds) {}
  int64_t rows() const override { return rows_.rows(); }
  int64_t features() const override { return rows_.features(); }
  void read(int64_t r0, int64_t count, float* X, float* y) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    rows_.read(r0, count, X, y);
  }

 private:
  MemoryChunks rows_;
};

TEST(StreamedSgd, TheLossesAreTheSameBitsHoweverTheThreadsShareTheirSums) {
  // Each chunk's loss is split between the two threads by their timings, which differ from run
  // to run: the sum is carried from one part to the other, so the bits must not depend on it.
  const HostDataset ds = test::gaussian_rows(4000, 5, 9);
  TrainOptions opt;
  opt.epochs = 4;
  opt.batch_size = 16;
  opt.lr = 0.01f;
  const TrainResult first = train_streamed(MemoryChunks(ds), opt, 250);
  for (int k = 0; k < 2; ++k) {
    const TrainResult fast = train_streamed(MemoryChunks(ds), opt, 250);
    EXPECT_EQ(fast.epoch_losses, first.epoch_losses);
    EXPECT_EQ(fast.w, first.w);
  }
  const TrainResult slow = train_streamed(SlowChunks(ds), opt, 250);
  EXPECT_EQ(slow.epoch_losses, first.epoch_losses);
  EXPECT_EQ(slow.w, first.w);
  EXPECT_EQ(slow.b, first.b);
}

TEST(TwoLevelShuffle, EveryEpochIsAPermutationInChunkOrderAndOneChunkIsTheInMemoryOrder) {
  const int64_t n = 203;
  std::vector<uint32_t> p(static_cast<size_t>(n)), mem(p.size());
  for (int64_t chunk : {1, 7, 30, 202, 203, 500})
    for (int64_t e = 0; e < 3; ++e) {
      two_level_permutation(n, chunk, 42, e, p.data());
      std::vector<uint32_t> sorted = p;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i) << "chunk " << chunk;
      // Each chunk's rows come together, as one run of the order.
      for (int64_t i = 1; i < n; ++i)
        if (p[i] / chunk != p[i - 1] / chunk) {
          for (int64_t k = i; k < n; ++k) ASSERT_NE(p[k] / chunk, p[i - 1] / chunk) << "chunk " << chunk << " split";
        }
      if (chunk >= n) {
        host_permutation(n, 42, e, mem.data());
        EXPECT_EQ(p, mem) << "one chunk is the in-memory epoch";
      }
    }
  // The chunk order changes from epoch to epoch (7 chunks: 5040 orders; 5 epochs all alike would
  // mean the epoch is not in the seed).
  std::vector<std::vector<uint32_t>> firsts;
  for (int64_t e = 0; e < 5; ++e) {
    two_level_permutation(n, 30, 42, e, p.data());
    std::vector<uint32_t> chunks;
    for (int64_t i = 0; i < n; ++i)
      if (i == 0 || p[i] / 30 != p[i - 1] / 30) chunks.push_back(p[i] / 30);
    EXPECT_EQ(chunks.size(), 7u);
    firsts.push_back(chunks);
  }
  EXPECT_FALSE(std::all_of(firsts.begin(), firsts.end(), [&](const auto& c) { return c == firsts[0]; }));
}

// Two sums of the same n non-negative loss terms (each term computed alike) in different groupings
// differ by at most 2(n − 1)·u·(their sum), u the unit roundoff of double.
void expect_losses_close(const std::vector<double>& got, const std::vector<double>& want, int64_t n,
                         const std::string& at) {
  ASSERT_EQ(got.size(), want.size()) << at;
  for (size_t e = 0; e < want.size(); ++e)
    EXPECT_LE(std::fabs(got[e] - want[e]), 2.0 * static_cast<double>(n - 1) * (DBL_EPSILON / 2) * want[e])
        << at << ", epoch " << e + 1;
}

TEST(StreamedSgd, TheSameStepsAndLossesAsInMemoryOnTheTwoLevelOrder) {
  const int64_t n = 203, d = 3;
  const HostDataset ds = test::gaussian_rows(n, d, 3);
  std::vector<TrainOptions> runs(4);
  runs[0].epochs = 3;                                                  // the lab's plain step
  runs[1].epochs = 3, runs[1].optimizer = Optimizer::Momentum;
  runs[2].epochs = 4, runs[2].optimizer = Optimizer::Adam, runs[2].lr = 0.01f, runs[2].average = true;
  runs[3].epochs = 30, runs[3].early_stopping = true, runs[3].patience = 2, runs[3].lr = 0.1f;
  for (size_t k = 0; k < runs.size(); ++k) {
    const TrainOptions& opt = runs[k];
    for (int64_t chunk : {7, 30, 100, 202, 203}) {  // 7 and 30: batches of 10 span chunks
      std::vector<std::vector<uint32_t>> perms(static_cast<size_t>(opt.epochs), std::vector<uint32_t>(n));
      for (int64_t e = 0; e < opt.epochs; ++e) two_level_permutation(n, chunk, opt.seed, e, perms[e].data());
      auto mem = make_cpu_trainer(1);
      mem->load(ds, nullptr);
      const TrainResult want = mem->fit_with_permutations(opt, perms);
      const MemoryChunks src(ds);
      const TrainResult got = train_streamed(src, opt, chunk);
      const std::string at = "run " + std::to_string(k) + ", chunks of " + std::to_string(chunk);
      EXPECT_EQ(got.w, want.w) << at;
      EXPECT_EQ(got.b, want.b) << at;
      // Each chunk's loss is summed apart and the sums added in file order: to rounding.
      expect_losses_close(got.epoch_losses, want.epoch_losses, n, at);
      EXPECT_EQ(got.epochs_run, want.epochs_run) << at;
      EXPECT_EQ(got.best_epoch, want.best_epoch) << at;
      EXPECT_EQ(got.stop_reason, want.stop_reason) << at;
      // Each epoch reads every row once (its steps, with the epoch before's loss), plus one pass
      // for the last loss (or the pass whose steps a stop dropped), and nothing more but, after
      // a stop, the first chunk of the pass that would have come next (read ahead, unused).
      int64_t unused = 0;
      if (got.epochs_run < opt.epochs) {
        const int64_t next = got.epochs_run + 1;  // that pass: epoch `next`'s, or the last loss pass
        int64_t first = 0;
        if (next < opt.epochs) {
          std::vector<uint32_t> p(static_cast<size_t>(n));
          two_level_permutation(n, chunk, opt.seed, next, p.data());
          first = p[0] / chunk;
        }
        unused = std::min(chunk, n - first * chunk);
      }
      EXPECT_EQ(src.rows_read_.load(), n * (got.epochs_run + 1) + unused) << at;
    }
  }
  // One chunk: the in-memory trainer's own shuffle.
  auto mem = make_cpu_trainer(1);
  mem->load(ds, nullptr);
  const TrainResult want = mem->fit(runs[1]);
  const TrainResult got = train_streamed(MemoryChunks(ds), runs[1], n);
  EXPECT_EQ(got.w, want.w);
  expect_losses_close(got.epoch_losses, want.epoch_losses, n, "one chunk");
}

// A run that diverges stops at the first non-finite loss with that epoch's iterate, as in memory,
// though the streamed trainer learns of it one pass later (the steps of that pass are dropped).
TEST(StreamedSgd, DivergenceStopsAtTheSameEpochWithTheSameIterate) {
  const int64_t n = 203, d = 3, chunk = 30;
  const HostDataset ds = test::gaussian_rows(n, d, 3);
  TrainOptions opt;
  opt.epochs = 8;
  opt.lr = 40.0f;
  std::vector<std::vector<uint32_t>> perms(static_cast<size_t>(opt.epochs), std::vector<uint32_t>(n));
  for (int64_t e = 0; e < opt.epochs; ++e) two_level_permutation(n, chunk, opt.seed, e, perms[e].data());
  auto mem = make_cpu_trainer(1);
  mem->load(ds, nullptr);
  const TrainResult want = mem->fit_with_permutations(opt, perms);
  ASSERT_TRUE(want.diverged) << "the rate must make it diverge";
  ASSERT_LT(want.epochs_run, opt.epochs);
  const TrainResult got = train_streamed(MemoryChunks(ds), opt, chunk);
  EXPECT_TRUE(got.diverged);
  EXPECT_EQ(got.epochs_run, want.epochs_run);
  ASSERT_EQ(got.w.size(), want.w.size());
  // Bits (the iterate may hold infinities or NaNs, which == would not match).
  EXPECT_EQ(std::memcmp(got.w.data(), want.w.data(), got.w.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(&got.b, &want.b, sizeof(float)), 0);
}

TEST(StreamedSgd, AReadErrorEndsTheRunWithIt) {
  class Failing final : public RowChunks {
   public:
    int64_t rows() const override { return 100; }
    int64_t features() const override { return 2; }
    void read(int64_t r0, int64_t count, float* X, float* y) const override {
      if (r0 >= 50) throw InputError("d.npy: row 51: NaN, not a number linreg can fit");
      std::fill_n(X, count * 2, 1.0f);
      std::fill_n(y, count, 1.0f);
    }
  };
  try {
    train_streamed(Failing(), TrainOptions{}, 25);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "d.npy: row 51: NaN, not a number linreg can fit");
  }
}

TEST(StreamedPipeline, AnNpyFileOverTheLimitStreamsWithTheInMemoryStatistics) {
  test::TempDir dir;
  const std::string path = dir.file("d.npy");
  test::write_npy_dataset(path, test::gaussian_rows(1000, 3, 4), 50.0, 3.0);
  TrainPlan plan;
  plan.csv_path = path;
  plan.npy_input = true;
  plan.device = DeviceChoice::Cpu;
  plan.standardize = true;
  plan.sgd.epochs = 2;
  const TrainOutcome whole = run_training(plan, {}, {}, {});
  EXPECT_EQ(whole.fit.method, "cpu");
  // 4 KiB: half of it (standardising this float64 file reads each chunk's float64 values too) for
  // two chunks of rows of 4 float32 values and their order's uint32 a row: 2048 / (2·20) = 51
  plan.memory_limit = 4096;
  std::string why;
  ASSERT_TRUE(streams(plan, &why));
  EXPECT_NE(why.find("over --memory-limit"), std::string::npos) << why;
  const TrainOutcome streamed = run_training(plan, {}, {}, {});
  EXPECT_EQ(streamed.fit.method, "cpu, streamed in chunks of 51 rows");
  EXPECT_EQ(streamed.train_rows, 1000);
  // The statistics are the in-memory ones, bit for bit; the model differs (another order).
  EXPECT_EQ(streamed.scaling.mean, whole.scaling.mean);
  EXPECT_EQ(streamed.scaling.scale, whole.scaling.scale);
  const data::Metrics direct = data::compute_metrics(data::read_npy(path, {}).data, streamed.fit.w, streamed.fit.b);
  EXPECT_EQ(streamed.train_metrics.mse, direct.mse);
  EXPECT_EQ(streamed.train_metrics.r2, direct.r2);
  EXPECT_EQ(streamed.train_metrics.mae, direct.mae);
  // Another order, not another fit: the streamed model is as good as the in-memory one.
  EXPECT_LE(streamed.train_metrics.mse, 1.02 * whole.train_metrics.mse)
      << streamed.train_metrics.mse << " vs " << whole.train_metrics.mse;
  // A limit above the rows' size: in memory as before.
  plan.memory_limit = uint64_t{1} << 30;
  EXPECT_FALSE(streams(plan, nullptr));
  EXPECT_THROW(stream_chunk_rows(10, 4), SettingError);
  // The CPU's chunk: what the limit allows, at most 16 MiB of float32 rows (a large limit's
  // chunks would miss the caches), and never less than one row.
  EXPECT_EQ(cpu_chunk_rows(8192, 2), stream_chunk_rows(8192, 2));
  EXPECT_EQ(cpu_chunk_rows(uint64_t{1} << 30, 16), static_cast<int64_t>((uint64_t{16} << 20) / (17 * 4)));
  EXPECT_EQ(cpu_chunk_rows(uint64_t{1} << 40, 8'000'000), 1);
  EXPECT_THROW(cpu_chunk_rows(10, 4), SettingError);
}

TEST(StreamedSgd, AValidationSetInMemoryGivesTheInMemoryTrainersLossesAndStop) {
  const HostDataset all = test::gaussian_rows(600, 4, 21);
  const auto [train, val] = data::split_validation(all, 0.25, 7);
  TrainOptions opt;
  opt.epochs = 30;
  opt.lr = 0.1f;
  opt.early_stopping = true;
  opt.patience = 2;
  for (int64_t chunk : {37, 450}) {
    std::vector<std::vector<uint32_t>> perms(static_cast<size_t>(opt.epochs), std::vector<uint32_t>(train.n));
    for (int64_t e = 0; e < opt.epochs; ++e) two_level_permutation(train.n, chunk, opt.seed, e, perms[e].data());
    auto mem = make_cpu_trainer(1);
    mem->load(train, &val);
    const TrainResult want = mem->fit_with_permutations(opt, perms);
    const TrainResult got = train_streamed(MemoryChunks(train), opt, chunk, {}, &val);
    EXPECT_EQ(got.w, want.w) << chunk;
    EXPECT_EQ(got.b, want.b) << chunk;
    EXPECT_EQ(got.epoch_val_losses, want.epoch_val_losses) << chunk;  // the same sum over the same rows
    EXPECT_EQ(got.best_epoch, want.best_epoch) << chunk;
    EXPECT_EQ(got.epochs_run, want.epochs_run) << chunk;
    EXPECT_EQ(got.stop_reason, want.stop_reason) << chunk;
  }
  HostDataset other = val;
  other.d = 3;
  EXPECT_THROW(train_streamed(MemoryChunks(train), opt, 37, {}, &other), InputError);
}

TEST(StreamedPipeline, AValidationSplitHoldsOutTheInMemoryRowsAndStreamsTheRest) {
  test::TempDir dir;
  const std::string path = dir.file("d.npy");
  test::write_npy_dataset(path, test::gaussian_rows(1000, 3, 4), 50.0, 3.0);  // float64
  TrainPlan plan;
  plan.csv_path = path;
  plan.npy_input = true;
  plan.device = DeviceChoice::Cpu;
  plan.standardize = true;
  plan.val_fraction = 0.2;
  plan.sgd.epochs = 3;
  const TrainOutcome whole = run_training(plan, {}, {}, {});
  // 40 KiB: under the 48 000 bytes of all the rows; the validation rows' 19 200 (float64 and
  // float32, twice: a standardised copy) within half of it
  plan.memory_limit = 40960;
  const TrainOutcome streamed = run_training(plan, {}, {}, {});
  ASSERT_TRUE(streamed.streamed);
  EXPECT_EQ(streamed.train_rows, whole.train_rows);
  EXPECT_EQ(streamed.validation_rows, whole.validation_rows);
  EXPECT_EQ(streamed.validation_rows, 200);
  // The statistics are the training rows', bit for bit; the metrics are of the split's rows.
  EXPECT_EQ(streamed.scaling.mean, whole.scaling.mean);
  EXPECT_EQ(streamed.scaling.scale, whole.scaling.scale);
  const auto [train, val] = data::split_validation(data::read_npy(path, {}).data, 0.2, plan.sgd.seed);
  EXPECT_EQ(streamed.train_metrics.mse, data::compute_metrics(train, streamed.fit.w, streamed.fit.b).mse);
  EXPECT_EQ(streamed.validation_metrics.mse, data::compute_metrics(val, streamed.fit.w, streamed.fit.b).mse);
  ASSERT_EQ(streamed.fit.epoch_val_losses.size(), 3u);
  // Another order, not another fit.
  EXPECT_LE(streamed.validation_metrics.mse, 1.02 * whole.validation_metrics.mse)
      << streamed.validation_metrics.mse << " vs " << whole.validation_metrics.mse;
  // The exact solver on the training rows in parts: the in-memory coefficients to rounding.
  plan.method = Method::Normal;
  plan.memory_limit = 0;
  const TrainOutcome exact_whole = run_training(plan, {}, {}, {});
  plan.memory_limit = 24576;
  const TrainOutcome exact = run_training(plan, {}, {}, {});
  ASSERT_TRUE(exact.streamed);
  ASSERT_EQ(exact.fit.w.size(), exact_whole.fit.w.size());
  for (size_t j = 0; j < exact.fit.w.size(); ++j) EXPECT_NEAR(exact.fit.w[j], exact_whole.fit.w[j], 1e-9) << j;
  EXPECT_NEAR(exact.fit.b, exact_whole.fit.b, 1e-9 * std::fabs(exact_whole.fit.b));
  EXPECT_NEAR(exact.validation_metrics.mse, exact_whole.validation_metrics.mse, 1e-9 * exact_whole.validation_metrics.mse);
  // Validation rows that would take over half the limit are refused, naming the flag.
  plan.memory_limit = 2048;
  try {
    run_training(plan, {}, {}, {});
    ADD_FAILURE() << "no error";
  } catch (const SettingError& e) {
    EXPECT_NE(std::string(e.what()).find("--val-fraction"), std::string::npos) << e.what();
  }
}

TEST(StreamedPipeline, AValidationSplitOverManyPiecesOfTheFile) {
  // Rows past the reader's pieces (8192 rows), so that training rows are found and read across
  // pieces and held-out rows lie in many of them; chunks of a few thousand rows.
  test::TempDir dir;
  const std::string path = dir.file("d.npy");
  test::write_npy_dataset(path, test::gaussian_rows(20011, 2, 5), 0.5, 1.0);  // float64
  TrainPlan plan;
  plan.csv_path = path;
  plan.npy_input = true;
  plan.device = DeviceChoice::Cpu;
  plan.standardize = true;
  plan.val_fraction = 0.1;
  plan.sgd.epochs = 2;
  plan.sgd.batch_size = 64;
  const TrainOutcome whole = run_training(plan, {}, {}, {});
  // 320 KiB: under the 720 396 bytes of the rows; the 2 001 held out (144 072 bytes, a
  // standardised copy included) within half of it
  plan.memory_limit = 320 * 1024;
  const TrainOutcome streamed = run_training(plan, {}, {}, {});
  ASSERT_TRUE(streamed.streamed);
  EXPECT_EQ(streamed.validation_rows, 2001);
  EXPECT_EQ(streamed.train_rows, whole.train_rows);
  EXPECT_EQ(streamed.scaling.mean, whole.scaling.mean);
  EXPECT_EQ(streamed.scaling.scale, whole.scaling.scale);
  const auto [train, val] = data::split_validation(data::read_npy(path, {}).data, 0.1, plan.sgd.seed);
  ASSERT_EQ(val.n, 2001);
  EXPECT_EQ(streamed.train_metrics.mse, data::compute_metrics(train, streamed.fit.w, streamed.fit.b).mse);
  EXPECT_EQ(streamed.validation_metrics.mse, data::compute_metrics(val, streamed.fit.w, streamed.fit.b).mse);
  EXPECT_EQ(streamed.train_metrics.rows, train.n);
  EXPECT_EQ(streamed.validation_metrics.rows, val.n);
  // The exact solver's parts over the same training rows: the in-memory fit to rounding.
  plan.method = Method::Normal;
  plan.memory_limit = 0;
  const TrainOutcome exact_whole = run_training(plan, {}, {}, {});
  plan.memory_limit = 160 * 1024;
  const TrainOutcome exact = run_training(plan, {}, {}, {});
  ASSERT_TRUE(exact.streamed);
  for (size_t j = 0; j < exact.fit.w.size(); ++j) EXPECT_NEAR(exact.fit.w[j], exact_whole.fit.w[j], 1e-9) << j;
  EXPECT_EQ(exact.validation_metrics.rows, val.n);
  // Unstandardised SGD decodes the training rows straight into its chunk buffers, skipping the
  // held-out rows: the same steps as the streamer on the split's training rows held in memory,
  // in the same chunks, bit for bit.
  plan.method = Method::Sgd;
  plan.standardize = false;
  plan.memory_limit = 320 * 1024;
  const TrainOutcome raw = run_training(plan, {}, {}, {});
  ASSERT_TRUE(raw.streamed);
  const uint64_t val_bytes = npy_training_bytes(val.n, 2, true) * 2;
  const int64_t chunk = cpu_chunk_rows(plan.memory_limit - val_bytes, 2);
  HostDataset train32 = train;
  train32.X64 = {};
  train32.y64 = {};
  const TrainResult want = train_streamed(MemoryChunks(train32), plan.sgd, chunk, {}, &val);
  ASSERT_EQ(raw.fit.w.size(), want.w.size());
  for (size_t j = 0; j < want.w.size(); ++j) EXPECT_EQ(static_cast<float>(raw.fit.w[j]), want.w[j]) << j;
  EXPECT_EQ(static_cast<float>(raw.fit.b), want.b);
  EXPECT_EQ(raw.fit.epoch_val_losses, want.epoch_val_losses);
}

TEST(StreamedCli, MemoryLimitFlagAndItsErrors) {
  test::TempDir dir;
  const std::string data = dir.file("d.npy");
  ASSERT_EQ(test::run_linreg("generate --examples 3000 --features 2 --out '" + data + "'").exit_code, 0);
  const test::RunOutput r = test::run_linreg("train --device cpu --data '" + data + "' --memory-limit 8K --epochs 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("streamed in chunks of 256 rows"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("streaming them from the file"), std::string::npos) << r.err;
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--memory-limit 1Q", "'1Q' is not a size"},
           {"--memory-limit 0", "more than 0 bytes"},
           {"--memory-limit 10", "10 bytes is too small"},
           {"--memory-limit 8K --val-fraction 0.1", "--val-fraction"}}) {
    const test::RunOutput e = test::run_linreg("train --device cpu --data '" + data + "' " + args);
    EXPECT_EQ(e.exit_code, 2) << args;
    EXPECT_EQ(e.out, "") << args;
    EXPECT_EQ(test::count_lines(e.err), 1) << args << ": one error line\n" << e.err;
    EXPECT_NE(e.err.find(needle), std::string::npos) << args << ": " << e.err;
  }
  const test::RunOutput csv = test::run_linreg("train --memory-limit 1M");
  EXPECT_EQ(csv.exit_code, 2);
  EXPECT_NE(csv.err.find("streams an .npy --data file"), std::string::npos) << csv.err;
}

}  // namespace
}  // namespace linreg
