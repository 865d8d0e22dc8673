// The trainer interface: one epoch is the unit of work, so that a GPU implementation can keep
// whole epochs on the device (no host sync inside an epoch, CUDA graphs, persistent kernels).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/core/config.hpp"
#include "host/core/dataset.hpp"

namespace linreg {

struct EpochReport {
  int64_t epoch = 0;          // 1-based, as the lab prints it
  double train_loss = 0;      // full-dataset loss after the epoch, in the chosen convention
  double val_loss = -1;       // < 0 when there is no validation set
  double epoch_seconds = 0;   // SGD pass of this epoch (shuffle included, evaluation excluded)
};

struct TrainResult {
  std::vector<double> epoch_losses;      // full-dataset training loss after each epoch
  std::vector<double> epoch_val_losses;  // empty without a validation set
  std::vector<float> w;
  float b = 0;
  double train_seconds = 0;  // all SGD passes (shuffles included); evaluation timed apart
  double eval_seconds = 0;   // per-epoch full-dataset loss evaluations
  bool diverged = false;     // the loss became non-finite; training stopped at that epoch
  int64_t epochs_run = 0;
  std::string strategy;      // what actually ran ("cpu", "cublas", ...)
  // Early stopping: the epoch whose model is reported (best monitored loss), and why training
  // stopped before the last epoch (empty when it ran them all).
  int64_t best_epoch = 0;
  std::string stop_reason;
};

using EpochCallback = std::function<void(const EpochReport&)>;

// Early stopping as scikit-learn's SGDRegressor does it, shared by both backends: an epoch whose
// monitored loss (validation when there is a validation set, else training) does not beat the
// best so far by more than tol counts towards the patience; after `patience` such epochs in a
// row training stops (never after the last epoch: then it simply ends). The caller keeps the
// model of each new best and reports it.
class EarlyStopping {
 public:
  EarlyStopping(const TrainOptions& opt, bool on_validation);
  struct Verdict {
    bool new_best = false;  // keep this epoch's model
    bool stop = false;      // stop after this epoch (reason() says why)
  };
  // After epoch e (0-based).
  Verdict observe(double monitored, int64_t e);
  int64_t best_epoch() const { return best_epoch_; }  // 1-based; 0 before any epoch
  std::string reason() const;

 private:
  double tol_;
  int64_t patience_, epochs_;
  bool on_validation_;
  double best_;
  int64_t since_best_ = 0, best_epoch_ = 0;
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  Trainer() = default;
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  virtual std::string device_name() const = 0;  // "cpu" or the GPU's name
  virtual std::string backend() const = 0;      // "cpu" or "cuda"

  // Data. The synthetic generator runs where the trainer lives (cuRAND on the device for the
  // GPU). load() copies a host dataset in once. An optional validation set is evaluated per epoch.
  virtual void generate(const SyntheticSpec& spec) = 0;
  virtual void load(const HostDataset& train, const HostDataset* validation = nullptr) = 0;
  virtual int64_t examples() const = 0;
  virtual int64_t features() const = 0;
  // The resident training data copied back (tests compare GPU-generated data with the host's).
  virtual HostDataset download() const = 0;

  // Minibatch SGD from initial_weights(d, opt.seed) and b = 0. Stops early (diverged = true)
  // at the first epoch whose loss is not finite. `on_epoch` is called after every epoch.
  TrainResult fit(const TrainOptions& opt, const EpochCallback& on_epoch = {}) { return run(opt, nullptr, on_epoch); }

  // Same as fit() but with given permutations: perms[e] is epoch e's row order (n entries).
  // Lets tests drive both backends through identical minibatches.
  TrainResult fit_with_permutations(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>& perms,
                                    const EpochCallback& on_epoch = {});

  // Full-dataset loss of (w, b) on the training data, accumulated in double.
  virtual double loss(const std::vector<float>& w, float b, LossKind kind) const = 0;

 protected:
  // The backend's training loop; perms is null for fit() (the backend shuffles), else checked.
  virtual TrainResult run(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>* perms,
                          const EpochCallback& on_epoch) = 0;
};

// fit_with_permutations' precondition, shared by the backends: at least `epochs` permutations,
// each of n indices below n (an index out of range would read out of bounds). Throws InputError.
void check_permutations(const std::vector<std::vector<uint32_t>>& perms, int64_t epochs, int64_t n);

}  // namespace linreg
