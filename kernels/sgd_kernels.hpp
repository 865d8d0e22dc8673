// Launchers of the SGD kernels (no __global__ here: plain .cpp files include this header).
//
// Shapes: X (n, d) row-major float32; y (n); params (d + 1) = [w_0 .. w_{d−1}, b] on the device;
// perm (n) uint32 row order of the epoch. A minibatch is rows perm[start .. start + bt).
// Residual r = (x·w + b) − y; per-row loss loss_term(r, kind); gradient of the minibatch loss
// with respect to w_j is grad_scale(kind) · Σ r·x_j / bt (and Σ r / bt for b), applied with
// sgd_step() from host/core/formulas.hpp.
//
// Three strategies build on these (host/gpu/gpu_trainer.cpp):
//   cublas      gather_residual → cublas_xt_r (Sgemv, device pointer mode) → sgd_update
//   fused       fused_step: one kernel per step (sometimes two, see fused_plan) from batch sums;
//               two kernels side by side (FusedKernel): the reference row-group kernel and the
//               tiled one (coalesced permutation loads, several rows in flight per warp, grid by
//               occupancy), so a GPU run can time both
//   persistent  persistent_epoch: one single-block kernel per epoch, w and b in registers
// and one evaluation, deterministic on a given card: loss_sum → the full-dataset loss in double.
#pragma once

#include <cstdint>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "host/core/formulas.hpp"
#include "host/core/optim.hpp"
#include "kernels/launch.hpp"
#include "kernels/launch_limits.hpp"

namespace linreg::kern {

// ---- geometry shared by the launchers and the trainer's buffer sizing -------------------------
// lanes_per_row, feature slots, kMaxFusedFeatures, kMaxSumBlocks and the shared-memory arithmetic
// live in kernels/launch_limits.hpp (plain C++, tested on the CPU).

// Per fused SGD step the reference kernel uses this many blocks (≈ 2 per SM of an H100/H200),
// fixed, so that its reduction order depends on (bt, d) alone.
constexpr int kFusedStepBlocks = 256;
// A fused step finalises inside its last block when the partials are at most this many
// doubles (32 KB); larger ones get a second, feature-parallel kernel.
constexpr int64_t kLastBlockMaxPartials = 4096;

size_t partials_capacity(int64_t d);  // doubles a partials buffer needs for any launch here
size_t loss_partials_capacity();      // what loss_sum alone needs, for any d

// ---- cublas strategy ----------------------------------------------------------------------------

// Gathers the minibatch: d_Xb[k, :] ← X[perm[start + k], :] (bt, d) row-major and
// d_r[k] ← r of that row (computed in double, stored as float) for k < bt.
void gather_residual(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t start,
                     int64_t bt, int64_t d, const float* d_params, float* d_Xb, float* d_r,
                     cudaStream_t stream);

// d_g (d) ← Xbᵀ r with cublasSgemv on the handle's stream. The handle must be in
// CUBLAS_POINTER_MODE_DEVICE; d_one / d_zero point at device floats 1 and 0 (no host sync).
void cublas_xt_r(cublasHandle_t handle, const float* d_Xb, const float* d_r, int64_t bt,
                 int64_t d, const float* d_one, const float* d_zero, float* d_g);

// One block: b ← sgd_step(b, Σ_k r_k) (Σ in double, fixed tree order) and
// w_j ← sgd_step(w_j, g_j) for all j. Divides by bt, the minibatch's true size.
void sgd_update(const float* d_g, const float* d_r, int64_t bt, int64_t d, float lr, double scale,
                float* d_params, cudaStream_t stream);

// ---- batch sums: fused strategy, evaluation, gradient hook ----------------------------------

// The fused step's batch-sums kernel: FusedKernel (launch_limits.hpp) says which.

// How a batch-sums launch over `rows` rows is cut: `blocks` blocks of `rows_per_block` rows.
struct SumPlan {
  int lanes = 1;            // lanes per row
  int slots = 1;            // feature slots per lane (power of two ≤ kMaxFeatureSlots; 0: loss only)
  int64_t rows_per_block = 0;
  int blocks = 0;
  int tile_rows = 0;        // Tiled kernel: rows per warp tile; 0: the row-group kernel
  bool last_block_finalizes = false;  // fused step only
};
// Row-group geometry over at most max_blocks blocks. Throws InputError when the gradient form
// (loss_only false) cannot take d.
SumPlan sum_plan(int64_t rows, int64_t d, int max_blocks, bool loss_only = false);
// Tiled geometry: whole tiles for every warp of a block, at most max_blocks blocks.
SumPlan tiled_plan(int64_t rows, int64_t d, int max_blocks);
// The fused step's plan on the current device (Tiled: max_blocks = one wave by occupancy).
SumPlan fused_plan(int64_t bt, int64_t d, FusedKernel kernel = FusedKernel::Tiled);
// Kernels (graph nodes) one fused_step launches: 1 or 2.
int fused_step_kernels(int64_t bt, int64_t d, FusedKernel kernel = FusedKernel::Tiled);
// Blocks of the evaluation (loss_sum) over n rows on the current device: one wave by occupancy,
// at most kMaxSumBlocks.
int loss_sum_blocks(int64_t n);

// d_out[0..d+2) ← (Σ r·x_0, …, Σ r·x_{d−1}, Σ r, Σ loss_term(r, kind)) over the `rows` rows
// perm[start + k] (or start + k when d_perm is null), accumulated in double in a fixed order:
// deterministic, no atomics. d_partials holds partials_capacity(d) doubles. Two kernels; the
// row-group geometry over at most kMaxSumBlocks blocks (so the bits depend on rows and d only).
// Used for the full-dataset loss (Σ loss / n) and, by tests, as the analytic-gradient hook.
void batch_sums(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t start,
                int64_t rows, int64_t d, const float* d_params, LossKind kind, double* d_partials,
                double* d_out, cudaStream_t stream);

// As batch_sums but only the loss sum, for any d: d_out[0] ← Σ loss_term(r, kind) over the n rows
// (rows in order, loss_sum_blocks(n) blocks; 128 bytes of shared memory per block for any d).
// d_partials holds at least loss_partials_capacity() doubles.
void loss_sum(const float* d_X, const float* d_y, int64_t n, int64_t d, const float* d_params,
              LossKind kind, double* d_partials, double* d_out, cudaStream_t stream);

// One fused SGD step over the minibatch perm[start .. start + bt): each row is read once
// (residual, loss and gradient partials together), block partials are reduced in a fixed order
// and params is updated with sgd_step. One kernel when fused_plan says last_block_finalizes
// (the block that arrives last, counted on *d_ticket, reduces; d_ticket must start at 0 and is
// reset to 0), else a second feature-parallel kernel. Graph-capturable. d_step_loss (nullable):
// Σ loss_term over the minibatch, before the update.
void fused_step(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t start,
                int64_t bt, int64_t d, float lr, double scale, LossKind kind, float* d_params,
                double* d_partials, unsigned* d_ticket, double* d_step_loss, cudaStream_t stream,
                FusedKernel kernel = FusedKernel::Tiled);

// ---- persistent strategy -------------------------------------------------------------------

// Whether persistent_epoch takes this shape on the current device: d ≤ kPersistentMaxFeatures and
// a minibatch that fits the shared-memory staging buffers (launch_limits.hpp).
bool persistent_supported(int64_t d, int64_t batch);

// A whole epoch in one single-block kernel: warps 1..7 stage the permuted rows of the next
// chunk of minibatches into shared memory while warp 0 runs the dependent SGD steps of the
// current chunk with w and b in registers. Same step semantics as fused_step.
void persistent_epoch(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t n,
                      int64_t d, int64_t batch, float lr, double scale, float* d_params,
                      cudaStream_t stream);

// SGD's rules (docs/SGD.md) in a persistent epoch: the rule's state stays in warp 0's registers
// for the epoch, loaded from and stored back to s1, s2, avg (d + 1 each, on the device); the step
// constants are made in the kernel for each step (the host does not see the epoch's steps one by
// one), with optim.hpp's formulas, as the other strategies make them on the host.
struct PersistentRules {
  optim::Rule rule;  // the optimizer and its constants (begin_step is applied per step inside)
  int schedule = 0;  // LrSchedule's order (optim::scheduled_lr)
  double lr = 0, gamma = 1, power_t = 0;
  int64_t epoch = 0, epochs = 1, step_epochs = 1, warmup = 0;
  int64_t steps_before = 0;  // steps of the run before this epoch: the first step here is + 1
  double l2 = 0, l1 = 0;
  bool intercept = true, average = false;
  float* s1 = nullptr;
  float* s2 = nullptr;
  double* avg = nullptr;  // may be null when not averaging
};
void persistent_epoch_rules(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t n, int64_t d,
                            int64_t batch, double scale, float* d_params, const PersistentRules& rules,
                            cudaStream_t stream);

}  // namespace linreg::kern
