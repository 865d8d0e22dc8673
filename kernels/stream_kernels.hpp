// Kernels of the two paths that do not hold every row on one device at once (launchers only):
// streamed SGD (rows arrive from the host a chunk at a time, host/gpu/streamed_trainer.cpp) and a
// GPU rank of a data-parallel job (the gradient sums of a minibatch are added across ranks before
// the step, host/gpu/gpu_trainer.cpp).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace linreg::kern {

// d_Xo[k, :] ← d_X[d_rows[k], :] and d_yo[k] ← d_y[d_rows[k]] for k < count: a chunk's rows
// put in its shuffled order, so that minibatches are contiguous (and may continue from the rows
// already in front of d_Xo). Row-major, d floats a row.
void gather_rows(const float* d_X, const float* d_y, const uint32_t* d_rows, int64_t count, int64_t d, float* d_Xo,
                 float* d_yo, cudaStream_t stream);

// d_out[j] ← Σ_r d_parts[r·m + j] for j < m, added in rank order r = 0, 1, …, ranks − 1: every
// rank's sums of a minibatch (as an allgather leaves them) into the job's, the same bits on every
// rank (the host's sum_in_rank_order, on the device).
void rank_order_sum(const double* d_parts, int ranks, int64_t m, double* d_out, cudaStream_t stream);

// The cublas strategy's step sums as doubles, in batch_sums' layout: d_out[j] ← g[j] (j < d) and
// d_out[d] ← Σ r over bt residuals, added by the same fixed tree as its rule update
// (kernels/residual_sum.cuh), so that one rank's sums give that update's bits.
void residual_sums(const float* d_g, const float* d_r, int64_t bt, int64_t d, double* d_out, cudaStream_t stream);

}  // namespace linreg::kern
