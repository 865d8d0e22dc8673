// The GPU's update for SGD's rules (docs/SGD.md: optimizers, penalties, schedules, averaging),
// applied after the cublas or fused strategy has formed the minibatch's gradient sums. Launchers
// only.
//
// Per step the host fixes everything that does not depend on the data (the step number, the
// scheduled rate, Adam's bias corrections) and passes it by value: no host synchronisation inside
// an epoch. The per-element arithmetic is host/core/optim.hpp's, the CPU trainer's own.
//   cublas  gather_residual → cublas_xt_r → rule_update_residuals
//   fused   batch_sums (the batch's Σ r·x_j and Σ r in double) → rule_update_sums
// The persistent strategy applies the same update inside its kernel (sgd_kernels.hpp:
// persistent_epoch_rules), computing the step constants there.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "host/core/optim.hpp"

namespace linreg::kern {

struct RuleStep {
  optim::Rule rule;          // optimizer and its constants, begin_step(rule, c.t) applied
  optim::StepConstants c;    // the step's number, scheduled rate, mean factor, penalty parts
  bool intercept = true;     // false: b stays 0
  bool average = false;      // update the running average of the iterates
};

// The rule's state on the device, per parameter (w_0 .. w_{d−1}, b): s1, s2 floats (momentum
// buffer, or Adam's moments), avg doubles (the average of the iterates; may be null when not
// averaging). All zero before the first step.
struct RuleState {
  float* s1 = nullptr;
  float* s2 = nullptr;
  double* avg = nullptr;
};

// From the cublas strategy's buffers: g (d floats, Xbᵀr) and r (bt residuals, Σ r formed here in
// double by the fixed tree sgd_update uses). One block.
void rule_update_residuals(const float* d_g, const float* d_r, int64_t bt, int64_t d, const RuleStep& step,
                           float* d_params, RuleState state, cudaStream_t stream);

// From batch_sums' output: d_sums[0..d) = Σ r·x_j, d_sums[d] = Σ r (doubles).
void rule_update_sums(const double* d_sums, int64_t d, const RuleStep& step, float* d_params, RuleState state,
                      cudaStream_t stream);

// The averaged model as float parameters (d + 1), rounded once: what is evaluated and reported.
void averaged_params(const double* d_avg, int64_t d, float* d_params_out, cudaStream_t stream);

}  // namespace linreg::kern
