// run_training for an .npy file whose rows are not all held in memory at once: when --memory-limit
// is below what the rows would take (the tests' way to force it), or when the file would not fit
// in the memory the machine has free. SGD then reads the file in chunks (cpu_trainer.hpp:
// train_streamed: two chunks in memory, the next read while the current trains, the two-level
// shuffle of permutation.hpp); the exact solvers pass over it a part at a time
// (least_squares.hpp: LeastSquaresParts); standardisation and the metrics are streamed passes
// too, with the numbers the in-memory route computes. SGD streams to the GPU where one is placed
// (GpuBackend::train_streamed: pinned double buffers, copies beside the compute); the exact
// solvers' pass over the data runs part by part on the GPU where one is placed. With a validation
// split (the in-memory route's rows) the validation rows are held in memory (on the GPU too,
// where SGD streams to one) and evaluated each epoch.
#pragma once

#include <cstdint>
#include <string>

#include "host/train/pipeline.hpp"

namespace linreg {

// Bytes the in-memory route holds for the training rows of an .npy file: the float32 copies
// SGD trains on, and the float64 values as read for a float64 file.
uint64_t npy_training_bytes(int64_t rows, int64_t features, bool float64);

// The rows per chunk that keep the streamer's memory within `limit` bytes: two chunks of
// (features + 1) float32 values and, a row, `ranks` uint32 entries of the chunk's order (in a job
// of that many ranks the order is of every rank's chunk); throws SettingError ("memory_limit")
// when not even one row fits.
int64_t stream_chunk_rows(uint64_t limit, int64_t features, int ranks = 1);

// The CPU streamer's chunk: stream_chunk_rows, and at most kCpuChunkBytes of float32 rows. A
// larger limit buys no larger chunk on the CPU: measured on 4M × 16 float32 rows (docs/DATA.md),
// epochs after the first took 1.15–1.2× the in-memory epoch in chunks of 8–16 MiB and 1.66–1.84×
// in chunks of 64–128 MiB (the reading thread's decode and the training thread's gather stay in
// the caches, or miss them). The GPU streamer's chunks are not capped (each costs it a few
// launches, not cache misses).
constexpr uint64_t kCpuChunkBytes = uint64_t{16} << 20;
int64_t cpu_chunk_rows(uint64_t limit, int64_t features, int ranks = 1);

// Rows [begin, end) of an .npy file in parts of `part` rows, in row order: for least_squares
// (names x<j>), and for the statistics' passes (data/prep.hpp's RowParts). `file` must outlive them.
LeastSquaresParts npy_parts(const data::NpyRows& file, int64_t begin, int64_t end, int64_t part);
data::RowParts npy_row_parts(const data::NpyRows& file, int64_t begin, int64_t end, int64_t part);
// The rows per part of an exact solve within `limit` bytes (SettingError when not one row fits).
int64_t exact_part_rows(uint64_t limit, int64_t features, bool wide);

// Whether `plan` streams; why (a note for the user) in *why when it does. In a data-parallel job
// (plan.cluster of more than one rank) a collective: every rank decides as rank 0 does, on its
// shard (the largest) and its free memory.
bool streams(const TrainPlan& plan, std::string* why);

// In a job each rank streams its shard of the file (the split drawn over all rows, each rank
// keeping its shard's marks): SGD on the CPU, every rank reading its part of each of the job's
// chunks (cpu_trainer.hpp: train_streamed with a ShardPlacement), the exact solvers part by part
// with one reduction; every rank ends with the same outcome.
TrainOutcome run_training_streamed(const TrainPlan& plan, const StartCallback& on_data, const StartCallback& on_start,
                                   const EpochCallback& on_epoch);

}  // namespace linreg
