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

// Rows read a range at a time, for data that does not fit in memory (an .npy file).
class RowChunks {
 public:
  virtual ~RowChunks() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t features() const = 0;
  // Rows [r0, r0 + count) as float32 X (count × d, row-major) and y (count), written where the
  // caller says (a chunk buffer, or pinned memory the GPU copies from: no copy in between), as
  // the training sees them (standardised when the run standardises). Called from a reading
  // thread beside the training.
  virtual void read(int64_t r0, int64_t count, float* X, float* y) const = 0;
  // Rows already held in host memory, whole (X rows × d, y), as read() would give them; null when
  // they come from a file. The GPU copies such rows to the device straight from where they are.
  virtual const float* resident_X() const { return nullptr; }
  virtual const float* resident_y() const { return nullptr; }
};

// The rows of a dataset in memory as RowChunks (kept by reference): for the GPU, whose device may
// hold less than the host.
class ResidentRows final : public RowChunks {
 public:
  explicit ResidentRows(const HostDataset& ds) : ds_(ds) {}
  int64_t rows() const override { return ds_.n; }
  int64_t features() const override { return ds_.d; }
  void read(int64_t r0, int64_t count, float* X, float* y) const override;
  const float* resident_X() const override { return ds_.X.data(); }
  const float* resident_y() const override { return ds_.y.data(); }

 private:
  const HostDataset& ds_;
};

// SGD on rows streamed in chunks of chunk_rows: at most two chunks in memory (the one training and
// the next, read by a second thread meanwhile), each epoch in the two-level order of
// permutation.hpp (two_level_permutation). The steps are the in-memory trainer's on that order,
// bit for bit (every rule of docs/SGD.md, early stopping); no row weights. A validation set, when
// given, is held in memory (its loss taken at each epoch's end, early stopping on it as in
// memory). Each epoch reads the rows once: an epoch's loss (over all rows, summed per
// chunk and added in file order: the in-memory loss to rounding) is taken during the next
// epoch's pass, before each chunk trains, and reported when that pass ends; the last epoch's
// loss gets a pass of its own. A stop (early stopping, divergence) after epoch e drops the steps
// taken since and returns what the in-memory trainer returns.
// shard: a rank of a data-parallel job. `rows` are then this rank's training rows (the job's
// total_rows are every rank's, in rank order), and `validation` its share of the job's val_total
// validation rows. Chunk k of the job is every rank's chunk k of its own rows (rows
// [k·chunk_rows, (k + 1)·chunk_rows) of its shard), taken in rank order, so that every
// minibatch draws on every rank's rows and every rank works; the two-level order is over those
// chunks (with one rank: the one process's). Each rank reads only its part of each chunk; the
// steps are the in-memory sharded trainer's on that order (one sum across ranks a minibatch),
// bit for bit. A rank may hold no rows. Each chunk's order is of the whole job chunk: 4 bytes a
// row of it (ranks × chunk_rows rows) beside this rank's two chunks.
TrainResult train_streamed(const RowChunks& rows, const TrainOptions& opt, int64_t chunk_rows,
                           const EpochCallback& cb = {}, const HostDataset* validation = nullptr,
                           const ShardPlacement* shard = nullptr);

// The CPU trainer's analytic gradient of the mean minibatch loss over `rows` (count of them):
// grad_w = scale·Σ r·x / count, grad_b = scale·Σ r / count. Exposed for the gradient tests.
void cpu_batch_gradient(const HostDataset& data, const uint32_t* rows, int64_t count, const std::vector<float>& w,
                        float b, LossKind kind, std::vector<double>& grad_w, double& grad_b);

}  // namespace linreg
