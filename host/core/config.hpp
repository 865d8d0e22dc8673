// What a training run is asked to do. validate_* throw SettingError naming the setting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/formulas.hpp"
#include "host/core/optim.hpp"

namespace linreg {

enum class DeviceChoice { Auto, Gpu, Cpu };

// SGD's penalty (scikit-learn), optimizer (torch.optim) and learning-rate schedule.
enum class Penalty { None, L2, L1, ElasticNet };
enum class Optimizer { Sgd, Momentum, Nesterov, Adam, AdamW };
enum class LrSchedule { Constant, Step, Cosine, InvScaling, WarmupCosine };

// How the GPU runs an SGD step. cublas: the classic pipeline (residual kernel, cuBLAS
// gemv for Xᵀr, fused SGD kernel), a few launches per step. fused: one kernel per step reads each
// minibatch row once (residual, loss and gradient partials), deterministic reduction + update,
// an epoch captured in a CUDA graph. persistent: small problems, many steps inside one kernel
// with w, b on chip. auto: the fastest for the problem's shape. The CPU ignores it.
enum class Strategy { Auto, Cublas, Fused, Persistent };

// The lab's synthetic problem: X ~ N(0,1) (n×d), y = Xw + b + N(0, noise²).
struct SyntheticSpec {
  int64_t examples = 1000;
  int64_t features = 2;
  std::vector<float> true_w;  // empty: default_true_w(features)
  float true_b = 4.2f;
  float noise = 0.01f;
  uint64_t seed = 42;
};

struct TrainOptions {
  int64_t batch_size = 10;
  float lr = 0.03f;
  int64_t epochs = 3;
  LossKind loss = LossKind::HalfMse;
  uint64_t seed = 42;  // initial weights and per-epoch shuffles
  Strategy strategy = Strategy::Auto;
  // false: the model goes through the origin (b stays 0, never updated). Data with per-row
  // weights (HostDataset::weights: each example's gradient and loss term is multiplied by its
  // weight) train on the CPU only.
  bool intercept = true;

  // How the steps are taken (host/core/optim.hpp has the per-element formulas; docs/SGD.md the
  // objective and each rule). The defaults are the lab's plain SGD; anything else takes the
  // rules' path of either trainer (the CPU's general loop, the GPU's rule kernels).
  Penalty penalty = Penalty::None;  // scikit-learn SGDRegressor's: α·R(w), the intercept not penalised
  double alpha = 1e-4;              // penalty strength α ≥ 0
  double l1_ratio = 0.15;           // elasticnet's share of L1, in [0, 1]
  Optimizer optimizer = Optimizer::Sgd;  // torch.optim's rules, step for step
  double momentum = 0.9;            // momentum and nesterov: μ in [0, 1)
  double beta1 = 0.9, beta2 = 0.999;  // adam and adamw: in [0, 1)
  double eps = 1e-8;                // adam and adamw: > 0
  double weight_decay = 0;          // torch.optim's weight_decay (on w and b, as with model.parameters()); ≥ 0
  LrSchedule schedule = LrSchedule::Constant;
  int64_t lr_step_epochs = 10;      // step: multiply by lr_gamma every this many epochs
  double lr_gamma = 0.1;            // step: in (0, 1]
  double power_t = 0.25;            // invscaling: lr / t^power_t at step t = 1, 2, ...; ≥ 0
  int64_t warmup_epochs = 0;        // warmup-cosine: linear warm-up epochs, below epochs
  bool average = false;             // report the running average of the iterates (averaged SGD)
  bool early_stopping = false;      // stop when the monitored loss stops improving
  int64_t patience = 5;             // epochs without an improvement of more than tol; ≥ 1
  double tol = 1e-3;                // ≥ 0
  // Start from these weights (d values) instead of the seeded draw; empty: initial_weights().
  std::vector<float> initial_w;

  // True when everything above is the lab's plain SGD (the GPU's plain kernels and the CPU's fast
  // loops).
  bool plain_sgd() const {
    return intercept && penalty == Penalty::None && optimizer == Optimizer::Sgd && weight_decay == 0 &&
           schedule == LrSchedule::Constant && !average && !early_stopping && initial_w.empty();
  }
};

// The lab's [2, -3.4] for d = 2; otherwise w_j = 4·j/d − 2 (evenly spaced in [-2, 2)),
// the same vector the PyTorch reference runs (bench/pytorch_reference.py) use.
std::vector<float> default_true_w(int64_t features);

// Parses "2,-3.4" into floats; throws InputError, its message starting with `what`, on a non-number.
std::vector<float> parse_float_list(const std::string& text, const std::string& flag);

// Throw SettingError naming the offending setting. validate_synthetic fills an empty true_w.
void validate_synthetic(SyntheticSpec& spec);
void validate_train(const TrainOptions& opt, int64_t examples);

// The options as the per-element formulas of host/core/optim.hpp take them, for both trainers:
// the optimizer's constants, a step's constants without its number, rate and mean factor (the
// penalty's parts α·(1 − ρ) and α·ρ), and the scheduled rate of step t (1-based) in epoch e.
optim::Rule optimizer_rule(const TrainOptions& opt);
optim::StepConstants penalty_constants(const TrainOptions& opt);
double scheduled_lr(const TrainOptions& opt, int64_t epoch, int64_t t);

const char* loss_name(LossKind kind);
const char* penalty_name(Penalty p);          // "none" | "l2" | "l1" | "elasticnet"
const char* optimizer_name(Optimizer o);      // "sgd" | "momentum" | "nesterov" | "adam" | "adamw"
const char* schedule_name(LrSchedule s);      // "constant" | "step" | "cosine" | "invscaling" | "warmup-cosine"
const char* strategy_name(Strategy s);
const char* device_choice_name(DeviceChoice d);

}  // namespace linreg
