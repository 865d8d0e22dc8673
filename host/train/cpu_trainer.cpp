// The CPU fallback: the same minibatch SGD as the GPU path, in plain C++.
// Per step: r_i = x_i·w + b − y_i, g = Σ r_i x_i, w ← sgd_step(w, g) (formulas.hpp), with
// every sum in double (more exact than the GPU's float reductions, so it serves as their
// reference). The inner loops are specialised on small feature counts, where the whole cost is
// the dependent chain from one step's update to the next step's residuals.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <numeric>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/core/formulas.hpp"
#include "host/core/optim.hpp"
#include "host/core/host_buffer.hpp"
#include "host/train/permutation.hpp"
#include "host/train/step_pool.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/trainer.hpp"

namespace linreg {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// x·w in double. D > 0: compile-time feature count (fully unrolled); D == 0: runtime d, with 16
// independent accumulators in a fixed order (two AVX-512 / four AVX2 vectors), so the sum is
// vectorised without -ffast-math and is the same on every run.
template <int D>
inline double dot(const float* __restrict x, const float* __restrict w, int64_t d) {
  if constexpr (D > 0) {
    double acc = 0;
    for (int j = 0; j < D; ++j) acc += static_cast<double>(x[j]) * static_cast<double>(w[j]);
    return acc;
  } else {
    constexpr int kLanes = 16;
    double acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= d; j += kLanes)
      for (int k = 0; k < kLanes; ++k) acc[k] += static_cast<double>(x[j + k]) * static_cast<double>(w[j + k]);
    double tail = 0;
    for (; j < d; ++j) tail += static_cast<double>(x[j]) * static_cast<double>(w[j]);
    for (int width = kLanes / 2; width > 0; width /= 2)
      for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
    return acc[0] + tail;
  }
}

// Gradient sums of one minibatch: gw[j] = Σ r_k·x_kj, gb = Σ r_k, r_k = x_k·w + b − y_k, in double.
// Rows come in permutation order, so each is a cold miss the hardware prefetcher cannot guess;
// we know the order, so we prefetch kAhead rows ahead (`avail` = entries readable from rows).
constexpr int64_t kAhead = 16;

inline void prefetch_row(const float* X, const float* y, int64_t row, int64_t d) {
  const char* p = reinterpret_cast<const char*>(X + row * d);
  const int64_t bytes = d * static_cast<int64_t>(sizeof(float));
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + off);
  __builtin_prefetch(y + row);
}

// From this many features on, batch_sums works on blocks of four rows.
constexpr int64_t kBlockRowsMinD = 32;

template <int D>
inline void batch_sums(const float* __restrict X, const float* __restrict y, int64_t d_runtime,
                       const uint32_t* __restrict rows, int64_t count, int64_t avail, const float* __restrict w,
                       float b, double* __restrict gw, double& gb) {
  const int64_t d = D > 0 ? D : d_runtime;
  gb = 0;
  std::fill(gw, gw + d, 0.0);
  int64_t k = 0;
  if constexpr (D == 0) {
    // Long rows: four at a time, so gw is loaded and stored once per four rows instead of once
    // per row (+20% on 1M×256 batch 4096; the order of the double sums is fixed).
    if (d >= kBlockRowsMinD) {
      for (; k + 4 <= count; k += 4) {
        const float* xs[4];
        double r[4];
        for (int u = 0; u < 4; ++u) {
          if (k + u + kAhead < avail) prefetch_row(X, y, rows[k + u + kAhead], d);
          const int64_t row = rows[k + u];
          xs[u] = X + row * d;
          r[u] = dot<0>(xs[u], w, d) + static_cast<double>(b) - static_cast<double>(y[row]);
        }
        gb += (r[0] + r[1]) + (r[2] + r[3]);
        const float* __restrict x0 = xs[0];
        const float* __restrict x1 = xs[1];
        const float* __restrict x2 = xs[2];
        const float* __restrict x3 = xs[3];
#pragma omp simd
        for (int64_t j = 0; j < d; ++j)
          gw[j] += (r[0] * static_cast<double>(x0[j]) + r[1] * static_cast<double>(x1[j])) +
                   (r[2] * static_cast<double>(x2[j]) + r[3] * static_cast<double>(x3[j]));
      }
    }
  }
  for (; k < count; ++k) {
    if (k + kAhead < avail) prefetch_row(X, y, rows[k + kAhead], d);
    const int64_t row = rows[k];
    const float* x = X + row * d;
    const double r = dot<D>(x, w, d) + static_cast<double>(b) - static_cast<double>(y[row]);
    gb += r;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) gw[j] += r * static_cast<double>(x[j]);
  }
}

// One epoch of minibatch SGD over the rows in `perm` order. w, b updated in place.
// gw: scratch of d doubles.
// `stream`, when given, is still writing `perm`: wait for the entries each batch reads.
template <int D>
void sgd_epoch(const float* __restrict X, const float* __restrict y, int64_t n, int64_t d_runtime,
               const uint32_t* __restrict perm, int64_t batch, float lr, double scale,
               float* __restrict w, float& b, double* __restrict gw, const PermutationStream* stream,
               int64_t epoch) {
  const int64_t d = D > 0 ? D : d_runtime;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);  // the last batch may be short
    if (stream) stream->wait_for(epoch, std::min(n, start + count + kAhead));
    double gb = 0;
    batch_sums<D>(X, y, d, perm + start, count, n - start, w, b, gw, gb);
    for (int64_t j = 0; j < d; ++j) w[j] = sgd_step(w[j], gw[j], lr, scale, count);
    b = sgd_step(b, gb, lr, scale, count);
  }
}

// Large steps (batch·d ≥ kParallelWork) are split across threads: each sums a fixed contiguous
// slice of the minibatch's rows into its own buffer, and the slices are added in thread order,
// so the result is the same on every run for a given thread count. One core cannot keep enough
// random-row misses in flight to approach the memory bandwidth; two can come close.
constexpr int64_t kParallelWork = int64_t{1} << 16;

// From this many rows on, the small-batch loop reads its permutation from a PermutationStream
// (below it, starting a thread costs more than making the permutation).
constexpr int64_t kStreamRows = int64_t{1} << 14;

void sgd_epoch_parallel(StepPool& pool, const float* X, const float* y, int64_t n, int64_t d, const uint32_t* perm,
                        int64_t batch, float lr, double scale, float* w, float& b,
                        std::vector<std::vector<double>>& gws, std::vector<double>& gbs) {
  const int T = pool.size();
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);
    const float bias = b;
    pool.run([&](int t) {
      const int64_t lo = count * t / T, hi = count * (t + 1) / T;
      batch_sums<0>(X, y, d, perm + start + lo, hi - lo, hi - lo, w, bias, gws[t].data(), gbs[t]);
    });
    double gb = 0;
    for (int t = 0; t < T; ++t) gb += gbs[t];
    for (int64_t j = 0; j < d; ++j) {
      double g = 0;
      for (int t = 0; t < T; ++t) g += gws[t][j];
      w[j] = sgd_step(w[j], g, lr, scale, count);
    }
    b = sgd_step(b, gb, lr, scale, count);
  }
}

// The gradient sums of one unweighted minibatch with the specialised loops (prefetch, unrolled
// small d, four-row blocks for long rows), chosen once per run by the feature count.
using SumsFn = void (*)(const float*, const float*, int64_t, const uint32_t*, int64_t, int64_t, const float*, float,
                        double*, double&);
SumsFn pick_sums_fn(int64_t d) {
  switch (d) {
    case 1: return &batch_sums<1>;
    case 2: return &batch_sums<2>;
    case 3: return &batch_sums<3>;
    case 4: return &batch_sums<4>;
    case 8: return &batch_sums<8>;
    case 16: return &batch_sums<16>;
    default: return &batch_sums<0>;
  }
}

// The general steps: everything beyond the lab's plain step (host/core/optim.hpp has the
// formulas). Per-row weights v (null: all 1) multiply each example's residual in the gradient
// sums; without an intercept b stays as it is; the penalty's L2 part joins the gradient and its
// L1 part is a proximal step after it; the optimizer keeps its state per parameter; the
// learning rate follows the schedule; the running average of the iterates is kept for
// averaged SGD. Unweighted minibatches use the specialised gradient loops above; weighted ones
// a plain loop in double.
class GeneralSteps {
 public:
  GeneralSteps(const TrainOptions& opt, int64_t d)
      : opt_(opt), d_(d), s1_(static_cast<size_t>(d + 1), 0.0f), s2_(static_cast<size_t>(d + 1), 0.0f),
        avg_(static_cast<size_t>(d + 1), 0.0), gw_(static_cast<size_t>(d)), sums_(pick_sums_fn(d)),
        rule_(optimizer_rule(opt)), c_(penalty_constants(opt)) {}

  // n: the rows perm orders. In a data-parallel job (shard set) these are the whole job's rows,
  // this rank holds rows [first_row, first_row + local_n) of them, and the sums of each
  // minibatch are added across ranks before the step.
  void epoch(const float* X, const float* y, const double* v, int64_t n, const uint32_t* perm, double scale,
             float* w, float& b, const PermutationStream* stream, int64_t e, const ShardPlacement* shard = nullptr,
             int64_t local_n = 0) {
    const int64_t d = d_, batch = opt_.batch_size;
    for (int64_t start = 0; start < n; start += batch) {
      const int64_t count = std::min(batch, n - start);
      if (stream) stream->wait_for(e, std::min(n, start + count + kAhead));
      double gb = 0;
      const uint32_t* rows = perm + start;
      int64_t held = count, avail = n - start;
      if (shard) {
        // The batch's rows this rank holds, as indices into its shard, in the batch's order.
        local_.clear();
        for (int64_t k = 0; k < count; ++k) {
          const int64_t row = static_cast<int64_t>(perm[start + k]) - shard->first_row;
          if (row >= 0 && row < local_n) local_.push_back(static_cast<uint32_t>(row));
        }
        rows = local_.data();
        held = avail = static_cast<int64_t>(local_.size());
      }
      if (!v) {
        if (held > 0) sums_(X, y, d, rows, held, avail, w, b, gw_.data(), gb);
        else std::fill(gw_.begin(), gw_.end(), 0.0);
      } else {
        std::fill(gw_.begin(), gw_.end(), 0.0);
        for (int64_t k = 0; k < held; ++k) {
          const int64_t row = rows[k];
          const float* x = X + row * d;
          const double r = (dot<0>(x, w, d) + static_cast<double>(b) - static_cast<double>(y[row])) * v[row];
          gb += r;
          for (int64_t j = 0; j < d; ++j) gw_[j] += r * static_cast<double>(x[j]);
        }
      }
      if (shard) {  // the whole minibatch's sums: every rank's, added in rank order
        gw_.push_back(gb);
        sum_in_rank_order(*shard->comm, gw_.data(), d + 1);
        gb = gw_.back();
        gw_.pop_back();
      }
      ++t_;
      optim::begin_step(rule_, t_);
      optim::StepConstants& c = c_;
      c.t = t_;
      c.lr = scheduled_lr(opt_, e, t_);
      c.mean = scale / static_cast<double>(count);  // the mean gradient over the batch
      for (int64_t j = 0; j < d; ++j) w[j] = optim::update_parameter(w[j], gw_[j], false, rule_, c, &s1_[j], &s2_[j]);
      if (opt_.intercept) b = optim::update_parameter(b, gb, true, rule_, c, &s1_[d], &s2_[d]);
      if (opt_.average) {
        for (int64_t j = 0; j < d; ++j) optim::average_in(avg_[j], w[j], t_);
        optim::average_in(avg_[d], b, t_);
      }
    }
  }

  // The averaged model (averaged SGD): the mean of the iterates after every step so far.
  void averaged(std::vector<float>& w, float& b) const {
    w.resize(static_cast<size_t>(d_));
    for (int64_t j = 0; j < d_; ++j) w[j] = static_cast<float>(avg_[j]);
    b = static_cast<float>(avg_[d_]);
  }

 private:
  TrainOptions opt_;
  int64_t d_;
  int64_t t_ = 0;                 // steps taken
  std::vector<float> s1_, s2_;    // optimizer state per parameter (w_0..w_{d-1}, b)
  std::vector<double> avg_;       // running average of the iterates
  std::vector<double> gw_;
  std::vector<uint32_t> local_;  // a data-parallel job: the batch's rows this rank holds
  SumsFn sums_;  // unweighted minibatches: the specialised gradient loops
  optim::Rule rule_;
  optim::StepConstants c_;  // the penalty's parts fixed; number, rate and mean per step
};

// The weights SGD starts from: the given ones (one per feature), or initial_weights (b = 0).
std::vector<float> start_weights(const TrainOptions& opt, int64_t d) {
  if (!opt.initial_w.empty() && static_cast<int64_t>(opt.initial_w.size()) != d)
    throw SettingError("initial_w", "the initial weights must have one value per feature (" + std::to_string(d) +
                                        "), got " + std::to_string(opt.initial_w.size()));
  return opt.initial_w.empty() ? initial_weights(d, opt.seed) : opt.initial_w;
}

// After each epoch's steps, what both CPU loops (in memory, streamed) do: the model the run
// reports (the iterate, or with --average the mean of the iterates), the epoch's record and the
// callback, divergence, and early stopping with the best epoch's model kept; finish() leaves in
// res the model the run returns.
class EpochEnd {
 public:
  EpochEnd(const TrainOptions& opt, bool on_validation)
      : opt_(opt), on_validation_(on_validation), stopping_(opt, on_validation) {}

  // The model to evaluate after this epoch.
  std::pair<const float*, float> model(const TrainResult& res, const GeneralSteps* steps) {
    if (!opt_.average) return {res.w.data(), res.b};
    steps->averaged(report_w_, report_b_);
    return {report_w_.data(), report_b_};
  }

  // Records epoch e (rep has its losses; (mw, mb) the model they are of). False: stop here.
  bool close(TrainResult& res, const EpochReport& rep, const float* mw, float mb, int64_t d, int64_t e,
             const EpochCallback& cb) {
    res.epoch_losses.push_back(rep.train_loss);
    if (on_validation_) res.epoch_val_losses.push_back(rep.val_loss);
    res.epochs_run = e + 1;
    if (cb) cb(rep);
    if (!std::isfinite(rep.train_loss)) {
      res.diverged = true;
      return false;
    }
    if (!opt_.early_stopping) return true;
    const EarlyStopping::Verdict v = stopping_.observe(on_validation_ ? rep.val_loss : rep.train_loss, e);
    if (v.new_best) {
      best_w_.assign(mw, mw + d);
      best_b_ = mb;
      res.best_epoch = stopping_.best_epoch();
    }
    if (v.stop) res.stop_reason = stopping_.reason();
    return !v.stop;
  }

  void finish(TrainResult& res) const {
    if (res.diverged) return;
    if (opt_.average) {
      res.w = report_w_;
      res.b = report_b_;
    }
    if (opt_.early_stopping && !best_w_.empty()) {
      res.w = best_w_;
      res.b = best_b_;
    }
  }

 private:
  const TrainOptions& opt_;
  bool on_validation_;
  EarlyStopping stopping_;
  std::vector<float> best_w_, report_w_;
  float best_b_ = 0, report_b_ = 0;
};

using EpochFn = void (*)(const float*, const float*, int64_t, int64_t, const uint32_t*, int64_t, float,
                         double, float*, float&, double*, const PermutationStream*, int64_t);

EpochFn pick_epoch_fn(int64_t d) {
  switch (d) {
    case 1: return &sgd_epoch<1>;
    case 2: return &sgd_epoch<2>;
    case 3: return &sgd_epoch<3>;
    case 4: return &sgd_epoch<4>;
    case 8: return &sgd_epoch<8>;
    case 16: return &sgd_epoch<16>;
    default: return &sgd_epoch<0>;
  }
}

// Loss summed over n rows, accumulated in double; with weights v, Σ v_i·loss_i.
// `start`: a sum carried from rows before these (streamed chunks add up as one pass would).
// Not inlined nor cloned: one copy of the machine code for every caller, so that the compiler's
// choices (contracted multiply-adds, a clone for start = 0) cannot make the streamed loss differ
// from the in-memory one in the last bit.
__attribute__((noipa)) double dataset_loss_sum(const float* X, const float* y, const double* v, int64_t n, int64_t d,
                                               const float* w, float b, LossKind kind, double start = 0) {
  double sum = start;
  for (int64_t i = 0; i < n; ++i) {
    const double r = dot<0>(X + i * d, w, d) + static_cast<double>(b) - static_cast<double>(y[i]);
    sum += v ? v[i] * loss_term(r, kind) : loss_term(r, kind);
  }
  return sum;
}

// Mean loss over the rows, (1/n) Σ v_i·loss_i with weights: the objective the weighted steps
// descend. In a data-parallel job, of the whole job's `total` rows (the ranks' sums added in
// rank order); comm null: ds is all of them.
double dataset_loss(const HostDataset& ds, const float* w, float b, LossKind kind, const Communicator* comm = nullptr,
                    int64_t total = 0) {
  double sum = dataset_loss_sum(ds.X.data(), ds.y.data(), ds.weights.empty() ? nullptr : ds.weights.data(), ds.n,
                                ds.d, w, b, kind);
  if (!comm) return sum / static_cast<double>(ds.n);
  return sum_in_rank_order(*comm, sum) / static_cast<double>(total);
}

void check_dataset(const HostDataset& ds, const char* what) {
  if (ds.n <= 0 || ds.d <= 0) throw InputError(std::string(what) + " dataset is empty");
  if (ds.X.size() != static_cast<size_t>(ds.n * ds.d) || ds.y.size() != static_cast<size_t>(ds.n) ||
      (!ds.weights.empty() && ds.weights.size() != static_cast<size_t>(ds.n)))
    throw InputError(std::string(what) + " dataset has inconsistent sizes");
}

class CpuTrainer final : public Trainer {
 public:
  CpuTrainer(int threads, const ShardPlacement& shard) : threads_(threads), shard_(shard) {
    sharded_ = shard_.comm && shard_.comm->size() > 1;
  }
  std::string device_name() const override { return "cpu"; }
  std::string backend() const override { return "cpu"; }

  void generate(const SyntheticSpec& spec) override {
    // Peak: the generator's buffer (X and the noise) plus the huge-page copy of X, and y.
    const uint64_t n = static_cast<uint64_t>(spec.examples), d = static_cast<uint64_t>(spec.features);
    check_memory_fits("host", (2 * n * d + 2 * n) * sizeof(float), host_memory_available(), spec.examples,
                      spec.features);
    release();
    HostDataset ds = generate_synthetic_host(spec);
    adopt(std::move(ds));
    has_val_ = false;
    val_ = HostDataset{};
  }

  void load(const HostDataset& train, const HostDataset* validation) override {
    // A rank of a data-parallel job may hold no rows (the job has them).
    if (!sharded_ || train.n > 0) check_dataset(train, "training");
    if (validation && (!sharded_ || validation->n > 0)) {
      check_dataset(*validation, "validation");
      if (validation->d != train.d) throw InputError("validation dataset has a different number of features");
    }
    if (validation && validation->weights.empty() != train.weights.empty())
      throw InputError("the training and validation datasets must both have weights or neither");
    // SGD trains on the float32 values: the double copies stay with the caller.
    HostDataset copy = train;
    copy.X64 = {};
    copy.y64 = {};
    adopt(std::move(copy));
    has_val_ = validation != nullptr;
    val_ = validation ? *validation : HostDataset{};
    val_.X64 = {};
    val_.y64 = {};
  }

  int64_t examples() const override { return sharded_ ? shard_.total_rows : n_; }
  int64_t features() const override { return d_; }
  HostDataset download() const override {
    HostDataset ds = meta_;
    ds.X.assign(X_.data(), X_.data() + X_.size());
    ds.y = y_;
    return ds;
  }

  double loss(const std::vector<float>& w, float b, LossKind kind) const override {
    if (static_cast<int64_t>(w.size()) != d_) throw InputError("loss: w has the wrong length");
    return train_loss(w.data(), b, kind);
  }

 private:
  TrainResult run(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>* perms,
                  const EpochCallback& cb) override {
    // n: the rows the permutations order (in a data-parallel job, the whole job's).
    const int64_t n = sharded_ ? shard_.total_rows : n_, d = d_;
    if (n <= 0) throw InputError("no training data loaded");
    validate_train(opt, n);
    TrainResult res;
    res.strategy = "cpu";
    res.w = start_weights(opt, d);
    res.b = 0.0f;
    std::vector<double> gw(static_cast<size_t>(d));
    std::vector<uint32_t> perm;
    const EpochFn epoch_fn = pick_epoch_fn(d);
    const double scale = grad_scale(opt.loss);
    std::unique_ptr<StepPool> pool;
    std::vector<std::vector<double>> gws;
    std::vector<double> gbs;
    const int threads = threads_ > 0 ? threads_ : StepPool::default_threads();
    const bool general = !opt.plain_sgd() || weights() != nullptr || sharded_;
    std::unique_ptr<GeneralSteps> steps = general ? std::make_unique<GeneralSteps>(opt, d) : nullptr;
    EpochEnd end(opt, has_val_);
    if (threads > 1 && !general && opt.batch_size * d >= kParallelWork) {
      pool = std::make_unique<StepPool>(threads);
      gws.assign(static_cast<size_t>(threads), std::vector<double>(static_cast<size_t>(d)));
      gbs.assign(static_cast<size_t>(threads), 0.0);
    }
    // Permutations: given (tests), streamed from a second thread while the single-threaded
    // small-batch loop trains, or made up front (in parallel) for the threaded large steps.
    std::unique_ptr<PermutationStream> stream;
    if (!perms) {
      if (!pool && threads > 1 && n >= kStreamRows && !sharded_) {
        stream = std::make_unique<PermutationStream>(n, opt.seed, opt.epochs);
      } else {
        perm.resize(static_cast<size_t>(n));
      }
    }

    for (int64_t e = 0; e < opt.epochs; ++e) {
      const auto t0 = Clock::now();
      const uint32_t* order = nullptr;
      if (perms) {
        order = (*perms)[static_cast<size_t>(e)].data();
      } else if (stream) {
        order = stream->epoch(e);
      } else {
        thrust_compatible_permutation(n, shuffle_seed(opt.seed, e), perm.data(), pool ? pool->size() : 1);
        order = perm.data();
      }
      if (general) {
        steps->epoch(X_.data(), y_.data(), weights(), n, order, scale, res.w.data(), res.b, stream.get(), e,
                     sharded_ ? &shard_ : nullptr, n_);
      } else if (pool) {
        sgd_epoch_parallel(*pool, X_.data(), y_.data(), n, d, order, opt.batch_size, opt.lr, scale, res.w.data(),
                           res.b, gws, gbs);
      } else {
        epoch_fn(X_.data(), y_.data(), n, d, order, opt.batch_size, opt.lr, scale, res.w.data(), res.b, gw.data(),
                 stream.get(), e);
      }
      if (stream) stream->finish(e);
      EpochReport rep;
      rep.epoch = e + 1;
      rep.epoch_seconds = seconds_since(t0);
      res.train_seconds += rep.epoch_seconds;

      const auto t1 = Clock::now();
      const auto [mw, mb] = end.model(res, steps.get());
      rep.train_loss = train_loss(mw, mb, opt.loss);
      if (has_val_) rep.val_loss = dataset_loss(val_, mw, mb, opt.loss, sharded_ ? shard_.comm : nullptr, shard_.val_total);
      res.eval_seconds += seconds_since(t1);
      if (!end.close(res, rep, mw, mb, d, e, cb)) break;
    }
    end.finish(res);
    return res;
  }

  const double* weights() const { return meta_.weights.empty() ? nullptr : meta_.weights.data(); }

  // The mean loss of all the training rows (in a data-parallel job, the job's: a collective).
  double train_loss(const float* w, float b, LossKind kind) const {
    const double sum = dataset_loss_sum(X_.data(), y_.data(), weights(), n_, d_, w, b, kind);
    if (!sharded_) return sum / static_cast<double>(n_);
    return sum_in_rank_order(*shard_.comm, sum) / static_cast<double>(shard_.total_rows);
  }

  // Frees the current data before new data is made, so that both never coexist.
  void release() {
    X_ = HostBuffer<float>();
    y_ = {};
    meta_ = HostDataset{};
    n_ = d_ = 0;
  }

  // Takes the training data: X into huge-page memory (rows are read in random order), the rest kept.
  void adopt(HostDataset&& ds) {
    n_ = ds.n;
    d_ = ds.d;
    X_ = HostBuffer<float>(ds.X.data(), ds.X.size());
    y_ = std::move(ds.y);
    ds.X = {};
    ds.y = {};
    meta_ = std::move(ds);
  }

  int threads_ = 0;  // 0: one per hardware thread (capped)
  ShardPlacement shard_;
  bool sharded_ = false;  // a rank of a data-parallel job of more than one rank
  int64_t n_ = 0, d_ = 0;
  HostBuffer<float> X_;
  std::vector<float> y_;
  HostDataset meta_;  // names and sizes, without the data
  HostDataset val_;
  bool has_val_ = false;
};

}  // namespace

void cpu_batch_gradient(const HostDataset& data, const uint32_t* rows, int64_t count, const std::vector<float>& w,
                        float b, LossKind kind, std::vector<double>& grad_w, double& grad_b) {
  if (static_cast<int64_t>(w.size()) != data.d) throw InputError("cpu_batch_gradient: w has the wrong length");
  if (count <= 0) throw InputError("cpu_batch_gradient: empty batch");
  grad_w.assign(static_cast<size_t>(data.d), 0.0);
  double gb = 0;
  // The same specialisations the trainer uses, so the test of this function covers them.
  switch (data.d) {
    case 1: batch_sums<1>(data.X.data(), data.y.data(), 1, rows, count, count, w.data(), b, grad_w.data(), gb); break;
    case 2: batch_sums<2>(data.X.data(), data.y.data(), 2, rows, count, count, w.data(), b, grad_w.data(), gb); break;
    case 3: batch_sums<3>(data.X.data(), data.y.data(), 3, rows, count, count, w.data(), b, grad_w.data(), gb); break;
    case 4: batch_sums<4>(data.X.data(), data.y.data(), 4, rows, count, count, w.data(), b, grad_w.data(), gb); break;
    case 8: batch_sums<8>(data.X.data(), data.y.data(), 8, rows, count, count, w.data(), b, grad_w.data(), gb); break;
    case 16: batch_sums<16>(data.X.data(), data.y.data(), 16, rows, count, count, w.data(), b, grad_w.data(), gb); break;
    default: batch_sums<0>(data.X.data(), data.y.data(), data.d, rows, count, count, w.data(), b, grad_w.data(), gb); break;
  }
  const double s = grad_scale(kind) / static_cast<double>(count);
  for (double& g : grad_w) g *= s;
  grad_b = gb * s;
}

namespace {

// One chunk of streamed rows, read on a second thread.
// In a data-parallel job chunk k is the job's: every rank's chunk k of its own rows (rows
// [k·chunk_rows, (k + 1)·chunk_rows) of its shard, fewer or none at a shard's end), taken in
// rank order; this rank's part of it is rows [mine, mine + held) of the chunk, read into X and y,
// and the order is of all the chunk's rows. One process: the chunk is all its own.
struct Chunk {
  int64_t index = 0, first = 0, rows = 0;  // first: the first row read, among this rank's
  int64_t mine = 0, held = 0;    // the chunk's rows this rank holds (one process: all of them)
  std::vector<float> X, y;       // those rows in file order (row-major X)
  std::vector<uint32_t> order;   // the epoch's order of the chunk's rows (empty on a pass for the loss alone)
  int64_t loss_rows = 0;         // the held rows whose loss the reader summed (the first ones)...
  double loss_sum = 0;           // ...and their sum, which the training thread carries on
  double read_seconds = 0, loss_seconds = 0;
};

// A pass over the chunks. The reading thread reads each chunk, makes its shuffle and sums the
// pending epoch's loss over its first rows; the training thread sums the loss over the rest (the
// sum carried on: one sum over the chunk in file order, the same bits wherever it is split), then
// gathers the rows in the epoch's order and steps. The split moves from chunk to chunk to even
// the two threads' times: measured on 4M × 16 float32 rows (2 cores, chunks of 0.5M rows), the
// read takes 0.08 s an epoch, the shuffle 0.03 s, the loss 0.07 s, the gather and the steps
// 0.10 s; with the loss all on the reading thread the training thread waited half the epoch.
class ChunkPass {
 public:
  // comm: the data-parallel job `rows` are this rank's share of (null: one process, `rows` all of
  // them); ranks_rows: every rank's row count, in rank order (one process: {rows.rows()}). In a
  // job every chunk's read is agreed (communicator.hpp: together), so a rank that cannot read its
  // rows ends every rank with its error instead of leaving them waiting in the next step's sum.
  ChunkPass(const RowChunks& rows, int64_t chunk_rows, uint64_t seed, LossKind loss, const Communicator* comm,
            std::vector<int64_t> ranks_rows)
      : src_(rows), chunk_rows_(chunk_rows), d_(rows.features()), seed_(seed), loss_(loss), comm_(comm),
        rank_(comm ? comm->rank() : 0), ranks_rows_(std::move(ranks_rows)),
        total_rows_(std::accumulate(ranks_rows_.begin(), ranks_rows_.end(), int64_t{0})),
        chunk_loss_(static_cast<size_t>(job_chunks(ranks_rows_, chunk_rows))) {}

  // The chunks of a job whose ranks hold ranks_rows rows: as many as the largest shard has.
  static int64_t job_chunks(const std::vector<int64_t>& ranks_rows, int64_t chunk_rows) {
    const int64_t most = *std::max_element(ranks_rows.begin(), ranks_rows.end());
    return (most + chunk_rows - 1) / chunk_rows;
  }

  // The next pass: epoch `epoch`'s shuffle (or none: the loss alone), and the loss of the model
  // (w, b) on every chunk, or none when w is null. w must stay valid through the pass.
  void set(int64_t epoch, bool shuffle, const float* w, float b) {
    epoch_ = epoch;
    shuffle_ = shuffle;
    loss_w_ = w;
    loss_b_ = b;
  }

  // The pass after this one starts with chunk `chunk` of epoch `epoch` (shuffled or not): the
  // reader reads it into the free buffer while this pass's last chunk trains, so that one pass's
  // start does not wait for its first read (the loss of that chunk is all the training thread's).
  struct Ahead {
    int64_t epoch = -1, chunk = -1;
    bool shuffle = true;
  };

  // Calls f(chunk) for chunks order[0..) in turn, the next read into the other buffer while f
  // works on the current one: two chunks in memory, the reading overlapping the work.
  template <typename F>
  void run(const std::vector<uint32_t>& order, const F& f, const Ahead& then = {}) {
    size_t slot = 0;  // the buffer of order[i] is buf_[(slot + i) & 1]
    std::future<void> next;
    if (ahead_.valid() && ahead_of_.epoch == epoch_ && ahead_of_.chunk == order[0] && ahead_of_.shuffle == shuffle_) {
      next = std::move(ahead_);
      slot = ahead_slot_;
    } else {
      if (ahead_.valid()) wait(ahead_);  // not the chunk this pass wants: its buffer is refilled
      next = fill(order[0], buf_[0], epoch_, shuffle_, loss_w_, loss_b_);
    }
    for (size_t i = 0; i < order.size(); ++i) {
      wait(next);
      Chunk& c = buf_[(slot + i) & 1];
      balance(c);
      Chunk& other = buf_[(slot + i + 1) & 1];
      if (i + 1 < order.size()) {
        next = fill(order[i + 1], other, epoch_, shuffle_, loss_w_, loss_b_);
      } else if (then.chunk >= 0) {
        ahead_ = fill(then.chunk, other, then.epoch, then.shuffle, nullptr, 0);
        ahead_of_ = then;
        ahead_slot_ = (slot + i + 1) & 1;
      }
      const auto t0 = Clock::now();
      if (loss_w_) {
        chunk_loss_[static_cast<size_t>(c.index)] =
            dataset_loss_sum(c.X.data() + c.loss_rows * d_, c.y.data() + c.loss_rows, nullptr, c.held - c.loss_rows,
                             d_, loss_w_, loss_b_, loss_, c.loss_sum);
      }
      const auto t1 = Clock::now();
      f(c);
      if (loss_w_ && c.held > c.loss_rows)
        main_loss_per_row_ = std::chrono::duration<double>(t1 - t0).count() / static_cast<double>(c.held - c.loss_rows);
      if (c.held > 0) train_per_row_ = seconds_since(t1) / static_cast<double>(c.held);
    }
  }

  // The ranks' chunks' loss sums, each rank's added in file order, then across ranks in rank
  // order; over total_rows: the pending epoch's mean loss (a collective in a job).
  double mean_loss() const {
    double sum = 0;
    for (const double v : chunk_loss_) sum += v;
    if (comm_) sum = sum_in_rank_order(*comm_, sum);
    return sum / static_cast<double>(total_rows_);
  }

 private:
  void wait(std::future<void>& f) {
    if (comm_) together(*comm_, [&] { f.get(); });
    else f.get();
  }

  // Reads chunk k into c on the reading thread, with the shuffle of `epoch` (when `shuffle`) and
  // the loss of (w, b) over the reader's share of its rows (when w is not null). Everything the
  // thread uses is passed by value: the pass's settings may change while it runs.
  std::future<void> fill(int64_t k, Chunk& c, int64_t epoch, bool shuffle, const float* w, float b) {
    c.index = k;
    c.first = k * chunk_rows_;
    c.rows = c.mine = c.held = 0;
    for (size_t r = 0; r < ranks_rows_.size(); ++r) {
      const int64_t piece = std::clamp<int64_t>(ranks_rows_[r] - c.first, 0, chunk_rows_);
      if (static_cast<int>(r) < rank_) c.mine += piece;
      if (static_cast<int>(r) == rank_) c.held = piece;
      c.rows += piece;
    }
    c.loss_rows = w ? std::min(c.held, static_cast<int64_t>(share_ * static_cast<double>(c.held))) : 0;
    return std::async(std::launch::async, [this, k, &c, epoch, shuffle, w, b] {
      const auto t0 = Clock::now();
      c.X.resize(static_cast<size_t>(c.held * d_));
      c.y.resize(static_cast<size_t>(c.held));
      if (c.held > 0) src_.read(c.first, c.held, c.X.data(), c.y.data());  // else: a chunk of other ranks' rows, its order alone
      c.order.resize(shuffle ? static_cast<size_t>(c.rows) : 0);
      if (shuffle) thrust_compatible_permutation(c.rows, chunk_rows_seed(seed_, epoch, k), c.order.data());
      const auto t1 = Clock::now();
      c.loss_sum = w ? dataset_loss_sum(c.X.data(), c.y.data(), nullptr, c.loss_rows, d_, w, b, loss_) : 0;
      c.read_seconds = std::chrono::duration<double>(t1 - t0).count();
      c.loss_seconds = seconds_since(t1);
    });
  }

  // The reader's share of the next chunk's loss, from the times per row of the last chunks: the
  // share s that makes read + s·loss = train + (1 − s)·loss.
  void balance(const Chunk& c) {
    if (!loss_w_ || c.held == 0) return;
    const double reader_loss = c.loss_rows > 0 ? c.loss_seconds / static_cast<double>(c.loss_rows) : 0;
    const int rates = (reader_loss > 0) + (main_loss_per_row_ > 0);
    if (rates == 0) return;
    const double rows = static_cast<double>(c.held), loss = (reader_loss + main_loss_per_row_) / rates;
    share_ = std::clamp((train_per_row_ + loss - c.read_seconds / rows) / (2 * loss), 0.0, 1.0);
  }

  const RowChunks& src_;
  int64_t chunk_rows_, d_;
  uint64_t seed_;
  LossKind loss_;
  const Communicator* comm_;         // a data-parallel job's (null: one process)
  int rank_;
  std::vector<int64_t> ranks_rows_;  // every rank's rows
  int64_t total_rows_;
  int64_t epoch_ = 0;
  bool shuffle_ = true;
  const float* loss_w_ = nullptr;
  float loss_b_ = 0;
  std::vector<double> chunk_loss_;
  Chunk buf_[2];
  std::future<void> ahead_;  // the next pass's first chunk, being read (after buf_: ends first)
  Ahead ahead_of_;
  size_t ahead_slot_ = 0;
  double share_ = 0.5;               // of a chunk's loss rows summed by the reader
  double main_loss_per_row_ = 0;     // the training thread's times per row on its last chunk
  double train_per_row_ = 0;
};

}  // namespace

TrainResult train_streamed(const RowChunks& src, const TrainOptions& opt, int64_t chunk_rows, const EpochCallback& cb,
                           const HostDataset* validation, const ShardPlacement* shard) {
  if (shard && !(shard->comm && shard->comm->size() > 1)) shard = nullptr;  // a job of one rank: one process
  // n: the rows the epoch orders (in a job, every rank's); this rank holds src's rows of them.
  const int64_t n = shard ? shard->total_rows : src.rows(), d = src.features();
  if (n <= 0 || d <= 0) throw InputError("no training data");
  if (chunk_rows <= 0) throw std::logic_error("train_streamed: chunk_rows must be positive");
  // Every rank's row count (a collective), for the job's chunks.
  const std::vector<int64_t> ranks_rows = shard ? gather_counts(*shard->comm, src.rows()) : std::vector<int64_t>{n};
  if (std::accumulate(ranks_rows.begin(), ranks_rows.end(), int64_t{0}) != n)
    throw std::logic_error("train_streamed: the ranks' rows do not add up to the job's");
  if (validation && (!shard || validation->n > 0)) {
    check_dataset(*validation, "validation");
    if (validation->d != d) throw InputError("validation dataset has a different number of features");
    if (!validation->weights.empty()) throw InputError("streamed rows have no weights: nor may the validation rows");
  }
  validate_train(opt, n);
  TrainResult res;
  res.strategy = "cpu, streamed";
  res.w = start_weights(opt, d);
  res.b = 0.0f;
  // The steps: the in-memory trainer's loops, each called on one minibatch gathered into a
  // contiguous buffer in the epoch's order (the same values in the same order: the same bits).
  // In a job the in-memory sharded trainer's general steps: each minibatch's sums over the rows
  // this rank holds, added across ranks in rank order.
  const bool general = !opt.plain_sgd() || shard;
  std::unique_ptr<GeneralSteps> steps = general ? std::make_unique<GeneralSteps>(opt, d) : nullptr;
  const EpochFn epoch_fn = pick_epoch_fn(d);
  const double scale = grad_scale(opt.loss);
  const int64_t b = opt.batch_size, chunks = ChunkPass::job_chunks(ranks_rows, chunk_rows);
  std::vector<float> Xb(static_cast<size_t>(b * d)), yb(static_cast<size_t>(b));
  std::vector<uint32_t> identity(static_cast<size_t>(b)), order(static_cast<size_t>(chunks)), next_order(order.size()),
      in_file(order.size());
  std::iota(identity.begin(), identity.end(), 0u);
  // A job's minibatch as the general steps see it: the gathered rows (this rank's, 0..mine−1 in
  // the batch's order) and, for the others' rows, an index past them (held by no one here).
  ShardPlacement batch_shard;
  if (shard) batch_shard.comm = shard->comm;
  std::vector<uint32_t> batch_rows;
  if (shard) batch_rows.reserve(static_cast<size_t>(b));
  std::iota(in_file.begin(), in_file.end(), 0u);
  std::vector<double> gw(static_cast<size_t>(d));
  EpochEnd end(opt, validation != nullptr);

  // Epoch e's loss is of the model after its steps, over every row. Rather than a pass of its own,
  // it is taken during epoch e + 1's pass: each chunk, as it is read, adds its rows' loss under
  // that model (kept aside) before it trains. Epoch e is reported (and early stopping decides)
  // when that pass ends; only the last epoch's loss needs a pass of its own. So an epoch reads the
  // file once, not twice; when early stopping or divergence stops after epoch e, the steps of
  // e + 1 are dropped and the model of epoch e is the one kept.
  std::vector<float> loss_w, iter_w;  // the pending epoch's evaluated model, and its iterate
  float loss_b = 0, iter_b = 0;
  bool pending = false;
  EpochReport pending_rep;
  ChunkPass pass(src, chunk_rows, opt.seed, opt.loss, shard ? shard->comm : nullptr, ranks_rows);
  // Records the pending epoch from its chunks' sums, added in file order. False: stop there.
  const auto close_pending = [&] {
    pending_rep.train_loss = pass.mean_loss();
    pending = false;
    std::vector<float> w = std::move(res.w);
    const float b = res.b;
    res.w = iter_w;  // the iterate of the epoch being closed: what a stop there returns
    res.b = iter_b;
    if (!end.close(res, pending_rep, loss_w.data(), loss_b, d, pending_rep.epoch - 1, cb)) return false;
    res.w = std::move(w);
    res.b = b;
    return true;
  };

  bool stopped = false;
  for (int64_t e = 0; e < opt.epochs && !stopped; ++e) {
    const auto t0 = Clock::now();
    const auto chunk_order = [&](int64_t epoch, std::vector<uint32_t>& out) {
      if (chunks == 1) out[0] = 0;
      else thrust_compatible_permutation(chunks, chunk_order_seed(opt.seed, epoch), out.data());
    };
    if (e == 0) chunk_order(0, order);
    // The next pass's first chunk, read ahead: epoch e + 1's, or the last loss pass's.
    ChunkPass::Ahead then{opt.epochs, 0, false};
    if (e + 1 < opt.epochs) {
      chunk_order(e + 1, next_order);
      then = {e + 1, next_order[0], true};
    }
    pass.set(e, true, pending ? loss_w.data() : nullptr, loss_b);
    int64_t held = 0;  // the minibatch's rows so far (in a job, every rank's)
    int64_t mine = 0;  // in a job, those of them this rank holds, gathered into the batch buffer
    const auto step = [&] {
      if (shard) {
        steps->epoch(Xb.data(), yb.data(), nullptr, held, batch_rows.data(), scale, res.w.data(), res.b, nullptr, e,
                     &batch_shard, mine);
        batch_rows.clear();
        mine = 0;
      } else if (general) {
        steps->epoch(Xb.data(), yb.data(), nullptr, held, identity.data(), scale, res.w.data(), res.b, nullptr, e);
      } else {
        epoch_fn(Xb.data(), yb.data(), held, d, identity.data(), b, opt.lr, scale, res.w.data(), res.b, gw.data(), nullptr, e);
      }
      held = 0;
    };
    constexpr int64_t kAhead = 16;  // rows prefetched ahead of the gather (they lie at random)
    pass.run(order, [&](const Chunk& c) {
      const float* X = c.X.data();
      const uint32_t* rows = c.order.data();
      if (!shard) {
        for (int64_t i = 0; i < c.rows; ++i) {
          if (i + kAhead < c.rows) __builtin_prefetch(X + static_cast<int64_t>(rows[i + kAhead]) * d);
          const int64_t r = rows[i];
          std::copy_n(X + r * d, d, Xb.data() + held * d);
          yb[static_cast<size_t>(held)] = c.y[static_cast<size_t>(r)];
          if (++held == b) step();
        }
        return;
      }
      for (int64_t i = 0; i < c.rows; ++i) {
        const int64_t r = static_cast<int64_t>(rows[i]) - c.mine;  // among the rows this rank holds
        if (r >= 0 && r < c.held) {
          std::copy_n(X + r * d, d, Xb.data() + mine * d);
          yb[static_cast<size_t>(mine)] = c.y[static_cast<size_t>(r)];
          batch_rows.push_back(static_cast<uint32_t>(mine++));
        } else {
          batch_rows.push_back(static_cast<uint32_t>(b));  // another rank's row: past the gathered ones
        }
        if (++held == b) step();
      }
    }, then);
    order.swap(next_order);
    if (held > 0) step();  // the epoch's last, short batch
    const double pass_seconds = seconds_since(t0);
    if (pending && !close_pending()) {
      stopped = true;  // this pass's steps are dropped
      break;
    }
    EpochReport rep;
    rep.epoch = e + 1;
    rep.epoch_seconds = pass_seconds;  // the steps, and the loss of the epoch before on the same rows
    res.train_seconds += pass_seconds;
    const auto [mw, mb] = end.model(res, steps.get());
    loss_w.assign(mw, mw + d);
    loss_b = mb;
    if (validation) {  // held in memory: its loss now, with the model of this epoch
      const auto t1 = Clock::now();
      rep.val_loss = shard ? dataset_loss(*validation, mw, mb, opt.loss, shard->comm, shard->val_total)
                           : dataset_loss(*validation, mw, mb, opt.loss);
      res.eval_seconds += seconds_since(t1);
    }
    iter_w = res.w;
    iter_b = res.b;
    pending_rep = rep;
    pending = true;
  }
  if (pending) {
    // The last epoch's loss: one pass of its own, in file order.
    const auto t1 = Clock::now();
    pass.set(opt.epochs, false, loss_w.data(), loss_b);
    pass.run(in_file, [](const Chunk&) {});
    res.eval_seconds += seconds_since(t1);
    close_pending();
  }
  end.finish(res);
  return res;
}

void ResidentRows::read(int64_t r0, int64_t count, float* X, float* y) const {
  if (r0 < 0 || count < 0 || r0 + count > ds_.n) throw std::logic_error("ResidentRows::read: rows out of range");
  std::copy_n(ds_.X.data() + r0 * ds_.d, count * ds_.d, X);
  std::copy_n(ds_.y.data() + r0, count, y);
}

std::unique_ptr<Trainer> make_cpu_trainer(int threads) { return std::make_unique<CpuTrainer>(threads, ShardPlacement{}); }

std::unique_ptr<Trainer> make_cpu_trainer(int threads, const ShardPlacement& shard) {
  return std::make_unique<CpuTrainer>(threads, shard);
}

}  // namespace linreg
