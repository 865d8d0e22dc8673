// SGD on the GPU for rows that do not fit in its memory: chunks of rows copied host → device
// through two pinned buffers while the device trains on the chunk before (part of the GPU
// module; the rest of linreg reaches it through GpuBackend::train_streamed).
#pragma once

#include <cstdint>

#include "host/core/config.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/trainer.hpp"

namespace linreg {

// The semantics of cpu_trainer.hpp's train_streamed (the two-level shuffle of permutation.hpp,
// every rule of docs/SGD.md, early stopping, a validation set, no row weights), on `device`.
// Per chunk: the host reads it (a second thread; skipped when `rows` holds them in memory:
// they are copied from there, pinned in place when the driver allows),
// the copy engine moves it to the device on its own stream, and the compute stream shuffles it,
// puts its rows in that order behind the rows left over from the chunk before and runs the
// minibatches that are complete: each step is the in-memory trainer's rules step (batch_sums,
// or the cublas strategy's Xᵀr past the fused kernels' feature limit, then the rule kernel) on
// the same rows in the same order, so the steps are the in-memory GPU trainer's on that order,
// bit for bit. An epoch moves the rows once: its loss is taken during the next epoch's pass, on
// each chunk before it trains (one sum per chunk, added in file order), and the last epoch's
// loss has a pass of its own; a stop rewinds the steps taken since. Device memory: three
// chunks (two in flight, the ordered rows) plus a minibatch.
// A validation set, when given, is held on the device (its bytes taken from what the chunks
// may use): its loss is taken at each epoch's end with the epoch's model, by the in-memory
// trainer's evaluation, and early stopping watches it, as in memory.
TrainResult train_streamed_gpu(int device, const RowChunks& rows, const TrainOptions& opt, int64_t chunk_rows,
                               const EpochCallback& cb = {}, const HostDataset* validation = nullptr);

}  // namespace linreg
