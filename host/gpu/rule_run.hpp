// The per-run state of SGD's rules on the GPU (docs/SGD.md), shared by the trainer's general loop
// and the streamed trainer: the parameters and the rule's state on the device, the constants of
// each step made on the host (no synchronisation inside an epoch), the model each epoch reports
// (the iterate, or the average of the iterates) and the best epoch's model (early stopping).
#pragma once

#include <cstdint>
#include <vector>

#include "host/core/config.hpp"
#include "host/core/formulas.hpp"
#include "host/core/optim.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/sgd_rules.hpp"

namespace linreg {

class RuleRun {
 public:
  // Starts from `start` (d weights; b = 0) with every state zero, enqueued on `s`.
  RuleRun(const TrainOptions& opt, std::vector<float> start, cudaStream_t s) : opt_(opt), params_(std::move(start)) {
    params_.push_back(0.0f);  // b
    const size_t p = params_.size();
    d_ = static_cast<int64_t>(p) - 1;
    d_params_.resize(p);
    s1_.resize(p);
    s2_.resize(p);
    if (opt.average) {
      avg_.resize(p);
      eval_.resize(p);
    }
    if (opt.early_stopping) best_.resize(p);
    d_params_.upload(params_.data(), p, s);
    LINREG_CHECK(cudaMemsetAsync(s1_.data(), 0, s1_.bytes(), s));
    LINREG_CHECK(cudaMemsetAsync(s2_.data(), 0, s2_.bytes(), s));
    if (opt.average) LINREG_CHECK(cudaMemsetAsync(avg_.data(), 0, avg_.bytes(), s));
    step_.rule = optimizer_rule(opt);
    step_.c = penalty_constants(opt);
    step_.intercept = opt.intercept;
    step_.average = opt.average;
    scale_ = grad_scale(opt.loss);
  }

  float* params() { return d_params_.data(); }
  kern::RuleState state() { return {s1_.data(), s2_.data(), opt_.average ? avg_.data() : nullptr}; }

  // The constants of the next step of epoch e over a minibatch of bt rows.
  const kern::RuleStep& next_step(int64_t e, int64_t bt) {
    ++step_.c.t;
    optim::begin_step(step_.rule, step_.c.t);
    step_.c.lr = scheduled_lr(opt_, e, step_.c.t);
    step_.c.mean = scale_ / static_cast<double>(bt);  // the mean gradient over the batch
    return step_;
  }
  kern::RuleStep& step() { return step_; }

  // The model this epoch reports: the iterate, or with --average the average of the iterates.
  const float* model(cudaStream_t s) {
    if (!opt_.average) return d_params_.data();
    kern::averaged_params(avg_.data(), d_, eval_.data(), s);
    return eval_.data();
  }
  // Early stopping found a new best epoch: keep `model` (its parameters on the device).
  void keep_best(const float* model, cudaStream_t s) {
    LINREG_CHECK(cudaMemcpyAsync(best_.data(), model, best_.bytes(), cudaMemcpyDeviceToDevice, s));
    have_best_ = true;
  }
  // The iterate kept aside (snapshot) and put back (rewind): the streamed trainer learns of a stop
  // after epoch e one pass later, and drops the steps taken since.
  void snapshot(cudaStream_t s) {
    snap_.resize(d_params_.size());
    LINREG_CHECK(cudaMemcpyAsync(snap_.data(), d_params_.data(), d_params_.bytes(), cudaMemcpyDeviceToDevice, s));
  }
  void rewind(cudaStream_t s) {
    LINREG_CHECK(cudaMemcpyAsync(d_params_.data(), snap_.data(), d_params_.bytes(), cudaMemcpyDeviceToDevice, s));
  }

  // The model the run returns, copied to the host (synchronises s): the best epoch's (early
  // stopping), else the average, else the iterate; the iterate when training diverged.
  void result(bool diverged, cudaStream_t s, std::vector<float>& w, float& b) {
    const float* out = d_params_.data();
    if (!diverged && opt_.early_stopping && have_best_) out = best_.data();
    else if (!diverged && opt_.average) out = eval_.data();
    LINREG_CHECK(cudaMemcpyAsync(params_.data(), out, params_.size() * sizeof(float), cudaMemcpyDeviceToHost, s));
    LINREG_CHECK(cudaStreamSynchronize(s));
    b = params_.back();
    w.assign(params_.begin(), params_.end() - 1);
  }

 private:
  const TrainOptions& opt_;
  std::vector<float> params_;
  int64_t d_ = 0;
  DeviceBuffer<float> d_params_, s1_, s2_, eval_, best_, snap_;
  DeviceBuffer<double> avg_;
  kern::RuleStep step_;
  double scale_ = 1;
  bool have_best_ = false;
};

}  // namespace linreg
