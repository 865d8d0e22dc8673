// The parts of the Trainer interface that both backends share: the check of caller-given
// permutations, done once here before either backend's training loop sees them, and early
// stopping.
#include "host/train/trainer.hpp"

#include <cmath>
#include <string>

#include "host/core/error.hpp"
#include "host/data/metrics.hpp"

namespace linreg {

void check_permutations(const std::vector<std::vector<uint32_t>>& perms, int64_t epochs, int64_t n) {
  if (static_cast<int64_t>(perms.size()) < epochs)
    throw InputError("fit_with_permutations: " + std::to_string(perms.size()) + " permutations for " +
                     std::to_string(epochs) + " epochs");
  for (int64_t e = 0; e < epochs; ++e) {
    const auto& p = perms[static_cast<size_t>(e)];
    if (static_cast<int64_t>(p.size()) != n) throw InputError("fit_with_permutations: permutation of the wrong length");
    for (uint32_t v : p)
      if (v >= n) throw InputError("fit_with_permutations: index out of range");
  }
}

TrainResult Trainer::fit_with_permutations(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>& perms,
                                           const EpochCallback& on_epoch) {
  check_permutations(perms, opt.epochs, examples());
  return run(opt, &perms, on_epoch);
}

EarlyStopping::EarlyStopping(const TrainOptions& opt, bool on_validation)
    : tol_(opt.tol), patience_(opt.patience), epochs_(opt.epochs), on_validation_(on_validation), best_(INFINITY) {}

EarlyStopping::Verdict EarlyStopping::observe(double monitored, int64_t e) {
  Verdict v;
  since_best_ = monitored > best_ - tol_ ? since_best_ + 1 : 0;
  if (monitored < best_) {
    best_ = monitored;
    best_epoch_ = e + 1;
    v.new_best = true;
  }
  v.stop = since_best_ >= patience_ && e + 1 < epochs_;
  return v;
}

std::string EarlyStopping::reason() const {
  return std::string("the ") + (on_validation_ ? "validation" : "training") + " loss did not improve by more than " +
         data::number_text(tol_) + " for " + std::to_string(patience_) + " epochs";
}

}  // namespace linreg
