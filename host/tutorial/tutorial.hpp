// `linreg tutorial`: the lab's sections 2-5 done with the C++ Tensor library (host/tensor).
// Each step prints "## id: <the lab's Python expression>" and then the result exactly as PyTorch
// prints it (tests/fixtures/pytorch-reference.txt holds PyTorch's own output for the
// deterministic steps of sections 2 and 3). Steps that draw random numbers are seeded and print
// shapes. Sections 4 and 5 train on linreg's own synthetic data (generate_synthetic_host), the
// same dataset, initial weights and epoch orders as `linreg train --device cpu` uses.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "host/core/config.hpp"
#include "host/core/dataset.hpp"

namespace linreg::tutorial {

struct Step {
  std::string id;      // "2.13"
  std::string expr;    // the lab's Python, e.g. "x / y"
  std::string cpp;     // the same step with host/tensor, e.g. "x / y"
  std::string output;  // what PyTorch would print
};

struct Options {
  int section = 0;         // 0: sections 2 to 5 in order
  std::string plot_path;   // non-empty: section 4 writes the scatter of feature 1 vs labels here
  bool show_cpp = false;   // print the C++ of each step under its header
  uint64_t seed = 42;      // data, initial weights, shuffles, randn
  // Where the tensors live. Auto and Cpu: on the host, and section 2's "Tensor on GPU" step runs
  // on the GPU when one is usable (Auto) or is skipped with one line saying why. Gpu: every
  // tensor of sections 2-5 is made on cuda:0 (the step's results print as on the host, plus
  // device='cuda:0'); DeviceUnavailable when no GPU is usable.
  DeviceChoice device = DeviceChoice::Auto;
};

// Runs one section (2..5) and returns its steps; each is also printed to `out` when given.
// Section 2's "Tensor on GPU" step (2.36) is a step only when it ran on a GPU; otherwise a note.
std::vector<Step> run_section(int section, const Options& opt, std::ostream* out);

// The lab's Python of the "Tensor on GPU" step, as its header prints it.
std::string gpu_step_expr();

// Runs the sections asked for by opt, printing to out.
void run(const Options& opt, std::ostream& out);

// ---- sections 4 and 5 as functions (tests bind them to the analytic CPU trainer) -----------

// Epoch e's order of the n examples (e is 0-based).
using Permutations = std::function<std::vector<int64_t>(int64_t n, int64_t epoch)>;
// linreg::host_permutation with `seed`: the orders `linreg train` uses.
Permutations trainer_permutations(uint64_t seed);

struct FitResult {
  std::vector<float> w;
  float b = 0;
  std::vector<double> epoch_losses;  // the lab's printed loss after each epoch
};
using EpochFn = std::function<void(int64_t epoch, double loss)>;  // epoch is 1-based

// Section 4: w (d, 1), b (1) from initial_weights(d, opt.seed) and 0; per minibatch
// l = squared_loss(X·w + b, y); l.sum().backward(); sgd([w, b], lr, batch) where batch is the
// minibatch's true size. The printed loss is squared_loss(...).mean() over the whole dataset.
FitResult train_from_scratch(const HostDataset& ds, const TrainOptions& opt, const Permutations& perms,
                             const EpochFn& on_epoch = {});

// Section 5: nn::Linear(d, 1) (weight from initial_weights, bias 0), nn::MSELoss, optim::SGD and a
// data::DataLoader; the loss printed is MSELoss over the whole dataset.
FitResult train_concise(const HostDataset& ds, const TrainOptions& opt, const Permutations& perms,
                        const EpochFn& on_epoch = {});

// The lab's synthetic problem: 1000 examples, w = [2, -3.4], b = 4.2, noise 0.01, from `seed`.
SyntheticSpec lab_spec(uint64_t seed);

}  // namespace linreg::tutorial
