// The CPU backend of minibatch SGD: double-precision sums, prefetched rows, and a fork-join pool
// (step_pool.hpp) for large steps. Always built; the fallback when no GPU is usable.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/core/formulas.hpp"
#include "host/train/trainer.hpp"

namespace linreg {

class Communicator;

// threads: for large minibatch steps (batch·d ≥ 65536); 0 = one per hardware thread (≤ 8).
// Results are bit-identical run to run for a given thread count.
std::unique_ptr<Trainer> make_cpu_trainer(int threads = 0);

// A rank's part of a data-parallel job (host/cluster/communicator.hpp): the trainer is loaded with
// this rank's shard, rows [first_row, first_row + n) of the job's total_rows training rows (and
// its share of the validation rows, val_total in all). Every rank draws the same permutation of
// all total_rows rows each epoch; for each minibatch a rank sums the gradient terms of the rows
// it holds, the d + 1 sums are added across ranks in rank order, and every rank takes the same
// step, so every rank holds the same model. A job of one rank is the ordinary trainer.
struct ShardPlacement {
  const Communicator* comm = nullptr;
  int64_t first_row = 0, total_rows = 0, val_total = 0;
};
std::unique_ptr<Trainer> make_cpu_trainer(int threads, const ShardPlacement& shard);

// The CPU trainer's analytic gradient of the mean minibatch loss over `rows` (count of them):
// grad_w = scale·Σ r·x / count, grad_b = scale·Σ r / count. Exposed for the gradient tests.
void cpu_batch_gradient(const HostDataset& data, const uint32_t* rows, int64_t count, const std::vector<float>& w,
                        float b, LossKind kind, std::vector<double>& grad_w, double& grad_b);

}  // namespace linreg
