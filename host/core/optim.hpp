// Per-element formulas of SGD's optimizers, penalties and learning-rate schedules, shared by the
// CPU trainer and (LINREG_HD) device code. Each follows its reference library step for step:
// torch.optim for the optimizers and weight decay, torch.optim.lr_scheduler for the per-epoch
// schedules, scikit-learn's SGDRegressor for the penalties and invscaling (docs/SGD.md states each
// formula). Arithmetic in double; the parameter and the optimizer state are rounded to float32
// once per step, as PyTorch's float32 tensors hold them.
#pragma once

#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"

namespace linreg::optim {

// The optimizer of one run, as plain numbers (kind: 0 sgd, 1 momentum, 2 nesterov, 3 adam,
// 4 adamw; the order of Optimizer in config.hpp).
struct Rule {
  int kind = 0;
  double momentum = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  // Adam's bias corrections of the current step, 1 − β1^t and √(1 − β2^t): begin_step() sets
  // them once per step rather than once per parameter, from β1^t and β2^t kept as running
  // products (t: the step they belong to).
  double bias1 = 1, bias2_sqrt = 1;
  double pow1 = 1, pow2 = 1;
  int64_t t = 0;
};

// Call before the steps of step number t (1, 2, ...). Only Adam's kinds use the corrections.
// β^t is the running product when t follows the step before (one multiplication: two pow calls
// per step doubled a tiny batch's step time), else pow; the product's relative error after t
// steps is below t·ε, which moves 1 − β^t by far less than float32's rounding of the step.
LINREG_HD void begin_step(Rule& r, int64_t t) {
  if (r.kind != 3 && r.kind != 4) return;
  if (t == r.t + 1) {
    r.pow1 *= r.beta1;
    r.pow2 *= r.beta2;
  } else {
    r.pow1 = std::pow(r.beta1, static_cast<double>(t));
    r.pow2 = std::pow(r.beta2, static_cast<double>(t));
  }
  r.t = t;
  r.bias1 = 1 - r.pow1;
  r.bias2_sqrt = std::sqrt(1 - r.pow2);
}

// One parameter's step at step number t (1, 2, ...; begin_step(r, t) called first) with learning
// rate lr and gradient g (the mean over the minibatch, penalty's L2 part included). s1, s2: its
// state (momentum buffer, or Adam's first and second moments), 0 before the first step.
//   sgd:       p ← p − lr·(g + wd·p)
//   momentum:  g' = g + wd·p;  b ← g' at t = 1, else μ·b + g';  p ← p − lr·b
//   nesterov:  the same b;  p ← p − lr·(g' + μ·b)
//   adam:      g' = g + wd·p;  m ← β1·m + (1−β1)·g';  v ← β2·v + (1−β2)·g'²;
//              p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
//   adamw:     p ← p·(1 − lr·wd), then adam with g' = g
LINREG_HD float step(float p, double g, double lr, const Rule& r, int64_t t, float* s1, float* s2) {
  double pd = static_cast<double>(p);
  if (r.kind == 4) pd *= 1.0 - lr * r.weight_decay;
  const double gw = r.kind == 4 ? g : g + r.weight_decay * static_cast<double>(p);
  switch (r.kind) {
    case 1:
    case 2: {
      const double b = t == 1 ? gw : r.momentum * static_cast<double>(*s1) + gw;
      *s1 = static_cast<float>(b);
      const double dir = r.kind == 2 ? gw + r.momentum * static_cast<double>(*s1) : static_cast<double>(*s1);
      return static_cast<float>(pd - lr * dir);
    }
    case 3:
    case 4: {
      const double m = r.beta1 * static_cast<double>(*s1) + (1 - r.beta1) * gw;
      const double v = r.beta2 * static_cast<double>(*s2) + (1 - r.beta2) * gw * gw;
      *s1 = static_cast<float>(m);
      *s2 = static_cast<float>(v);
      const double denom = std::sqrt(static_cast<double>(*s2)) / r.bias2_sqrt + r.eps;
      return static_cast<float>(pd - lr / r.bias1 * static_cast<double>(*s1) / denom);
    }
    default:
      return static_cast<float>(pd - lr * gw);
  }
}

// The L1 part of a penalty as a proximal step after the gradient step: soft-thresholding by
// lr·α·ρ, so that a weight the data do not need becomes exactly 0 (a subgradient step would
// hover around it).
LINREG_HD float soft_threshold(float w, double threshold) {
  const double a = std::fabs(static_cast<double>(w)) - threshold;
  if (!(a > 0)) return 0.0f;
  return static_cast<float>(w > 0 ? a : -a);
}

// The constants of one step beyond the optimizer's: the step number t (1, 2, ...), its scheduled
// learning rate, the factor that turns the batch's gradient sums into the mean gradient
// (grad_scale(loss) / rows of the batch), and the penalty's parts α·(1 − ρ) and α·ρ.
struct StepConstants {
  int64_t t = 0;
  double lr = 0, mean = 0, l2 = 0, l1 = 0;
};

// One parameter's whole update, the same on the CPU and on every GPU strategy: from its batch
// sum (Σ r·x_j for a weight, Σ r for the bias) the mean gradient, plus the L2 part of the penalty
// for a weight; the optimizer's step; then for a weight the L1 proximal step.
LINREG_HD float update_parameter(float p, double sum, bool bias, const Rule& r, const StepConstants& c, float* s1,
                                 float* s2) {
  double g = sum * c.mean;
  if (!bias) g += c.l2 * static_cast<double>(p);
  p = step(p, g, c.lr, r, c.t, s1, s2);
  if (!bias && c.l1 > 0) p = soft_threshold(p, c.lr * c.l1);
  return p;
}

// The running mean of a parameter's iterates after step t (averaged SGD), kept in double.
LINREG_HD void average_in(double& avg, float p, int64_t t) {
  avg += (static_cast<double>(p) - avg) * (1.0 / static_cast<double>(t));
}

// The learning rate of epoch e (0-based) of `epochs`, and of step t (1-based, counting every
// step of the run) for invscaling (kind: 0 constant, 1 step, 2 cosine, 3 invscaling,
// 4 warmup-cosine; the order of LrSchedule):
//   step:           lr·γ^⌊e / step_epochs⌋                       (torch's StepLR)
//   cosine:         lr·(1 + cos(π·e / epochs)) / 2                (CosineAnnealingLR, T_max = epochs)
//   invscaling:     lr / t^power_t                                 (scikit-learn, per step)
//   warmup-cosine:  e < W: lr·(e + 1)/W; else lr·(1 + cos(π·(e − W)/(epochs − W))) / 2
LINREG_HD double scheduled_lr(int kind, double lr, int64_t e, int64_t epochs, int64_t t, int64_t step_epochs,
                              double gamma, double power_t, int64_t warmup) {
  constexpr double kPi = 3.14159265358979323846;
  switch (kind) {
    case 1: return lr * std::pow(gamma, static_cast<double>(e / step_epochs));
    case 2: return lr * (1 + std::cos(kPi * static_cast<double>(e) / static_cast<double>(epochs))) / 2;
    case 3: return lr / std::pow(static_cast<double>(t), power_t);
    case 4:
      if (e < warmup) return lr * static_cast<double>(e + 1) / static_cast<double>(warmup);
      return lr * (1 + std::cos(kPi * static_cast<double>(e - warmup) / static_cast<double>(epochs - warmup))) / 2;
    default: return lr;
  }
}

}  // namespace linreg::optim
