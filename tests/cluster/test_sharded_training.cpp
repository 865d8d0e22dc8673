// The data-parallel code paths, run on a job of threads (thread_ranks.hpp) so that they run in
// every build and under the sanitizers: the shard rule, the collectives, agreed errors, and the
// exact solver, SGD and the whole training route on shards, each against one process.
#include <gtest/gtest.h>

#include <atomic>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cluster/thread_ranks.hpp"
#include "host/cluster/cluster.hpp"
#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/data/npy.hpp"
#include "host/data/prep.hpp"
#include "host/io/atomic_file.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/fit.hpp"
#include "host/train/gpu_backend.hpp"
#include "host/train/least_squares.hpp"
#include "host/train/permutation.hpp"
#include "host/train/pipeline.hpp"
#include "support.hpp"
#include "train/least_squares_checks.hpp"

namespace linreg {
namespace {

using test::run_ranks;

HostDataset rows_of(const HostDataset& ds, const Shard& s) {
  std::vector<int64_t> idx(static_cast<size_t>(s.rows()));
  std::iota(idx.begin(), idx.end(), s.begin);
  HostDataset out = data::take_rows(ds, idx);
  out.feature_names = ds.feature_names;
  return out;
}

std::vector<double> rows_of(const std::vector<double>& v, const Shard& s) {
  return {v.begin() + s.begin, v.begin() + s.end};
}

void expect_no_errors(const std::vector<std::exception_ptr>& errors) {
  for (size_t r = 0; r < errors.size(); ++r)
    if (errors[r]) {
      try {
        std::rethrow_exception(errors[r]);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "rank " << r << ": " << e.what();
      }
    }
}

TEST(ShardOf, ContiguousCoveringBlocksAndEmptyLastRanks) {
  for (int64_t n : {1, 2, 3, 4, 7, 10, 203, 1000})
    for (int p : {1, 2, 3, 4, 5, 8}) {
      int64_t next = 0;
      for (int r = 0; r < p; ++r) {
        const Shard s = shard_of(n, r, p);
        EXPECT_EQ(s.begin, std::min(next, n)) << n << " rows, rank " << r << " of " << p;
        EXPECT_LE(s.rows(), (n + p - 1) / p);
        EXPECT_GE(s.rows(), 0);
        next = s.end;
      }
      EXPECT_EQ(next, n) << n << " rows on " << p << " ranks";
    }
  // 4 rows on 3 ranks: blocks of 2, the last rank holds none.
  EXPECT_EQ(shard_of(4, 2, 3).rows(), 0);
  EXPECT_EQ(shard_of(4, 1, 3).begin, 2);
}

TEST(Collectives, SumInRankOrderIsTheSameBitsOnEveryRank) {
  for (int p : {1, 2, 3, 5}) {
    std::vector<std::vector<double>> got(static_cast<size_t>(p));
    const auto part = [](int r, int j) { return std::ldexp(1.0 + 0.1 * r, 40 * (r % 2)) * (j + 1) / 3.0; };
    expect_no_errors(run_ranks(p, [&](const Communicator& comm) {
      std::vector<double> v(5);
      for (int j = 0; j < 5; ++j) v[j] = part(comm.rank(), j);
      sum_in_rank_order(comm, v.data(), 5);
      got[static_cast<size_t>(comm.rank())] = v;
      EXPECT_EQ(sum_counts(comm, comm.rank() + 1), p * (p + 1) / 2);
    }));
    for (int j = 0; j < 5; ++j) {
      double want = part(0, j);
      for (int r = 1; r < p; ++r) want += part(r, j);  // rank order, as documented
      for (int r = 0; r < p; ++r) EXPECT_EQ(got[r][j], want) << "rank " << r << " of " << p;
    }
  }
}

TEST(Together, TheLowestFailingRanksErrorReachesEveryRankWithItsKind) {
  const auto errors = run_ranks(4, [](const Communicator& comm) {
    together(comm, [&] {
      if (comm.rank() == 3) throw std::runtime_error("rank three's trouble");
      if (comm.rank() == 2) throw SettingError("batch_size", "too big for the data");
    });
  });
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(errors[r]) << "rank " << r << " went on alone";
    try {
      std::rethrow_exception(errors[r]);
    } catch (const AgreedError& a) {
      EXPECT_EQ(a.rank(), 2);
      EXPECT_STREQ(a.what(), "too big for the data");
      try {
        std::rethrow_exception(a.cause());
      } catch (const SettingError& s) {
        EXPECT_EQ(s.setting(), "batch_size");
      } catch (...) {
        ADD_FAILURE() << "rank " << r << ": the cause lost its kind";
      }
    } catch (...) {
      ADD_FAILURE() << "rank " << r << ": not an AgreedError";
    }
  }
  // Nothing failed: nothing thrown. A nested failure keeps the rank it came from.
  expect_no_errors(run_ranks(3, [](const Communicator& comm) { together(comm, [] {}); }));
  const auto nested = run_ranks(3, [](const Communicator& comm) {
    together(comm, [&] {
      together(comm, [&] {
        if (comm.rank() == 1) throw InputError("row 9: not a number");
      });
    });
  });
  for (const auto& e : nested) {
    ASSERT_TRUE(e);
    try {
      std::rethrow_exception(e);
    } catch (const AgreedError& a) {
      EXPECT_EQ(a.rank(), 1);
      EXPECT_STREQ(a.what(), "row 9: not a number");
    }
  }
}

// Every rank's fit of its shard (with the others) against one process's fit of all the rows.
void expect_sharded_fit_matches(const HostDataset& ds, int p, ExactMethod m, bool intercept, double ridge,
                                const std::vector<double>* weights, const std::string& what) {
  LeastSquaresOptions o;
  o.method = m;
  o.intercept = intercept;
  o.ridge = ridge;
  o.weights = weights;
  const LeastSquaresFit one = least_squares(ds, o);
  std::vector<LeastSquaresFit> fits(static_cast<size_t>(p));
  expect_no_errors(run_ranks(p, [&](const Communicator& comm) {
    const Shard s = shard_of(ds.n, comm.rank(), comm.size());
    const HostDataset mine = rows_of(ds, s);
    std::vector<double> v;
    LeastSquaresOptions so = o;
    if (weights) {
      v = rows_of(*weights, s);
      so.weights = &v;
    }
    so.comm = &comm;
    so.first_row = s.begin;
    fits[static_cast<size_t>(comm.rank())] = least_squares(mine, so);
  }));
  for (int r = 0; r < p; ++r) {
    const std::string at = what + " rank " + std::to_string(r) + " of " + std::to_string(p);
    test::expect_same_fit(fits[r], one, at);
    // Every rank did the same arithmetic on the same sums: the same bits.
    EXPECT_EQ(fits[r].w, fits[0].w) << at;
    EXPECT_EQ(fits[r].b, fits[0].b) << at;
    EXPECT_EQ(fits[r].observations, one.observations) << at;
  }
}

TEST(ShardedLeastSquares, EveryModelOnEveryRankMatchesOneProcess) {
  const HostDataset ds = test::noisy(203, 4, 7);  // 203 rows: no rank count divides them
  std::vector<double> v(static_cast<size_t>(ds.n));
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.25, 4);
  for (double& x : v) x = u(rng);
  v[150] = 0;
  for (int p : {2, 3, 5})
    for (ExactMethod m : {ExactMethod::Auto, ExactMethod::Cholesky, ExactMethod::Qr, ExactMethod::Svd})
      for (bool intercept : {true, false})
        for (bool weighted : {false, true})
          for (double ridge : {0.0, 2.5})
            expect_sharded_fit_matches(ds, p, m, intercept, ridge, weighted ? &v : nullptr,
                                       std::string(exact_method_name(m)) + (intercept ? "" : " no-intercept") +
                                           (weighted ? " weighted" : "") + (ridge > 0 ? " ridge" : ""));
}

TEST(ShardedLeastSquares, RanksWithoutRowsAndFloatData) {
  // 7 rows on 5 ranks: blocks of 2, rank 4 holds none; float data only (the synthetic kind).
  const HostDataset small = test::noisy(7, 2, 8, /*wide=*/false);
  for (ExactMethod m : {ExactMethod::Auto, ExactMethod::Qr})
    expect_sharded_fit_matches(small, 5, m, true, 0, nullptr, std::string("7 rows ") + exact_method_name(m));
  // Shards larger than the streamed QR's chunk (4096 rows), refinement on an ill-conditioned design.
  HostDataset big = test::noisy(9000, 3, 9);
  for (int64_t i = 0; i < big.n; ++i) {  // column 2 nearly column 0 (cond ~1e5)
    big.X64[i * 3 + 2] = big.X64[i * 3] + 1e-5 * std::sin(0.37 * static_cast<double>(i));
    big.X[i * 3 + 2] = static_cast<float>(big.X64[i * 3 + 2]);
  }
  for (ExactMethod m : {ExactMethod::Auto, ExactMethod::Qr, ExactMethod::Svd})
    expect_sharded_fit_matches(big, 3, m, true, 0, nullptr, std::string("9000 rows ") + exact_method_name(m));
}

TEST(ShardedLeastSquares, ABadValueInOneShardEndsEveryRankWithTheMessageOfOneProcess) {
  HostDataset ds = test::noisy(203, 4, 10);
  ds.X64[170 * 4 + 1] = NAN;  // row 171, held by rank 2 of 3 (rows 136..202)
  std::string want;
  try {
    least_squares(ds, {});
  } catch (const InputError& e) {
    want = e.what();
  }
  ASSERT_NE(want.find("row 171"), std::string::npos) << want;
  const auto errors = run_ranks(3, [&](const Communicator& comm) {
    const Shard s = shard_of(ds.n, comm.rank(), comm.size());
    LeastSquaresOptions o;
    o.comm = &comm;
    o.first_row = s.begin;
    least_squares(rows_of(ds, s), o);
  });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(errors[r]) << "rank " << r;
    try {
      std::rethrow_exception(errors[r]);
    } catch (const AgreedError& a) {
      EXPECT_EQ(want, a.what()) << "rank " << r;
      EXPECT_EQ(a.rank(), 2);
    }
  }
}

// A device that reduces each rank's shard to its Gram matrix by plain loops over the view (the
// GPU module's contract, gpu_backend.hpp), to check that a job of GPU ranks adds what each
// rank's device returns. The other entry points are not used by Cholesky.
class GramDevice final : public GpuBackend {
 public:
  GpuProbe probe() const override { return {true, "stand-in", "", ""}; }
  std::unique_ptr<Trainer> make_trainer(int) const override { throw std::logic_error("no trainer"); }
  std::unique_ptr<Trainer> make_sharded_trainer(int, const ShardPlacement&) const override {
    throw std::logic_error("no trainer");
  }
  TrainResult train_streamed(const RowChunks&, const TrainOptions&, int64_t, const EpochCallback&,
                             const HostDataset*, const ShardPlacement*) const override {
    throw std::logic_error("no trainer");
  }
  std::vector<double> upload_seconds(int64_t, int) const override { throw std::logic_error("no copies"); }
  void design_gram(const ScaledDesignView& z, double* G) const override {
    ++calls;
    const int64_t c = z.columns(), k = z.coefficients();
    std::vector<double> row(static_cast<size_t>(c));
    std::fill(G, G + c * c, 0.0);
    for (int64_t i = 0; i < z.n; ++i) {
      const double sv = std::sqrt(z.weights ? z.weights[i] : 1.0);
      if (z.intercept) row[0] = design_intercept_cell(z.scale[0], sv);
      for (int64_t j = 0; j < z.d; ++j) {
        const double x = z.X64 ? z.X64[i * z.d + j] : z.X32[i * z.d + j];
        row[j + (z.intercept ? 1 : 0)] = design_feature_cell(x, z.shift[j], z.scale[j + (z.intercept ? 1 : 0)], sv);
      }
      row[k] = design_label_cell(z.y64 ? z.y64[i] : z.y32[i], z.shift_y, sv);
      for (int64_t b = 0; b < c; ++b)
        for (int64_t a = 0; a <= b; ++a) G[b * c + a] += row[a] * row[b];
    }
  }
  void design_qr(const ScaledDesignView&, double*) const override { throw std::logic_error("no qr"); }
  std::vector<double> copy_seconds(int64_t, int) const override { return {}; }
  void memory_info(int64_t*, int64_t*) const override {}
  mutable std::atomic<int> calls{0};
};

TEST(ShardedLeastSquares, EachRankReducesItsShardOnItsDevice) {
  const HostDataset ds = test::noisy(203, 4, 11);
  LeastSquaresOptions o;
  o.method = ExactMethod::Cholesky;
  const LeastSquaresFit one = least_squares(ds, o);
  const GramDevice device;
  std::vector<LeastSquaresFit> fits(3);
  expect_no_errors(run_ranks(3, [&](const Communicator& comm) {
    const Shard s = shard_of(ds.n, comm.rank(), comm.size());
    LeastSquaresOptions so = o;
    so.gpu = &device;
    so.comm = &comm;
    so.first_row = s.begin;
    fits[static_cast<size_t>(comm.rank())] = least_squares(rows_of(ds, s), so);
  }));
  EXPECT_EQ(device.calls.load(), 3) << "one reduction per rank";
  for (const auto& f : fits) test::expect_same_fit(f, one, "3 ranks, each with its device");
}

// SGD: features ~ N(0, 1), so every minibatch's Hessian has λ_max ≤ scale·max‖(x, 1)‖²; the
// test keeps lr·λ_max < 2, where a step maps two nearby weight vectors no further apart. The
// sharded and the single-process runs then differ only by rounding: per step, each float32
// weight update rounds once (≤ 2^-24·|w| each side) and the two double gradient sums of a batch
// of b terms differ by at most 2·b·2^-53·Σ|r·x|. Over T steps the distance is at most the sum of
// those: T·(√(d+1)·2^-23·W + lr·scale·2·b·2^-53·G), W the largest weight, G the largest mean
// |r·x| sum of a batch (bounded here by max|r|·max‖x̃‖).
TEST(ShardedSgd, EveryRankTakesTheSameStepsAsOneProcessUpToRounding) {
  const int64_t n = 203, d = 3;
  const HostDataset ds = test::gaussian_rows(n, d, 21);
  TrainOptions opt;
  opt.batch_size = 10;
  opt.lr = 0.01f;
  opt.epochs = 3;
  std::vector<std::vector<uint32_t>> perms;
  for (int64_t e = 0; e < opt.epochs; ++e) {
    perms.emplace_back(static_cast<size_t>(n));
    thrust_compatible_permutation(n, shuffle_seed(opt.seed, e), perms.back().data(), 1);
  }
  double xmax = 0, ymax = 0;
  for (int64_t i = 0; i < n; ++i) {
    double s = 1;
    for (int64_t j = 0; j < d; ++j) s += static_cast<double>(ds.X[i * d + j]) * ds.X[i * d + j];
    xmax = std::max(xmax, s);
    ymax = std::max(ymax, std::fabs(static_cast<double>(ds.y[i])));
  }
  const double scale = grad_scale(opt.loss);
  ASSERT_LT(opt.lr * scale * xmax, 2.0) << "the bound below needs non-expanding steps";

  for (const bool momentum : {false, true}) {
    TrainOptions o = opt;
    if (momentum) o.optimizer = Optimizer::Momentum;
    auto single = make_cpu_trainer(1);
    single->load(ds, nullptr);
    const TrainResult one = single->fit_with_permutations(o, perms);
    for (int p : {2, 3, 4}) {
      std::vector<TrainResult> res(static_cast<size_t>(p)), again(static_cast<size_t>(p));
      for (auto* out : {&res, &again})
        expect_no_errors(run_ranks(p, [&](const Communicator& comm) {
          const Shard s = shard_of(n, comm.rank(), comm.size());
          ShardPlacement place;
          place.comm = &comm;
          place.first_row = s.begin;
          place.total_rows = n;
          auto t = make_cpu_trainer(1, place);
          t->load(rows_of(ds, s), nullptr);
          (*out)[static_cast<size_t>(comm.rank())] = t->fit_with_permutations(o, perms);
        }));
      double W = std::fabs(one.b);
      for (float w : one.w) W = std::max<double>(W, std::fabs(w));
      W = 2 * W + 1;  // the largest weight over the run: the start is ~N(0, 0.01), the end ≤ W
      const double steps = static_cast<double>(o.epochs * ((n + o.batch_size - 1) / o.batch_size));
      const double rmax = ymax + W * std::sqrt(xmax);
      const double G = rmax * std::sqrt(xmax);
      const double mom = momentum ? 1.0 / (1.0 - o.momentum) : 1.0;  // momentum sums past steps' rounding
      const double bound = mom * steps *
                           (std::sqrt(d + 1.0) * std::ldexp(W, -23) + o.lr * scale * 2 * o.batch_size * std::ldexp(G, -53));
      for (int r = 0; r < p; ++r) {
        const std::string at = (momentum ? "momentum, " : "") + std::string("rank ") + std::to_string(r) + " of " +
                               std::to_string(p);
        EXPECT_EQ(res[r].w, res[0].w) << at << ": every rank holds the same model";
        EXPECT_EQ(res[r].b, res[0].b) << at;
        EXPECT_EQ(res[r].w, again[r].w) << at << ": a rerun gives the same bits";
        EXPECT_EQ(res[r].epoch_losses, again[r].epoch_losses) << at;
        double dist = (res[r].b - one.b) * (res[r].b - one.b);
        for (int64_t j = 0; j < d; ++j) dist += (res[r].w[j] - one.w[j]) * (res[r].w[j] - one.w[j]);
        EXPECT_LE(std::sqrt(dist), bound) << at;
        ASSERT_EQ(res[r].epoch_losses.size(), one.epoch_losses.size()) << at;
        for (size_t e = 0; e < one.epoch_losses.size(); ++e)
          EXPECT_NEAR(res[r].epoch_losses[e], one.epoch_losses[e], 1e-5 * one.epoch_losses[e] + 1e-9) << at;
      }
    }
  }
}

// The job's two-level order of streamed SGD (cpu_trainer.hpp: train_streamed with a shard): the
// chunks in the order of chunk_order_seed, chunk k being every rank's chunk k of its rows in rank
// order, its rows in the order of Thrust's shuffle (chunk_rows_seed); as the job's row numbers.
std::vector<uint32_t> job_two_level(const std::vector<Shard>& shards, int64_t chunk, uint64_t seed, int64_t epoch) {
  int64_t most = 0;
  for (const Shard& s : shards) most = std::max(most, s.rows());
  const int64_t chunks = (most + chunk - 1) / chunk;
  std::vector<uint32_t> order(static_cast<size_t>(chunks)), out;
  if (chunks == 1) order[0] = 0;
  else thrust_compatible_permutation(chunks, chunk_order_seed(seed, epoch), order.data());
  for (const uint32_t k : order) {
    std::vector<uint32_t> rows;
    for (const Shard& s : shards)
      for (int64_t i = k * chunk; i < std::min(s.rows(), (k + 1) * chunk); ++i) rows.push_back(static_cast<uint32_t>(s.begin + i));
    std::vector<uint32_t> p(rows.size());
    thrust_compatible_permutation(static_cast<int64_t>(rows.size()), chunk_rows_seed(seed, epoch, k), p.data());
    for (const uint32_t i : p) out.push_back(rows[i]);
  }
  return out;
}

// Streamed SGD on a job's shards takes the in-memory sharded trainer's steps on the job's
// two-level order, bit for bit, on every rank (a rank with no rows too); its losses are the
// in-memory ones to the rounding of a regrouped sum.
TEST(ShardedStreamedSgd, TheSameStepsAsTheInMemoryJobOnTheJobsTwoLevelOrder) {
  struct Case {
    int64_t n, chunk;
    int ranks;
  };
  for (const Case c : {Case{203, 7, 2}, Case{203, 30, 3}, Case{203, 500, 3}, Case{4, 1, 3}}) {
    const int64_t d = 3;
    const HostDataset ds = test::gaussian_rows(c.n, d, 17);
    std::vector<TrainOptions> runs(3);
    runs[0].epochs = 3, runs[0].batch_size = 10;
    runs[1].epochs = 4, runs[1].batch_size = 10, runs[1].optimizer = Optimizer::Adam, runs[1].lr = 0.01f,
    runs[1].average = true;
    runs[2].epochs = 30, runs[2].batch_size = 10, runs[2].early_stopping = true, runs[2].patience = 2, runs[2].lr = 0.1f;
    if (c.n < 10) for (auto& o : runs) o.batch_size = 2;
    std::vector<Shard> shards;
    for (int r = 0; r < c.ranks; ++r) shards.push_back(shard_of(c.n, r, c.ranks));
    for (size_t k = 0; k < runs.size(); ++k) {
      const TrainOptions& opt = runs[k];
      std::vector<std::vector<uint32_t>> perms;
      for (int64_t e = 0; e < opt.epochs; ++e) perms.push_back(job_two_level(shards, c.chunk, opt.seed, e));
      std::vector<TrainResult> want(static_cast<size_t>(c.ranks)), got(want.size());
      expect_no_errors(run_ranks(c.ranks, [&](const Communicator& comm) {
        const Shard& s = shards[static_cast<size_t>(comm.rank())];
        ShardPlacement place;
        place.comm = &comm;
        place.first_row = s.begin;
        place.total_rows = c.n;
        const HostDataset mine = rows_of(ds, s);
        auto mem = make_cpu_trainer(1, place);
        mem->load(mine, nullptr);
        want[static_cast<size_t>(comm.rank())] = mem->fit_with_permutations(opt, perms);
        const ResidentRows src(mine);
        got[static_cast<size_t>(comm.rank())] = train_streamed(src, opt, c.chunk, {}, nullptr, &place);
      }));
      for (int r = 0; r < c.ranks; ++r) {
        const std::string at = std::to_string(c.n) + " rows in chunks of " + std::to_string(c.chunk) + " on " +
                               std::to_string(c.ranks) + " ranks, run " + std::to_string(k) + ", rank " + std::to_string(r);
        EXPECT_EQ(got[r].w, want[r].w) << at;
        EXPECT_EQ(got[r].b, want[r].b) << at;
        EXPECT_EQ(got[r].w, got[0].w) << at << ": every rank holds the same model";
        EXPECT_EQ(got[r].epochs_run, want[r].epochs_run) << at;
        EXPECT_EQ(got[r].best_epoch, want[r].best_epoch) << at;
        ASSERT_EQ(got[r].epoch_losses.size(), want[r].epoch_losses.size()) << at;
        for (size_t e = 0; e < want[r].epoch_losses.size(); ++e)
          EXPECT_LE(std::fabs(got[r].epoch_losses[e] - want[r].epoch_losses[e]),
                    2.0 * static_cast<double>(c.n - 1) * (DBL_EPSILON / 2) * want[r].epoch_losses[e])
              << at << ", epoch " << e + 1;
      }
    }
  }
}

// The whole streamed route on a job's shards (--memory-limit under mpirun): the split, the
// standardisation and the metrics are the job's, every rank ends with the same model, a rerun
// gives the same bits, and one rank is the one process's streamed run.
TEST(ShardedStreamedPipeline, EveryRankEndsWithTheSameModelAndTheJobsMetrics) {
  test::TempDir dir;
  const std::string path = dir.file("d.npy");
  const int64_t n = 2000;
  test::write_npy_dataset(path, test::gaussian_rows(n, 3, 31), 1000.0);
  // A limit per rank below its shard's 48 bytes a row (a float64 file: float32 and float64 copies
  // of 3 features and y) and above twice what its validation share takes (a fifth of the rows,
  // twice over for SGD: 19.2 bytes a row).
  const auto limit_for = [&](int ranks) { return static_cast<uint64_t>(44 * ((n + ranks - 1) / ranks)); };
  for (const Method method : {Method::Sgd, Method::Normal}) {
    TrainPlan plan;
    plan.csv_path = path;
    plan.npy_input = true;
    plan.method = method;
    plan.device = DeviceChoice::Cpu;
    plan.val_fraction = 0.2;
    plan.standardize = method == Method::Sgd;
    plan.sgd.epochs = 4;
    plan.memory_limit = limit_for(1);
    plan.exact.method = ExactMethod::Auto;
    const TrainOutcome one = run_training(plan, {}, {}, {});
    ASSERT_TRUE(one.streamed);
    TrainPlan in_memory = plan;
    in_memory.memory_limit = 0;
    const TrainOutcome whole = run_training(in_memory, {}, {}, {});
    for (int p : {1, 2, 3}) {
      std::vector<TrainOutcome> outs(static_cast<size_t>(p)), again(outs.size());
      for (auto* o : {&outs, &again})
        expect_no_errors(run_ranks(p, [&](const Communicator& comm) {
          TrainPlan mine = plan;
          mine.cluster = &comm;
          mine.memory_limit = limit_for(p);
          (*o)[static_cast<size_t>(comm.rank())] = run_training(mine, {}, {}, {});
        }));
      for (int r = 0; r < p; ++r) {
        const TrainOutcome& o = outs[r];
        const std::string at = std::string(method_name(method)) + " rank " + std::to_string(r) + " of " + std::to_string(p);
        EXPECT_TRUE(o.streamed) << at;
        EXPECT_EQ(o.train_rows, one.train_rows) << at;
        EXPECT_EQ(o.validation_rows, one.validation_rows) << at;
        EXPECT_EQ(o.fit.w, outs[0].fit.w) << at;
        EXPECT_EQ(o.fit.w, again[r].fit.w) << at << ": a rerun gives the same bits";
        EXPECT_EQ(o.fit.epoch_losses, again[r].fit.epoch_losses) << at;
        EXPECT_EQ(o.train_metrics.rows, one.train_metrics.rows) << at;
        if (p == 1) {
          EXPECT_EQ(o.fit.w, one.fit.w) << at << ": one rank is one process";
        } else if (method == Method::Normal) {
          EXPECT_TRUE(test::all_close(whole.fit.w, o.fit.w, 1e-8, 1e-8)) << at;
        } else {
          // Another order of the same rows (each job chunk holds every rank's chunk): 4 epochs of
          // SGD on standardised columns land near the in-memory fit, not on its bits.
          EXPECT_NEAR(o.train_metrics.r2, whole.train_metrics.r2, 0.02) << at;
        }
        EXPECT_EQ(o.validation_metrics.rows, one.validation_metrics.rows) << at;
      }
    }
  }
}

// The whole route (pipeline.hpp) on shards of an .npy file: split, standardisation, SGD and the
// exact solver, against one process on the same file.
TEST(ShardedPipeline, AJobOnAnNpyFileReportsWhatOneProcessReports) {
  test::TempDir dir;
  const std::string path = dir.file("d.npy");
  test::write_npy_dataset(path, test::gaussian_rows(157, 3, 31), 1000.0);  // offsets: standardisation matters
  for (const Method method : {Method::Sgd, Method::Normal}) {
    TrainPlan plan;
    plan.csv_path = path;
    plan.npy_input = true;
    plan.method = method;
    plan.device = DeviceChoice::Cpu;
    plan.val_fraction = 0.2;
    plan.standardize = method == Method::Sgd;
    plan.sgd.epochs = 4;
    plan.exact.method = ExactMethod::Auto;
    const TrainOutcome one = run_training(plan, {}, {}, {});
    for (int p : {2, 3}) {
      std::vector<TrainOutcome> outs(static_cast<size_t>(p));
      expect_no_errors(run_ranks(p, [&](const Communicator& comm) {
        TrainPlan mine = plan;
        mine.cluster = &comm;
        outs[static_cast<size_t>(comm.rank())] = run_training(mine, {}, {}, {});
      }));
      for (int r = 0; r < p; ++r) {
        const TrainOutcome& o = outs[r];
        const std::string at = std::string(method_name(method)) + " rank " + std::to_string(r) + " of " + std::to_string(p);
        EXPECT_EQ(o.train_rows, one.train_rows) << at;
        EXPECT_EQ(o.validation_rows, one.validation_rows) << at;
        ASSERT_EQ(o.fit.w.size(), one.fit.w.size()) << at;
        EXPECT_EQ(o.fit.w, outs[0].fit.w) << at;
        // SGD here: 4 epochs of 13 steps on standardised columns; the distance bound of the test
        // above is ~1e-5 for these sizes; the exact fit agrees to its κ-based bound (~1e-10).
        const double tol = method == Method::Sgd ? 1e-4 : 1e-8;
        EXPECT_TRUE(test::all_close(one.fit.w, o.fit.w, tol, tol)) << at;
        EXPECT_NEAR(o.fit.b, one.fit.b, tol * (1 + std::fabs(one.fit.b))) << at;
        EXPECT_NEAR(o.train_metrics.mse, one.train_metrics.mse, 1e-6 * one.train_metrics.mse) << at;
        EXPECT_NEAR(o.validation_metrics.r2, one.validation_metrics.r2, 1e-6) << at;
        EXPECT_EQ(o.train_metrics.rows, one.train_metrics.rows) << at;
        if (method == Method::Normal) {
          ASSERT_TRUE(o.fit.exact) << at;
          EXPECT_NEAR(o.inference.sigma, one.inference.sigma, 1e-9 * one.inference.sigma) << at;
        }
      }
    }
  }
}

TEST(ShardedPipeline, MoreRanksThanRowsIsOneAgreedError) {
  TrainPlan plan;
  plan.synthetic.examples = 2;
  plan.synthetic.features = 1;
  validate_synthetic(plan.synthetic);
  plan.device = DeviceChoice::Cpu;
  plan.method = Method::Normal;
  const auto errors = run_ranks(3, [&](const Communicator& comm) {
    TrainPlan mine = plan;
    mine.cluster = &comm;
    run_training(mine, {}, {}, {});
  });
  for (const auto& e : errors) {
    ASSERT_TRUE(e);
    try {
      std::rethrow_exception(e);
    } catch (const AgreedError& a) {
      EXPECT_NE(std::string(a.what()).find("2 rows for 3 ranks"), std::string::npos) << a.what();
    }
  }
}

}  // namespace
}  // namespace linreg

namespace linreg {
namespace {

// SGD's ranks must all sum the same way (NCCL on GPU ranks, MPI on CPU ranks), so make_fitter
// has them agree on the device: here, with no usable GPU, --device gpu is one agreed error on
// every rank, and auto puts every rank on the CPU with the same note, including when only one
// rank's shard has row weights (a rank with no rows has none).
TEST(GpuForRank, EachLocalRankSeesAGpuOfItsOwnWhereThereAreSeveral) {
  LaunchInfo info;
  info.local_size = 4;
  std::vector<std::string> got;
  for (int r = 0; r < 4; ++r) {
    info.local_rank = r;
    got.push_back(gpu_for_rank(info, nullptr, 2));  // two GPUs, nothing set: local rank mod 2
  }
  EXPECT_EQ(got, (std::vector<std::string>{"0", "1", "0", "1"}));
  info.local_rank = 3;
  EXPECT_EQ(gpu_for_rank(info, nullptr, 1), "");  // one GPU: nothing to choose
  EXPECT_EQ(gpu_for_rank(info, nullptr, 0), "");
  // A list every rank of the node was given (a scheduler's): the entry of the local rank.
  EXPECT_EQ(gpu_for_rank(info, "4,5,6", 8), "4");
  info.local_rank = 1;
  EXPECT_EQ(gpu_for_rank(info, "GPU-aa, GPU-bb", 8), "GPU-bb");
  // A list of one (a scheduler's GPU for this rank), an empty one, or a malformed one: kept.
  EXPECT_EQ(gpu_for_rank(info, "2", 8), "");
  EXPECT_EQ(gpu_for_rank(info, "", 8), "");
  EXPECT_EQ(gpu_for_rank(info, "0,,1", 8), "");
  // One rank on the machine: whatever is set stays.
  info.local_size = 1;
  info.local_rank = 0;
  EXPECT_EQ(gpu_for_rank(info, "0,1", 8), "");
  EXPECT_EQ(gpu_for_rank(info, nullptr, 8), "");
}

TEST(SharedGpu, RanksOnOneGpuAreNamedAlikeOnEveryRank) {
  // Thread ranks share one host: the PCI addresses alone tell their GPUs apart.
  const auto verdicts = [](const std::vector<std::string>& bus) {
    std::vector<std::string> got(bus.size());
    const auto errors = test::run_ranks(static_cast<int>(bus.size()), [&](const Communicator& comm) {
      got[static_cast<size_t>(comm.rank())] = shared_gpu(comm, bus[static_cast<size_t>(comm.rank())]);
    });
    for (const auto& e : errors) EXPECT_FALSE(e);
    return got;
  };
  EXPECT_EQ(verdicts({"0000:19:00.0", "0000:3b:00.0", "0000:4c:00.0"}), (std::vector<std::string>(3, "")));
  const std::vector<std::string> shared = verdicts({"0000:19:00.0", "0000:3b:00.0", "0000:19:00.0"});
  EXPECT_EQ(shared[0], "ranks 0 and 2 share one GPU, and NCCL needs a GPU of its own for each rank");
  EXPECT_EQ(shared[1], shared[0]);
  EXPECT_EQ(shared[2], shared[0]);
  // An address the probe could not read counts as device 0 of the host: two such ranks share.
  EXPECT_NE(verdicts({"", ""})[1].find("ranks 0 and 1 share one GPU"), std::string::npos);
  EXPECT_EQ(verdicts({"0000:19:00.0"}), (std::vector<std::string>{""}));
}

TEST(ShardedSgdPlacement, EveryRankAgreesOnTheDevice) {
  if (probe_gpu().usable) GTEST_SKIP() << "a GPU is usable here: the thread ranks would share it (NCCL takes one rank a GPU)";
  TrainOptions opt;
  const auto placed = [&](DeviceChoice device, bool weights_on_rank1, std::vector<std::string>* notes) {
    return run_ranks(3, [&](const Communicator& comm) {
      ShardPlacement shard;
      shard.comm = &comm;
      shard.total_rows = 30;
      shard.first_row = 10 * comm.rank();
      std::string note;
      auto fitter = make_fitter(Method::Sgd, device, opt, {}, &note, weights_on_rank1 && comm.rank() == 1, &shard);
      EXPECT_EQ(fitter->backend(), "cpu");
      if (notes) (*notes)[static_cast<size_t>(comm.rank())] = note;
    });
  };
  const auto errors = placed(DeviceChoice::Gpu, false, nullptr);
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(errors[r]) << "rank " << r << " went on without a GPU";
    try {
      std::rethrow_exception(errors[r]);
    } catch (const AgreedError& a) {
      EXPECT_EQ(a.rank(), 0);
      EXPECT_NE(std::string(a.what()).find("no usable GPU"), std::string::npos) << a.what();
    } catch (...) {
      ADD_FAILURE() << "rank " << r << ": not an AgreedError";
    }
  }
  for (const bool weighted : {false, true}) {
    std::vector<std::string> notes(3);
    const auto ok = placed(DeviceChoice::Auto, weighted, &notes);
    for (int r = 0; r < 3; ++r) EXPECT_FALSE(ok[r]) << "rank " << r;
    for (int r = 0; r < 3; ++r) EXPECT_EQ(notes[r], notes[0]) << "rank " << r;
    if (weighted) EXPECT_EQ(notes[0], "weighted SGD runs on the CPU only");
    else EXPECT_FALSE(notes[0].empty());
  }
}

}  // namespace
}  // namespace linreg
