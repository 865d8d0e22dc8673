// SGD's step rules on every backend (the CPU trainer; the GPU trainer's cublas, fused and
// persistent strategies, skipped without a usable GPU): the optimizers and schedules against PyTorch's own trajectories
// (tests/fixtures/optim/sgd_trajectories.json, written by make_sgd_fixtures.py beside it), the
// penalties against the penalised optimum computed here independently (the ridge closed form
// from the exact solver for l2; coordinate descent in double for l1 and elasticnet, whose
// support must match exactly), averaging against the mean of the iterates, early stopping
// against the epoch it names, each rule's bad values; on the GPU also the CPU's run of each
// PyTorch case and bit-identical reruns.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <ostream>
#include <string>
#include <vector>

#include "host/core/config.hpp"
#include "host/core/dataset.hpp"
#include "host/core/error.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/gpu_backend.hpp"
#include "host/train/least_squares.hpp"
#include "host/train/trainer.hpp"
#include "support.hpp"

namespace linreg {
namespace {

using test::all_close;

std::vector<std::vector<uint32_t>> in_order(int64_t n, int64_t epochs) {
  std::vector<uint32_t> id(static_cast<size_t>(n));
  std::iota(id.begin(), id.end(), 0u);
  return std::vector<std::vector<uint32_t>>(static_cast<size_t>(epochs), id);
}

Optimizer optimizer_of(const std::string& s) {
  if (s == "momentum") return Optimizer::Momentum;
  if (s == "nesterov") return Optimizer::Nesterov;
  if (s == "adam") return Optimizer::Adam;
  if (s == "adamw") return Optimizer::AdamW;
  return Optimizer::Sgd;
}

LrSchedule schedule_of(const std::string& s) {
  if (s == "step") return LrSchedule::Step;
  if (s == "cosine") return LrSchedule::Cosine;
  if (s == "invscaling") return LrSchedule::InvScaling;
  if (s == "warmup-cosine") return LrSchedule::WarmupCosine;
  return LrSchedule::Constant;
}

// Where a rule runs: the CPU trainer, or the GPU trainer with a strategy.
struct Backend {
  const char* name;
  bool gpu;
  Strategy strategy;
};
void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
const Backend kBackends[] = {{"cpu", false, Strategy::Auto},
                             {"gpu_cublas", true, Strategy::Cublas},
                             {"gpu_fused", true, Strategy::Fused},
                             {"gpu_persistent", true, Strategy::Persistent}};

class SgdRulesOn : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().gpu) {
      const GpuProbe probe = probe_gpu();
      if (!probe.usable) GTEST_SKIP() << "no usable GPU: " << probe.reason;
    }
  }
  std::unique_ptr<Trainer> trainer() const {
    return GetParam().gpu ? gpu_backend().make_trainer(0) : make_cpu_trainer(1);
  }
  // Options for this backend: its strategy, and the rest as the test sets them.
  TrainOptions options() const {
    TrainOptions o;
    o.strategy = GetParam().strategy;
    return o;
  }
  // The same start as the default (initial_weights of the seed) given explicitly: the run takes
  // the rules' path with no rule changed, so a plain run to compare with bit for bit.
  static void start_explicitly(TrainOptions& o, int64_t d) { o.initial_w = initial_weights(d, o.seed); }
};

INSTANTIATE_TEST_SUITE_P(Backends, SgdRulesOn, ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& i) { return std::string(i.param.name); });

TEST_P(SgdRulesOn, OptimizersAndSchedulesFollowPyTorch) {
  // Tolerance, derived. PyTorch computes each step in float32 (the gradient Σ over 4 rows, the
  // state updates, the step); we compute it in double and round the parameter and the state once.
  // Each of the ~8 float32 operations of a step is off by at most half an ulp of its result, so
  // one step's parameters differ by a few ulps of their size; the iterations here do not expand
  // errors (small learning rates on a well-conditioned problem), so after T steps the two
  // trajectories are within T·16 ulps: rtol T·16·FLT_EPSILON, with an absolute floor at 0.1 (the
  // weights' scale) for a coordinate that passes near 0. The loss is a smooth function of the
  // parameters with gradient of size ≤ 10 here, and X as float32 differs from the JSON's decimals
  // by 2^-24 relative: a 1e-6 + 10·(parameter tolerance) relative bound covers both.
  const nlohmann::json fx =
      nlohmann::json::parse(test::read_file(test::source_path("tests/fixtures/optim/sgd_trajectories.json")));
  ASSERT_EQ(fx["loss"], "mse");
  const int64_t n = fx["n"], d = fx["d"], batch = fx["batch"], epochs = fx["epochs"];
  HostDataset ds;
  ds.n = n;
  ds.d = d;
  for (const auto& row : fx["X"])
    for (const auto& v : row) ds.X.push_back(v.get<float>());
  for (const auto& v : fx["y"]) ds.y.push_back(v.get<float>());
  auto trainer = this->trainer();
  trainer->load(ds, nullptr);
  auto cpu = make_cpu_trainer(1);  // on the GPU, also the CPU's run of each case
  cpu->load(ds, nullptr);
  ASSERT_GE(fx["cases"].size(), 11u);
  for (const auto& c : fx["cases"]) {
    const std::string name = c["name"];
    TrainOptions opt = options();
    opt.batch_size = batch;
    opt.epochs = epochs;
    opt.loss = LossKind::Mse;
    opt.lr = c["lr"].get<float>();
    opt.optimizer = optimizer_of(c["optimizer"]);
    opt.schedule = schedule_of(c["schedule"]);
    opt.momentum = c.value("momentum", 0.0);
    opt.beta1 = c.value("beta1", 0.9);
    opt.beta2 = c.value("beta2", 0.999);
    opt.eps = c.value("eps", 1e-8);
    opt.weight_decay = c.value("weight_decay", 0.0);
    opt.lr_step_epochs = c.value("lr_step_epochs", int64_t{10});
    opt.lr_gamma = c.value("lr_gamma", 0.1);
    opt.power_t = c.value("power_t", 0.25);
    opt.warmup_epochs = c.value("warmup_epochs", int64_t{0});
    for (const auto& v : fx["w0"]) opt.initial_w.push_back(v.get<float>());
    const TrainResult got = trainer->fit_with_permutations(opt, in_order(n, epochs));
    ASSERT_EQ(got.epoch_losses.size(), static_cast<size_t>(epochs)) << name;
    const auto& last = c["epochs"].back();
    std::vector<double> ref = last["w"].get<std::vector<double>>(), mine = test::to_double(got.w);
    ref.push_back(last["b"].get<double>());
    mine.push_back(got.b);
    const double steps = static_cast<double>(epochs * ((n + batch - 1) / batch));
    const double rtol = steps * 16 * FLT_EPSILON;
    EXPECT_TRUE(all_close(ref, mine, 0.1 * rtol, rtol)) << name;
    for (int64_t e = 0; e < epochs; ++e) {
      const double want = c["epochs"][e]["loss"].get<double>();
      const double t = static_cast<double>((e + 1) * ((n + batch - 1) / batch)) * 16 * FLT_EPSILON;
      EXPECT_NEAR(got.epoch_losses[e], want, (1e-6 + 10 * t) * want) << name << ", epoch " << e + 1;
    }
    if (GetParam().gpu) {
      // GPU against CPU: each is within rtol of PyTorch's trajectory, so within 2·rtol of each other.
      TrainOptions on_cpu = opt;
      on_cpu.strategy = Strategy::Auto;
      const TrainResult c_run = cpu->fit_with_permutations(on_cpu, in_order(n, epochs));
      std::vector<double> theirs = test::to_double(c_run.w);
      theirs.push_back(c_run.b);
      EXPECT_TRUE(all_close(theirs, mine, 0.2 * rtol, 2 * rtol)) << name << ": GPU vs CPU";
    }
    // Deterministic: the same run again gives the same bits.
    const TrainResult again = trainer->fit_with_permutations(opt, in_order(n, epochs));
    EXPECT_EQ(again.w, got.w) << name;
    EXPECT_EQ(again.b, got.b) << name;
  }
}

TEST(SgdRules, TheRulesChangeTheTrajectory) {
  // The fixture comparison is not vacuous: every case ends somewhere else than plain SGD does.
  const nlohmann::json fx =
      nlohmann::json::parse(test::read_file(test::source_path("tests/fixtures/optim/sgd_trajectories.json")));
  const auto& plain = fx["cases"][0];
  ASSERT_EQ(plain["name"], "sgd");
  for (size_t i = 1; i < fx["cases"].size(); ++i) {
    const auto& c = fx["cases"][i];
    EXPECT_GT(std::fabs(c["epochs"].back()["w"][0].get<double>() - plain["epochs"].back()["w"][0].get<double>()), 1e-4)
        << c["name"];
  }
}

// A regression problem with exact zeros in its best sparse fit: x_j ~ N(0, 1), y = 2x0 − x1 + 0.05x2 + noise.
HostDataset sparse_problem(int64_t n) {
  SyntheticSpec spec;
  spec.examples = n;
  spec.features = 5;
  spec.true_w = {2.0f, -1.0f, 0.05f, 0.0f, 0.0f};
  spec.true_b = 0.5f;
  spec.noise = 0.3f;
  spec.seed = 17;
  validate_synthetic(spec);
  return generate_synthetic_host(spec);
}

// min (1/n)·Σ ½(y − b − x·w)² + α·(ρ‖w‖₁ + (1−ρ)/2·‖w‖²) by cyclic coordinate descent in double on
// centred data (the intercept, not penalised, is then ȳ − x̄·w): the penalised optimum SGD must
// reach, computed without any of the code under test.
std::vector<double> coordinate_descent(const HostDataset& ds, double alpha, double rho, double& b) {
  const int64_t n = ds.n, d = ds.d;
  std::vector<double> mx(static_cast<size_t>(d), 0.0), w(static_cast<size_t>(d), 0.0), sq(static_cast<size_t>(d), 0.0);
  double my = 0;
  for (int64_t i = 0; i < n; ++i) {
    my += ds.y[i];
    for (int64_t j = 0; j < d; ++j) mx[j] += ds.X[i * d + j];
  }
  my /= n;
  for (auto& m : mx) m /= n;
  std::vector<double> r(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) r[i] = ds.y[i] - my;
  for (int64_t j = 0; j < d; ++j)
    for (int64_t i = 0; i < n; ++i) sq[j] += (ds.X[i * d + j] - mx[j]) * (ds.X[i * d + j] - mx[j]) / n;
  for (int sweep = 0; sweep < 2000; ++sweep) {
    double change = 0;
    for (int64_t j = 0; j < d; ++j) {
      double rho_j = 0;  // (1/n) Σ x̃_ij (r_i + x̃_ij w_j)
      for (int64_t i = 0; i < n; ++i) {
        const double x = ds.X[i * d + j] - mx[j];
        rho_j += x * (r[i] + x * w[j]) / n;
      }
      const double t = std::fabs(rho_j) - alpha * rho;
      const double wj = t > 0 ? std::copysign(t, rho_j) / (sq[j] + alpha * (1 - rho)) : 0.0;
      for (int64_t i = 0; i < n; ++i) r[i] -= (ds.X[i * d + j] - mx[j]) * (wj - w[j]);
      change = std::max(change, std::fabs(wj - w[j]));
      w[j] = wj;
    }
    if (change < 1e-15) break;
  }
  b = my;
  for (int64_t j = 0; j < d; ++j) b -= mx[j] * w[j];
  return w;
}

// Full-batch proximal gradient with a step below 1/L converges to the penalised optimum; with
// the schedule constant and 4000 steps at lr 0.5 on standard normal features (the Hessian's
// eigenvalues are within ~[0.8, 1.2] at n = 2000), the optimisation error is below 1e-12 and what
// remains is float32 rounding of the parameters and data (≈ 1e-7): 2e-5 absolute is an empirical
// margin on that.
TrainResult full_batch(Trainer& t, TrainOptions opt, const HostDataset& ds, Penalty penalty, double alpha, double rho) {
  t.load(ds, nullptr);
  opt.batch_size = ds.n;
  opt.epochs = 4000;
  opt.lr = 0.5f;
  opt.penalty = penalty;
  opt.alpha = alpha;
  opt.l1_ratio = rho;
  return t.fit(opt);
}

TEST_P(SgdRulesOn, L2PenaltyReachesRidge) {
  // scikit-learn's objective (1/n)·Σ ½ r² + (α/2)·‖w‖² is ridge's Σ r² + α_ridge·‖w‖² with
  // α_ridge = n·α (multiply by 2n): the exact solver's --ridge, a different method.
  const HostDataset ds = sparse_problem(2000);
  const double alpha = 0.05;
  const TrainResult got = full_batch(*trainer(), options(), ds, Penalty::L2, alpha, 0);
  LeastSquaresOptions lo;
  lo.method = ExactMethod::Qr;
  lo.ridge = static_cast<double>(ds.n) * alpha;
  const LeastSquaresFit exact = least_squares(ds, lo);
  for (int64_t j = 0; j < ds.d; ++j) EXPECT_NEAR(got.w[j], exact.w[j], 2e-5) << j;
  EXPECT_NEAR(got.b, exact.b, 2e-5);
}

TEST_P(SgdRulesOn, L1AndElasticNetReachTheSparseOptimumWithExactZeros) {
  const HostDataset ds = sparse_problem(2000);
  auto t = trainer();
  for (const auto& [penalty, alpha, rho] : {std::tuple{Penalty::L1, 0.1, 1.0}, std::tuple{Penalty::ElasticNet, 0.12, 0.8}}) {
    double b_ref = 0;
    const std::vector<double> ref = coordinate_descent(ds, alpha, rho, b_ref);
    const TrainResult got = full_batch(*t, options(), ds, penalty, alpha, rho);
    int zeros = 0;
    for (int64_t j = 0; j < ds.d; ++j) {
      EXPECT_EQ(got.w[j] == 0.0f, ref[j] == 0.0) << penalty_name(penalty) << " weight " << j << ": " << got.w[j]
                                                 << " vs " << ref[j];
      EXPECT_NEAR(got.w[j], ref[j], 2e-5) << penalty_name(penalty) << " weight " << j;
      zeros += ref[j] == 0.0;
    }
    EXPECT_GE(zeros, 2) << "the test needs weights the penalty removes";
    EXPECT_NEAR(got.b, b_ref, 2e-5) << penalty_name(penalty);
  }
}

TEST_P(SgdRulesOn, AveragingReportsTheMeanOfTheIterates) {
  // Full batches: one step per epoch, so the iterate after step t is the run of t epochs (started
  // explicitly, so that it takes the same path as the averaged run). The averaged run must report
  // their mean (in double, rounded once to float: within one ulp of the mean of float iterates,
  // rtol FLT_EPSILON).
  const HostDataset ds = sparse_problem(300);
  auto t = trainer();
  t->load(ds, nullptr);
  TrainOptions opt = options();
  opt.batch_size = ds.n;
  opt.lr = 0.1f;
  start_explicitly(opt, ds.d);
  std::vector<double> mean(static_cast<size_t>(ds.d + 1), 0.0);
  const int64_t steps = 7;
  for (int64_t e = 1; e <= steps; ++e) {
    opt.epochs = e;
    const TrainResult r = t->fit(opt);
    for (int64_t j = 0; j < ds.d; ++j) mean[j] += r.w[j] / static_cast<double>(steps);
    mean[ds.d] += r.b / static_cast<double>(steps);
  }
  opt.epochs = steps;
  opt.average = true;
  const TrainResult avg = t->fit(opt);
  std::vector<double> got = test::to_double(avg.w);
  got.push_back(avg.b);
  EXPECT_TRUE(all_close(mean, got, 1e-7, 2 * FLT_EPSILON));
  opt.average = false;
  const TrainResult last = t->fit(opt);
  EXPECT_NE(last.w, avg.w) << "the average differs from the last iterate";
}

TEST_P(SgdRulesOn, EarlyStoppingKeepsTheBestEpoch) {
  // With tol larger than any loss, no epoch counts as an improvement: training stops after
  // `patience` epochs beyond the first, and reports the model of the epoch with the lowest loss,
  // which is the plain run of that many epochs.
  const HostDataset ds = sparse_problem(300);
  auto t = trainer();
  t->load(ds, nullptr);
  TrainOptions opt = options();
  opt.epochs = 50;
  opt.lr = 0.05f;
  opt.early_stopping = true;
  opt.patience = 3;
  opt.tol = 1e9;
  const TrainResult r = t->fit(opt);
  EXPECT_EQ(r.epochs_run, 4);
  EXPECT_FALSE(r.stop_reason.empty());
  const auto best = std::min_element(r.epoch_losses.begin(), r.epoch_losses.end());
  EXPECT_EQ(r.best_epoch, best - r.epoch_losses.begin() + 1);
  TrainOptions plain = options();
  plain.epochs = r.best_epoch;
  plain.lr = 0.05f;
  start_explicitly(plain, ds.d);
  const TrainResult p = t->fit(plain);
  EXPECT_EQ(p.w, r.w);
  EXPECT_EQ(p.b, r.b);
  // tol 0 on a run that keeps improving: no early stop.
  opt.tol = 0;
  opt.epochs = 6;
  const TrainResult all = t->fit(opt);
  EXPECT_EQ(all.epochs_run, 6);
  EXPECT_TRUE(all.stop_reason.empty());

  // A best epoch that is not the last: validation labels all 0, so the validation loss
  // mean((x·w + b)²) grows as the model learns the training rows (w → the true weights, b → 0.5)
  // from its start near 0. Epoch 1 is the best; epochs 2 and 3 are worse (patience 2, tol 0), so
  // training stops after epoch 3 and must report epoch 1's model, not epoch 3's.
  HostDataset val = ds;
  std::fill(val.y.begin(), val.y.end(), 0.0f);
  t->load(ds, &val);
  opt.epochs = 50;
  opt.patience = 2;
  const TrainResult v = t->fit(opt);
  ASSERT_EQ(v.epoch_val_losses.size(), 3u);
  EXPECT_LT(v.epoch_val_losses[0], v.epoch_val_losses[1]);
  EXPECT_LT(v.epoch_val_losses[1], v.epoch_val_losses[2]);
  EXPECT_EQ(v.best_epoch, 1);
  plain.epochs = 1;
  const TrainResult first = t->fit(plain);
  EXPECT_EQ(first.w, v.w) << "the best epoch's model, not the last one's";
  EXPECT_EQ(first.b, v.b);
  EXPECT_NE(v.stop_reason.find("validation"), std::string::npos) << v.stop_reason;
}

TEST(SgdRules, BadValuesNameTheSetting) {
  struct Case {
    const char* setting;
    void (*set)(TrainOptions&);
  };
  const Case cases[] = {
      {"alpha", [](TrainOptions& o) { o.alpha = -1; }},
      {"l1_ratio", [](TrainOptions& o) { o.l1_ratio = 1.5; }},
      {"momentum", [](TrainOptions& o) { o.momentum = 1; }},
      {"beta1", [](TrainOptions& o) { o.beta1 = -0.1; }},
      {"beta2", [](TrainOptions& o) { o.beta2 = 1; }},
      {"eps", [](TrainOptions& o) { o.eps = 0; }},
      {"weight_decay", [](TrainOptions& o) { o.weight_decay = -1; }},
      {"lr_gamma", [](TrainOptions& o) { o.lr_gamma = 0; }},
      {"lr_step_epochs", [](TrainOptions& o) { o.lr_step_epochs = 0; }},
      {"power_t", [](TrainOptions& o) { o.power_t = NAN; }},
      {"warmup_epochs", [](TrainOptions& o) { o.schedule = LrSchedule::WarmupCosine, o.warmup_epochs = 3; }},
      {"patience", [](TrainOptions& o) { o.patience = 0; }},
      {"tol", [](TrainOptions& o) { o.tol = -1; }},
      {"penalty", [](TrainOptions& o) { o.penalty = Penalty::L1, o.optimizer = Optimizer::Adam; }},
  };
  for (const auto& c : cases) {
    TrainOptions o;
    c.set(o);
    try {
      validate_train(o, 100);
      ADD_FAILURE() << c.setting << " accepted";
    } catch (const SettingError& e) {
      EXPECT_EQ(e.setting(), c.setting);
    }
  }
  // The edges that must pass: momentum 0, beta 0, l1_ratio 0 and 1, gamma 1, power_t 0,
  // warm-up epochs − 1, patience 1, tol 0, l2 with adam.
  TrainOptions edge;
  edge.momentum = 0;
  edge.beta1 = 0;
  edge.beta2 = 0;
  edge.l1_ratio = 1;
  edge.lr_gamma = 1;
  edge.power_t = 0;
  edge.schedule = LrSchedule::WarmupCosine;
  edge.warmup_epochs = 2;
  edge.patience = 1;
  edge.tol = 0;
  edge.penalty = Penalty::L2;
  edge.optimizer = Optimizer::Adam;
  EXPECT_NO_THROW(validate_train(edge, 100));
  edge.l1_ratio = 0;
  EXPECT_NO_THROW(validate_train(edge, 100));
}

}  // namespace
}  // namespace linreg
