// Validation of the training configuration: one place, one message per mistake. Errors are
// SettingErrors naming the setting, so that the command line can name its flag.
#include "host/core/config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "host/core/error.hpp"

namespace linreg {

std::vector<float> default_true_w(int64_t features) {
  if (features == 2) return {2.0f, -3.4f};
  std::vector<float> w(static_cast<size_t>(features));
  for (int64_t j = 0; j < features; ++j)
    w[static_cast<size_t>(j)] = static_cast<float>(4.0 * static_cast<double>(j) / static_cast<double>(features) - 2.0);
  return w;
}

std::vector<float> parse_float_list(const std::string& text, const std::string& flag) {
  std::vector<float> out;
  std::stringstream ss(text);
  std::string item;
  size_t pos = 0;
  while (std::getline(ss, item, ',')) {
    ++pos;
    // Trim spaces so "2, -3.4" works.
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    const std::string t = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    char* end = nullptr;
    errno = 0;
    const double v = t.empty() ? 0.0 : std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v) ||
        std::fabs(v) > 3.4e38) {
      throw InputError(flag + ": item " + std::to_string(pos) + " ('" + t + "') is not a finite number");
    }
    out.push_back(static_cast<float>(v));
  }
  if (!text.empty() && text.back() == ',') throw InputError(flag + ": trailing comma in '" + text + "'");
  if (out.empty()) throw InputError(flag + ": expected a comma-separated list of numbers");
  return out;
}

void validate_synthetic(SyntheticSpec& spec) {
  if (spec.examples <= 0) throw SettingError("examples", "the number of examples must be at least 1 (got " + std::to_string(spec.examples) + ")");
  // Row indices are 32-bit on both backends.
  if (spec.examples >= (int64_t{1} << 31)) throw SettingError("examples", "the number of examples must be below 2^31");
  if (spec.features <= 0) throw SettingError("features", "the number of features must be at least 1 (got " + std::to_string(spec.features) + ")");
  if (spec.features > (int64_t{1} << 20)) throw SettingError("features", "the number of features must be at most 1048576");
  if (!std::isfinite(spec.noise) || spec.noise < 0)
    throw SettingError("noise", "the noise must be a finite number >= 0");
  if (!std::isfinite(spec.true_b)) throw SettingError("true_b", "the true bias must be a finite number");
  if (spec.true_w.empty()) spec.true_w = default_true_w(spec.features);
  if (static_cast<int64_t>(spec.true_w.size()) != spec.features)
    throw SettingError("true_w", "the true weights have " + std::to_string(spec.true_w.size()) +
                                   " values for " + std::to_string(spec.features) + " features");
  for (float v : spec.true_w)
    if (!std::isfinite(v)) throw SettingError("true_w", "the true weights must be finite numbers");
}

void validate_train(const TrainOptions& opt, int64_t examples) {
  if (opt.batch_size <= 0) throw SettingError("batch_size", "the batch size must be at least 1 (got " + std::to_string(opt.batch_size) + ")");
  if (opt.batch_size > examples)
    throw SettingError("batch_size", "the batch size (" + std::to_string(opt.batch_size) +
                                           ") must not exceed the number of examples (" + std::to_string(examples) + ")");
  if (!std::isfinite(opt.lr) || opt.lr <= 0) throw SettingError("lr", "the learning rate must be a finite number > 0");
  if (opt.epochs <= 0) throw SettingError("epochs", "the number of epochs must be at least 1 (got " + std::to_string(opt.epochs) + ")");
  const auto finite_at_least = [](double v, double lo) { return std::isfinite(v) && v >= lo; };
  const auto unit = [](double v) { return v >= 0 && v < 1; };  // [0, 1); false for NaN
  if (!finite_at_least(opt.alpha, 0)) throw SettingError("alpha", "the penalty strength must be a finite number >= 0");
  if (!(opt.l1_ratio >= 0 && opt.l1_ratio <= 1)) throw SettingError("l1_ratio", "the L1 ratio must be in [0, 1]");
  if (opt.penalty != Penalty::None && opt.penalty != Penalty::L2 && opt.optimizer != Optimizer::Sgd)
    throw SettingError("penalty", std::string("the L1 part of --penalty ") + penalty_name(opt.penalty) +
                                      " is a proximal step of plain SGD; it is not defined for the " +
                                      optimizer_name(opt.optimizer) + " optimizer (use l2, or --optimizer sgd)");
  if (!unit(opt.momentum)) throw SettingError("momentum", "the momentum must be in [0, 1)");
  if (!unit(opt.beta1)) throw SettingError("beta1", "beta1 must be in [0, 1)");
  if (!unit(opt.beta2)) throw SettingError("beta2", "beta2 must be in [0, 1)");
  if (!(std::isfinite(opt.eps) && opt.eps > 0)) throw SettingError("eps", "eps must be a finite number > 0");
  if (!finite_at_least(opt.weight_decay, 0)) throw SettingError("weight_decay", "the weight decay must be a finite number >= 0");
  if (opt.optimizer == Optimizer::AdamW && !(static_cast<double>(opt.lr) * opt.weight_decay < 1))
    throw SettingError("weight_decay", "adamw multiplies the weights by 1 - lr * weight_decay each step: it must stay above 0");
  if (opt.lr_step_epochs < 1) throw SettingError("lr_step_epochs", "the step schedule's period must be at least 1 epoch");
  if (!(opt.lr_gamma > 0 && opt.lr_gamma <= 1)) throw SettingError("lr_gamma", "the step schedule's factor must be in (0, 1]");
  if (!finite_at_least(opt.power_t, 0)) throw SettingError("power_t", "power_t must be a finite number >= 0");
  if (opt.warmup_epochs < 0 || (opt.schedule == LrSchedule::WarmupCosine && opt.warmup_epochs >= opt.epochs))
    throw SettingError("warmup_epochs", "the warm-up must be at least 0 epochs and fewer than --epochs (" +
                                            std::to_string(opt.epochs) + ")");
  if (opt.patience < 1) throw SettingError("patience", "the patience must be at least 1 epoch");
  if (!finite_at_least(opt.tol, 0)) throw SettingError("tol", "the tolerance must be a finite number >= 0");
}

const char* penalty_name(Penalty p) {
  switch (p) {
    case Penalty::None: return "none";
    case Penalty::L2: return "l2";
    case Penalty::L1: return "l1";
    case Penalty::ElasticNet: return "elasticnet";
  }
  return "?";
}

const char* optimizer_name(Optimizer o) {
  switch (o) {
    case Optimizer::Sgd: return "sgd";
    case Optimizer::Momentum: return "momentum";
    case Optimizer::Nesterov: return "nesterov";
    case Optimizer::Adam: return "adam";
    case Optimizer::AdamW: return "adamw";
  }
  return "?";
}

const char* schedule_name(LrSchedule s) {
  switch (s) {
    case LrSchedule::Constant: return "constant";
    case LrSchedule::Step: return "step";
    case LrSchedule::Cosine: return "cosine";
    case LrSchedule::InvScaling: return "invscaling";
    case LrSchedule::WarmupCosine: return "warmup-cosine";
  }
  return "?";
}

const char* loss_name(LossKind kind) { return kind == LossKind::HalfMse ? "half-mse" : "mse"; }

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::Auto: return "auto";
    case Strategy::Cublas: return "cublas";
    case Strategy::Fused: return "fused";
    case Strategy::Persistent: return "persistent";
  }
  return "?";
}

const char* device_choice_name(DeviceChoice d) {
  switch (d) {
    case DeviceChoice::Auto: return "auto";
    case DeviceChoice::Gpu: return "gpu";
    case DeviceChoice::Cpu: return "cpu";
  }
  return "?";
}

optim::Rule optimizer_rule(const TrainOptions& opt) {
  optim::Rule r;
  r.kind = static_cast<int>(opt.optimizer);
  r.momentum = opt.momentum;
  r.beta1 = opt.beta1;
  r.beta2 = opt.beta2;
  r.eps = opt.eps;
  r.weight_decay = opt.weight_decay;
  return r;
}

optim::StepConstants penalty_constants(const TrainOptions& opt) {
  optim::StepConstants c;
  if (opt.penalty == Penalty::None) return c;
  const double ratio = opt.penalty == Penalty::L1 ? 1.0 : opt.penalty == Penalty::ElasticNet ? opt.l1_ratio : 0.0;
  c.l2 = opt.alpha * (1 - ratio);
  c.l1 = opt.alpha * ratio;
  return c;
}

double scheduled_lr(const TrainOptions& opt, int64_t epoch, int64_t t) {
  return optim::scheduled_lr(static_cast<int>(opt.schedule), static_cast<double>(opt.lr), epoch, opt.epochs, t,
                             opt.lr_step_epochs, opt.lr_gamma, opt.power_t, opt.warmup_epochs);
}

}  // namespace linreg
