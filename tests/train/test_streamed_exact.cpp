// The exact solvers on rows read a part at a time (least_squares.hpp: LeastSquaresParts; and
// `linreg train --solver ... --memory-limit` on an .npy file): every model and factorisation
// against the fit of the rows held whole, to the bounds of least_squares_checks.hpp; a bad value
// in a later part; parts within the shards of a data-parallel job.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "cluster/thread_ranks.hpp"
#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/data/npy.hpp"
#include "host/data/prep.hpp"
#include "host/io/atomic_file.hpp"
#include "host/train/least_squares.hpp"
#include "host/train/pipeline.hpp"
#include "support.hpp"
#include "train/least_squares_checks.hpp"

namespace linreg {
namespace {

using Parts = test::RowsInParts;

TEST(StreamedExact, EveryModelInPartsMatchesTheRowsHeldWhole) {
  const HostDataset ds = test::noisy(203, 4, 12);
  for (int64_t part : {1, 7, 64, 202, 500})
    for (ExactMethod m : {ExactMethod::Auto, ExactMethod::Cholesky, ExactMethod::Qr, ExactMethod::Svd})
      for (bool intercept : {true, false})
        for (double ridge : {0.0, 2.5}) {
          LeastSquaresOptions o;
          o.method = m;
          o.intercept = intercept;
          o.ridge = ridge;
          Parts parts(ds, part);
          const std::string at = std::string(exact_method_name(m)) + (intercept ? "" : " no-intercept") +
                                 (ridge > 0 ? " ridge" : "") + ", parts of " + std::to_string(part);
          test::expect_same_fit(least_squares(parts.p, o), least_squares(ds, o), at);
          // The norms, the reduction, the sums of squares (Cholesky by name on a well-conditioned
          // design: nothing more; auto may add a QR pass, refinement one per round).
          if (m == ExactMethod::Cholesky) {
            EXPECT_EQ(parts.passes, 3) << at;
          }
        }
  // Float data (the synthetic kind), and an ill-conditioned design refined over the parts.
  const HostDataset narrow = test::noisy(90, 2, 13, /*wide=*/false);
  Parts np(narrow, 16);
  test::expect_same_fit(least_squares(np.p, {}), least_squares(narrow, {}), "float data");
  HostDataset ill = test::noisy(6000, 3, 14);
  for (int64_t i = 0; i < ill.n; ++i) {
    ill.X64[i * 3 + 2] = ill.X64[i * 3] + 1e-5 * std::sin(0.37 * static_cast<double>(i));
    ill.X[i * 3 + 2] = static_cast<float>(ill.X64[i * 3 + 2]);
  }
  for (ExactMethod m : {ExactMethod::Auto, ExactMethod::Qr}) {
    LeastSquaresOptions o;
    o.method = m;
    Parts parts(ill, 1000);
    const LeastSquaresFit got = least_squares(parts.p, o), want = least_squares(ill, o);
    test::expect_same_fit(got, want, std::string("ill-conditioned ") + exact_method_name(m));
    EXPECT_GT(got.condition, 1e4);
    EXPECT_EQ(got.refinement_rounds, want.refinement_rounds);
  }
}

TEST(StreamedExact, ABadValueInALaterPartIsNamedByItsRow) {
  HostDataset ds = test::noisy(100, 3, 15);
  ds.X64[77 * 3 + 2] = INFINITY;
  std::string want;
  try {
    least_squares(ds, {});
  } catch (const InputError& e) {
    want = e.what();
  }
  ASSERT_NE(want.find("row 78"), std::string::npos) << want;
  Parts parts(ds, 30);
  try {
    least_squares(parts.p, {});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(want, e.what());
  }
}

TEST(StreamedExact, PartsWithinTheShardsOfAJob) {
  const HostDataset ds = test::noisy(203, 3, 16);
  const LeastSquaresFit one = least_squares(ds, {});
  std::vector<LeastSquaresFit> fits(3);
  const auto errors = test::run_ranks(3, [&](const Communicator& comm) {
    const Shard s = shard_of(ds.n, comm.rank(), comm.size());
    Parts parts(ds, 20, s.begin, s.rows());
    LeastSquaresOptions o;
    o.comm = &comm;
    o.first_row = s.begin;
    fits[static_cast<size_t>(comm.rank())] = least_squares(parts.p, o);
  });
  for (const auto& e : errors) EXPECT_FALSE(e);
  for (const auto& f : fits) test::expect_same_fit(f, one, "3 ranks in parts of 20");
}

TEST(StreamedExact, TrainWithAMemoryLimitSolvesTheFileInParts) {
  test::TempDir dir;
  const std::string path = dir.file("d.npy");
  test::write_npy_dataset(path, test::noisy(3000, 3, 17));
  TrainPlan plan;
  plan.csv_path = path;
  plan.npy_input = true;
  plan.device = DeviceChoice::Cpu;
  plan.method = Method::Normal;
  for (ExactMethod method : {ExactMethod::Auto, ExactMethod::Qr}) {
    plan.exact.method = method;
    plan.memory_limit = 0;
    const TrainOutcome whole = run_training(plan, {}, {}, {});
    plan.memory_limit = 16 * 1024;  // 16 KiB: parts of 341 rows of 4 float64 + float32 values
    const TrainOutcome parts = run_training(plan, {}, {}, {});
    ASSERT_TRUE(parts.streamed);
    ASSERT_TRUE(parts.fit.exact);
    EXPECT_NE(parts.fit.method.find("streamed in parts of 341 rows"), std::string::npos) << parts.fit.method;
    test::expect_same_fit(*parts.fit.exact, *whole.fit.exact, exact_method_name(method));
    EXPECT_NEAR(parts.inference.sigma, whole.inference.sigma, 1e-12 * whole.inference.sigma);
    const data::Metrics direct = data::compute_metrics(data::read_npy(path, {}).data, parts.fit.w, parts.fit.b);
    EXPECT_EQ(parts.train_metrics.mse, direct.mse);
    EXPECT_EQ(parts.train_metrics.r2, direct.r2);
  }
}

TEST(StreamedExact, AJobOfRanksEachStreamingItsShard) {
  test::TempDir dir;
  const std::string path = dir.file("d.npy");
  test::write_npy_dataset(path, test::noisy(2003, 3, 18));
  TrainPlan plan;
  plan.csv_path = path;
  plan.npy_input = true;
  plan.device = DeviceChoice::Cpu;
  plan.method = Method::Normal;
  plan.exact.method = ExactMethod::Qr;
  const TrainOutcome one = run_training(plan, {}, {}, {});
  plan.memory_limit = 8 * 1024;  // each rank's 668 rows in parts of 170
  std::vector<TrainOutcome> outs(3);
  const auto errors = test::run_ranks(3, [&](const Communicator& comm) {
    TrainPlan mine = plan;
    mine.cluster = &comm;
    outs[static_cast<size_t>(comm.rank())] = run_training(mine, {}, {}, {});
  });
  for (const auto& e : errors) EXPECT_FALSE(e);
  for (const auto& o : outs) {
    EXPECT_TRUE(o.streamed);
    ASSERT_TRUE(o.fit.exact);
    test::expect_same_fit(*o.fit.exact, *one.fit.exact, "3 ranks streaming their shards");
    EXPECT_EQ(o.train_metrics.rows, 2003);
    EXPECT_NEAR(o.train_metrics.mse, one.train_metrics.mse, 1e-9 * one.train_metrics.mse);
    EXPECT_EQ(o.fit.w, outs[0].fit.w);
  }
}

}  // namespace
}  // namespace linreg
