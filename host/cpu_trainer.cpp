// The CPU fallback: the same minibatch SGD as the GPU path, in plain C++.
// Per step: r_i = x_i·w + b − y_i, g = Σ r_i x_i, w ← sgd_step(w, g) (formulas.hpp), with
// every sum in double (more exact than the GPU's float reductions, so it serves as their
// reference). The inner loops are specialised on small feature counts, where the whole cost is
// the dependent chain from one step's update to the next step's residuals.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "host/error.hpp"
#include "host/formulas.hpp"
#include "host/trainer.hpp"

namespace linreg {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// x·w in double. D > 0: compile-time feature count (fully unrolled); D == 0: runtime d.
template <int D>
inline double dot(const float* __restrict x, const float* __restrict w, int64_t d) {
  double acc = 0;
  if constexpr (D > 0) {
    for (int j = 0; j < D; ++j) acc += static_cast<double>(x[j]) * static_cast<double>(w[j]);
  } else {
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < d; ++j) acc += static_cast<double>(x[j]) * static_cast<double>(w[j]);
  }
  return acc;
}

// One epoch of minibatch SGD over the rows in `perm` order. w, b updated in place.
// gw: scratch of d doubles.
template <int D>
void sgd_epoch(const float* __restrict X, const float* __restrict y, int64_t n, int64_t d_runtime,
               const uint32_t* __restrict perm, int64_t batch, float lr, double scale,
               float* __restrict w, float& b, double* __restrict gw) {
  const int64_t d = D > 0 ? D : d_runtime;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);  // the last batch may be short
    double gb = 0;
    std::fill(gw, gw + d, 0.0);
    for (int64_t k = 0; k < count; ++k) {
      const int64_t row = perm[start + k];
      const float* x = X + row * d;
      const double r = dot<D>(x, w, d) + static_cast<double>(b) - static_cast<double>(y[row]);
      gb += r;
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) gw[j] += r * static_cast<double>(x[j]);
    }
    for (int64_t j = 0; j < d; ++j) w[j] = sgd_step(w[j], gw[j], lr, scale, count);
    b = sgd_step(b, gb, lr, scale, count);
  }
}

using EpochFn = void (*)(const float*, const float*, int64_t, int64_t, const uint32_t*, int64_t, float,
                         double, float*, float&, double*);

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

// Mean loss over the dataset, accumulated in double.
double dataset_loss(const HostDataset& ds, const float* w, float b, LossKind kind) {
  double sum = 0;
  for (int64_t i = 0; i < ds.n; ++i) {
    const double r = dot<0>(ds.X.data() + i * ds.d, w, ds.d) + static_cast<double>(b) - static_cast<double>(ds.y[i]);
    sum += loss_term(r, kind);
  }
  return sum / static_cast<double>(ds.n);
}

void check_dataset(const HostDataset& ds, const char* what) {
  if (ds.n <= 0 || ds.d <= 0) throw InputError(std::string(what) + " dataset is empty");
  if (ds.X.size() != static_cast<size_t>(ds.n * ds.d) || ds.y.size() != static_cast<size_t>(ds.n))
    throw InputError(std::string(what) + " dataset has inconsistent sizes");
}

class CpuTrainer final : public Trainer {
 public:
  std::string device_name() const override { return "cpu"; }
  std::string backend() const override { return "cpu"; }

  void generate(const SyntheticSpec& spec) override {
    train_ = generate_synthetic_host(spec);
    has_val_ = false;
    val_ = HostDataset{};
  }

  void load(const HostDataset& train, const HostDataset* validation) override {
    check_dataset(train, "training");
    if (validation) {
      check_dataset(*validation, "validation");
      if (validation->d != train.d) throw InputError("validation dataset has a different number of features");
    }
    train_ = train;
    has_val_ = validation != nullptr;
    val_ = validation ? *validation : HostDataset{};
  }

  int64_t examples() const override { return train_.n; }
  int64_t features() const override { return train_.d; }
  HostDataset download() const override { return train_; }

  TrainResult fit(const TrainOptions& opt, const EpochCallback& on_epoch) override {
    return run(opt, nullptr, on_epoch);
  }

  TrainResult fit_with_permutations(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>& perms,
                                    const EpochCallback& on_epoch) override {
    if (static_cast<int64_t>(perms.size()) < opt.epochs)
      throw InputError("fit_with_permutations: " + std::to_string(perms.size()) + " permutations for " +
                       std::to_string(opt.epochs) + " epochs");
    for (const auto& p : perms) {
      if (static_cast<int64_t>(p.size()) != train_.n) throw InputError("fit_with_permutations: permutation of the wrong length");
      for (uint32_t v : p)
        if (v >= train_.n) throw InputError("fit_with_permutations: index out of range");
    }
    return run(opt, &perms, on_epoch);
  }

  double loss(const std::vector<float>& w, float b, LossKind kind) const override {
    if (static_cast<int64_t>(w.size()) != train_.d) throw InputError("loss: w has the wrong length");
    return dataset_loss(train_, w.data(), b, kind);
  }

 private:
  TrainResult run(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>* perms, const EpochCallback& cb) {
    if (train_.n <= 0) throw InputError("no training data loaded");
    validate_train(opt, train_.n);
    const int64_t n = train_.n, d = train_.d;
    TrainResult res;
    res.strategy = "cpu";
    res.w = initial_weights(d, opt.seed);
    res.b = 0.0f;
    std::vector<double> gw(static_cast<size_t>(d));
    std::vector<uint32_t> perm(static_cast<size_t>(n));
    const EpochFn epoch_fn = pick_epoch_fn(d);
    const double scale = grad_scale(opt.loss);

    for (int64_t e = 0; e < opt.epochs; ++e) {
      const auto t0 = Clock::now();
      const uint32_t* order = nullptr;
      if (perms) {
        order = (*perms)[static_cast<size_t>(e)].data();
      } else {
        host_permutation(n, opt.seed, e, perm.data());
        order = perm.data();
      }
      epoch_fn(train_.X.data(), train_.y.data(), n, d, order, opt.batch_size, opt.lr, scale, res.w.data(), res.b,
               gw.data());
      EpochReport rep;
      rep.epoch = e + 1;
      rep.epoch_seconds = seconds_since(t0);
      res.train_seconds += rep.epoch_seconds;

      const auto t1 = Clock::now();
      rep.train_loss = dataset_loss(train_, res.w.data(), res.b, opt.loss);
      if (has_val_) rep.val_loss = dataset_loss(val_, res.w.data(), res.b, opt.loss);
      res.eval_seconds += seconds_since(t1);

      res.epoch_losses.push_back(rep.train_loss);
      if (has_val_) res.epoch_val_losses.push_back(rep.val_loss);
      res.epochs_run = e + 1;
      if (cb) cb(rep);
      if (!std::isfinite(rep.train_loss)) {
        res.diverged = true;
        break;
      }
    }
    return res;
  }

  HostDataset train_;
  HostDataset val_;
  bool has_val_ = false;
};

}  // namespace

std::unique_ptr<Trainer> make_cpu_trainer() { return std::make_unique<CpuTrainer>(); }

}  // namespace linreg
