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

// The same for a rank of a data-parallel job of several ranks (a collective: every rank calls
// it, with the same chunk_rows), each rank on its own GPU: cpu_trainer.hpp's train_streamed with
// a ShardPlacement, on the GPUs. `rows` are this rank's training rows and `validation` its share
// (possibly none) of shard.val_total. Chunk k of the job is every rank's chunk k of its own rows,
// in rank order, shuffled as one (the two-level order over those chunks, made on the host beside
// each read); each rank copies only its part to its device and, per minibatch, sums the rows of
// it that it holds; one NCCL allgather and a rank-order sum make every rank take the same step:
// the in-memory GPU ranks' steps on that order. The chunk is clamped to what every rank's device
// holds. Reads, allocations and settings are agreed (communicator.hpp: together) before NCCL
// starts or a chunk's sums are exchanged, so one rank's failure ends every rank with its reason.
TrainResult train_streamed_gpu_job(int device, const RowChunks& rows, const TrainOptions& opt, int64_t chunk_rows,
                                   const ShardPlacement& shard, const EpochCallback& cb = {},
                                   const HostDataset* validation = nullptr);

}  // namespace linreg
