// The SGD kernels and their launchers (see sgd_kernels.hpp for shapes and the strategies).
// One subject past 500 lines: every SGD step kernel shares the numerics below and the
// end-of-block reduction, which must stay identical between them for the bit-level tests.
//
// Numerics, common to every kernel here: a row's residual r = (x·w + b) − y is accumulated in
// double from the float data (fma per feature), and every sum over rows is accumulated in double
// in an order fixed by the launch geometry. No float atomics anywhere; the fused step's
// single-kernel form uses one integer atomic (a ticket) only to elect the block that reduces,
// not to order the sum. What that gives, per strategy:
//   - persistent, and the reference fused kernel (FusedKernel::RowGroups): the geometry depends on
//     (rows, d) alone, so the bits are the same run to run and on any card.
//   - the tiled fused kernel (FusedKernel::Tiled) and the evaluation (loss_sum): the grid is sized
//     by occupancy (blocks resident per SM × SM count), so the bits are the same run to run on one
//     card and may differ in the last places between cards of different SM counts or register
//     files; the sums stay within the same rounding bound.
//   - cublas: cublasSgemv's reduction order is cuBLAS's choice. cuBLAS promises bit-identical
//     results run to run only for the same architecture and SM count (and the same library
//     version and stream setup); across those the float sums of Xᵀr may differ in the last places.
#include "kernels/sgd_kernels.hpp"

#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "kernels/cuda_check.hpp"
#include "kernels/device_limits.hpp"

namespace linreg::kern {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;

int next_pow2(int64_t v) {
  int p = 1;
  while (p < v) p <<= 1;
  return p;
}

// Sum over aligned groups of `lanes` lanes (power of two). Every lane of a group ends with the
// same bits: at each level both partners add the same two operands (a + b == b + a).
__device__ __forceinline__ double group_sum(double v, int lanes) {
  for (int o = lanes >> 1; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

// Reduces one feature's block partials (partials[j·G + g], g < G) with one warp: lane l sums
// g = l, l + 32, … in order, then a butterfly. The same code runs in the fused step's last block
// and in finalize_kernel, so both forms give the same bits.
//   update mode (params != nullptr): j < d: w_j ← sgd_step, j == d: b ← sgd_step,
//                                    j == d + 1: *step_loss ← Σ loss (when step_loss != nullptr)
//   store mode  (params == nullptr): out[j − first] ← Σ
__device__ void finalize_feature(int64_t j, int G, int64_t d, int64_t first, const double* partials,
                                 float* params, float lr, double scale, int64_t bt, double* out,
                                 double* step_loss) {
  const int lane = threadIdx.x & 31;
  double s = 0;
  for (int g = lane; g < G; g += 32) s += __ldcg(partials + j * G + g);  // L2: written by other blocks
  s = group_sum(s, 32);
  if (lane != 0) return;
  if (params == nullptr) {
    out[j - first] = s;
  } else if (j <= d) {
    params[j] = sgd_step(params[j], s, lr, scale, bt);  // params[d] is b
  } else if (step_loss != nullptr) {
    *step_loss = s;
  }
}

// The common end of both batch-sums kernels. On entry every lane holds the sums of the rows its
// row group saw (acc[s]: feature lg + s·lanes; acc_b, acc_loss on lane lg == 0 of each group).
// Row groups of the warp are combined by a butterfly over offsets lanes … 16 (group 0 then holds
// the warp's sums), warps are combined in shared memory in a fixed warp order, and the block's
// sums go to partials[j·gridDim.x + blockIdx.x] for j < d + 2 (j < d: Σ r·x_j, j = d: Σ r,
// j = d + 1: Σ loss). Loss only (SLOTS == 0): just the two scalars, compactly (j = 0: Σ r,
// j = 1: Σ loss), so neither the shared buffer (batch_sums_smem_bytes) nor the partials
// (loss_partials_capacity) grow with d.
// With ticket != nullptr (SLOTS > 0 only) the block that finishes last reduces the partials and
// updates params: the fused SGD step in one kernel.
template <int SLOTS, int A>
__device__ __forceinline__ void batch_sums_epilogue(double (&acc)[A], double acc_b, double acc_loss, int64_t d,
                                                    int lanes, int64_t rows, double* red, float* params,
                                                    double* partials, unsigned* ticket, float lr, double scale,
                                                    double* step_loss) {
  __shared__ unsigned s_last;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int lg = lane & (lanes - 1);
  const int group = lane / lanes;
  for (int o = lanes; o < 32; o <<= 1) {
#pragma unroll
    for (int s = 0; s < A; ++s) acc[s] += __shfl_xor_sync(kFullMask, acc[s], o);
    acc_b += __shfl_xor_sync(kFullMask, acc_b, o);
    acc_loss += __shfl_xor_sync(kFullMask, acc_loss, o);
  }
  // Per warp: d + 2 sums (gradient form) or 2 (loss only), the scalar pair last.
  const int64_t stride = SLOTS > 0 ? d + 2 : 2;
  const int64_t scalars = SLOTS > 0 ? d : 0;
  if constexpr (SLOTS > 0) {
    if (group == 0) {
#pragma unroll
      for (int s = 0; s < SLOTS; ++s) {
        const int64_t j = lg + static_cast<int64_t>(s) * lanes;
        if (j < d) red[warp * stride + j] = acc[s];
      }
    }
  }
  if (lane == 0) {
    red[warp * stride + scalars] = acc_b;
    red[warp * stride + scalars + 1] = acc_loss;
  }
  __syncthreads();
  const int G = static_cast<int>(gridDim.x);
  for (int64_t c = threadIdx.x; c < stride; c += blockDim.x) {
    double s = 0;
    for (int wp = 0; wp < kWarpsPerBlock; ++wp) s += red[wp * stride + c];  // fixed warp order
    partials[c * G + blockIdx.x] = s;
  }
  if constexpr (SLOTS > 0) {
    if (ticket == nullptr) return;
    // Fused step, single-kernel form (CUDA programming guide's threadFenceReduction pattern):
    // publish the partials, take a ticket; the block holding the last ticket reduces.
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) s_last = (atomicAdd(ticket, 1u) == gridDim.x - 1u) ? 1u : 0u;
    __syncthreads();
    if (s_last == 0) return;
    __threadfence();
    // Every other block has read params (at its start) before taking its ticket: safe to update.
    for (int64_t j = warp; j < d + 2; j += kWarpsPerBlock)
      finalize_feature(j, G, d, 0, partials, params, lr, scale, rows, nullptr, step_loss);
    if (threadIdx.x == 0) *ticket = 0u;  // ready for the next step (stream-ordered)
  }
}

// Batch sums over rows perm[start + k] (or start + k), k < rows: the reference geometry
// (FusedKernel::RowGroups, also the evaluation). Block g takes rows [g·rows_per_block, …); a row
// is read by `lanes` consecutive lanes (features lg, lg + lanes, …: coalesced), and each warp
// walks its rows one row group at a time: one row (d ≥ 32) in flight per warp, its permutation
// entry loaded first. SLOTS ≥ ceil(d / lanes) is a compile-time bound so the per-lane arrays
// stay in registers; SLOTS == 0: loss only, any d (the row walked with a run-time loop).
// params is written by the last block when ticket != nullptr, so it is not __restrict__.
template <int SLOTS>
__global__ void __launch_bounds__(kBlockSize)
batch_sums_kernel(int64_t rows, int64_t d, int lanes, int64_t rows_per_block, const float* __restrict__ X,
                  const float* __restrict__ y, const uint32_t* __restrict__ perm, int64_t start,
                  float* params, LossKind kind, double* partials, unsigned* ticket, float lr,
                  double scale, double* step_loss) {
  extern __shared__ double red[];  // batch_sums_smem_bytes(d, SLOTS == 0)
  // Assumed by the warp arithmetic below.
  if (blockDim.x != kBlockSize) __trap();

  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int lg = lane & (lanes - 1);          // lane within the row group
  const int group = lane / lanes;             // row group within the warp
  const int groups_per_warp = 32 / lanes;

  constexpr int A = SLOTS > 0 ? SLOTS : 1;
  float w[A];
#pragma unroll
  for (int s = 0; s < A; ++s) {
    const int64_t j = lg + static_cast<int64_t>(s) * lanes;
    w[s] = (SLOTS > 0 && j < d) ? params[j] : 0.f;
  }
  const double b = params[d];

  double acc[A];
#pragma unroll
  for (int s = 0; s < A; ++s) acc[s] = 0;
  double acc_b = 0, acc_loss = 0;

  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * rows_per_block;
  const int64_t row_end = min(row0 + rows_per_block, rows);
  // Warp-uniform trip count: every lane reaches the shuffles.
  for (int64_t base = row0 + static_cast<int64_t>(warp) * groups_per_warp; base < row_end;
       base += static_cast<int64_t>(kWarpsPerBlock) * groups_per_warp) {
    const int64_t k = base + group;
    const bool valid = k < row_end;
    float x[A];
    float yv = 0.f;
    double p = 0;
#pragma unroll
    for (int s = 0; s < A; ++s) x[s] = 0.f;
    if (valid) {
      const int64_t i = perm != nullptr ? static_cast<int64_t>(perm[start + k]) : start + k;
      const float* xr = X + i * d;
      if constexpr (SLOTS == 0) {
        for (int64_t j = lg; j < d; j += lanes) p = fma(static_cast<double>(xr[j]), static_cast<double>(params[j]), p);
      } else {
#pragma unroll
        for (int s = 0; s < SLOTS; ++s) {
          const int64_t j = lg + static_cast<int64_t>(s) * lanes;
          if (j < d) x[s] = xr[j];
        }
      }
      yv = y[i];
    }
    if constexpr (SLOTS > 0) {
#pragma unroll
      for (int s = 0; s < SLOTS; ++s) p = fma(static_cast<double>(x[s]), static_cast<double>(w[s]), p);
    }
    p = group_sum(p, lanes);
    const double r = valid ? (p + b) - static_cast<double>(yv) : 0.0;
    if constexpr (SLOTS > 0) {
#pragma unroll
      for (int s = 0; s < SLOTS; ++s) acc[s] = fma(r, static_cast<double>(x[s]), acc[s]);
    }
    if (lg == 0) {
      acc_b += r;
      acc_loss += loss_term(r, kind);  // loss_term(0) = 0 for invalid rows
    }
  }
  batch_sums_epilogue<SLOTS>(acc, acc_b, acc_loss, d, lanes, rows, red, params, partials, ticket, lr, scale,
                             step_loss);
}

// Batch sums, tiled geometry (FusedKernel::Tiled; fused step only, SLOTS ≥ 1). Same row-group
// layout and epilogue as batch_sums_kernel, but each warp takes tiles of tile_rows consecutive
// minibatch rows (tiled_tile_rows(d)): lanes < tile_rows read the tile's permutation entries and
// labels in one coalesced load each, and every row group gets its row index and label by a
// shuffle; then the x of all tiled_passes(SLOTS) rows of the tile are loaded before the first is
// used, so a warp keeps that many rows' loads in flight instead of one dependent chain per row.
// Warps take tiles round-robin within the block's rows. Registers: two resident blocks per SM
// (≤ 128 per thread) up to 8 slots; at 16 slots that cap would spill, so one block (the
// occupancy query sizes the grid either way).
template <int SLOTS>
__global__ void __launch_bounds__(kBlockSize, SLOTS >= 16 ? 1 : 2)
batch_sums_tiled_kernel(int64_t rows, int64_t d, int lanes, int64_t rows_per_block, int tile_rows,
                        const float* __restrict__ X, const float* __restrict__ y,
                        const uint32_t* __restrict__ perm, int64_t start, float* params, LossKind kind,
                        double* partials, unsigned* ticket, float lr, double scale, double* step_loss) {
  static_assert(SLOTS >= 1, "the tiled kernel sums gradients");
  constexpr int R = tiled_passes(SLOTS);
  extern __shared__ double red[];  // batch_sums_smem_bytes(d, false)
  if (blockDim.x != kBlockSize) __trap();

  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int lg = lane & (lanes - 1);
  const int group = lane / lanes;
  const int groups_per_warp = 32 / lanes;

  float w[SLOTS];
#pragma unroll
  for (int s = 0; s < SLOTS; ++s) {
    const int64_t j = lg + static_cast<int64_t>(s) * lanes;
    w[s] = j < d ? params[j] : 0.f;
  }
  const double b = params[d];
  double acc[SLOTS];
#pragma unroll
  for (int s = 0; s < SLOTS; ++s) acc[s] = 0;
  double acc_b = 0, acc_loss = 0;

  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * rows_per_block;
  const int64_t row_end = min(row0 + rows_per_block, rows);
  for (int64_t tile = row0 + static_cast<int64_t>(warp) * tile_rows; tile < row_end;  // warp-uniform
       tile += static_cast<int64_t>(kWarpsPerBlock) * tile_rows) {
    // One coalesced read of the tile's permutation entries, then of their labels.
    uint32_t my_i = 0;
    float my_y = 0.f;
    if (lane < tile_rows && tile + lane < row_end) {
      my_i = perm[start + tile + lane];
      my_y = y[my_i];
    }
    float x[R][SLOTS];
    bool valid[R];
#pragma unroll
    for (int q = 0; q < R; ++q) {
      if (q * groups_per_warp >= tile_rows) break;  // warp-uniform: passes past the tile (small d)
      const int t = q * groups_per_warp + group;  // this row group's row within the tile
      valid[q] = t < tile_rows && tile + t < row_end;
      const int64_t i = __shfl_sync(kFullMask, my_i, t & 31);  // every lane takes part
      const float* xr = X + i * d;
#pragma unroll
      for (int s = 0; s < SLOTS; ++s) {
        const int64_t j = lg + static_cast<int64_t>(s) * lanes;
        x[q][s] = (valid[q] && j < d) ? xr[j] : 0.f;
      }
    }
#pragma unroll
    for (int q = 0; q < R; ++q) {
      if (q * groups_per_warp >= tile_rows) break;
      const int t = q * groups_per_warp + group;
      const float yv = __shfl_sync(kFullMask, my_y, t & 31);
      double p = 0;
#pragma unroll
      for (int s = 0; s < SLOTS; ++s) p = fma(static_cast<double>(x[q][s]), static_cast<double>(w[s]), p);
      p = group_sum(p, lanes);
      const double r = valid[q] ? (p + b) - static_cast<double>(yv) : 0.0;
#pragma unroll
      for (int s = 0; s < SLOTS; ++s) acc[s] = fma(r, static_cast<double>(x[q][s]), acc[s]);
      if (lg == 0) {
        acc_b += r;
        acc_loss += loss_term(r, kind);
      }
    }
  }
  batch_sums_epilogue<SLOTS>(acc, acc_b, acc_loss, d, lanes, rows, red, params, partials, ticket, lr, scale,
                             step_loss);
}

// Feature-parallel reduction of block partials: one warp per feature j = first + f, f < count.
__global__ void __launch_bounds__(kBlockSize)
finalize_kernel(int64_t count, int G, int64_t d, int64_t first, const double* partials, float* params,
                float lr, double scale, int64_t bt, double* out, double* step_loss) {
  const int64_t f = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (f >= count) return;  // warp-uniform
  finalize_feature(first + f, G, d, first, partials, params, lr, scale, bt, out, step_loss);
}

// cublas strategy, kernel 1: one row group of `lanes` lanes per minibatch row k < bt; any d
// (lane lg takes features lg, lg + lanes, …: coalesced reads of the row, coalesced writes of Xb).
__global__ void __launch_bounds__(kBlockSize)
gather_residual_kernel(int64_t bt, int64_t d, int lanes, const float* __restrict__ X,
                       const float* __restrict__ y, const uint32_t* __restrict__ perm, int64_t start,
                       const float* __restrict__ params, float* __restrict__ Xb, float* __restrict__ r) {
  if (blockDim.x != kBlockSize) __trap();
  const int lg = threadIdx.x & (lanes - 1);
  const int64_t k = static_cast<int64_t>(blockIdx.x) * (kBlockSize / lanes) + threadIdx.x / lanes;
  const bool valid = k < bt;
  double p = 0;
  float yv = 0.f;
  if (valid) {
    const int64_t i = perm[start + k];
    const float* xr = X + i * d;
    float* xb = Xb + k * d;
    for (int64_t j = lg; j < d; j += lanes) {
      const float xv = xr[j];
      xb[j] = xv;
      p = fma(static_cast<double>(xv), static_cast<double>(params[j]), p);
    }
    yv = y[i];
  }
  p = group_sum(p, lanes);  // every lane of the block takes part (no early return above)
  if (valid && lg == 0) r[k] = static_cast<float>((p + static_cast<double>(params[d])) - static_cast<double>(yv));
}

// cublas strategy, kernel 3: one block. Σ r in double by a fixed tree; w from the gemv result.
__global__ void __launch_bounds__(kBlockSize)
sgd_update_kernel(int64_t bt, int64_t d, const float* __restrict__ g, const float* __restrict__ r, float lr,
                  double scale, float* __restrict__ params) {
  __shared__ double red[kBlockSize];
  if (blockDim.x != kBlockSize) __trap();  // the tree below assumes it
  const int t = threadIdx.x;
  double s = 0;
  for (int64_t k = t; k < bt; k += kBlockSize) s += static_cast<double>(r[k]);
  red[t] = s;
  __syncthreads();
  for (int h = kBlockSize / 2; h > 0; h >>= 1) {
    if (t < h) red[t] += red[t + h];
    __syncthreads();
  }
  for (int64_t j = t; j < d; j += kBlockSize) params[j] = sgd_step(params[j], static_cast<double>(g[j]), lr, scale, bt);
  if (t == 0) params[d] = sgd_step(params[d], red[0], lr, scale, bt);
}

// Persistent strategy: one block of kBlockSize threads runs a whole epoch. Shared memory holds
// two staging buffers of chunk_rows rows, each row (x_0 … x_{d−1}, y) with stride d + 1 (odd
// for even d: conflict-free). chunk_rows is a multiple of `batch`, so minibatches never straddle
// chunks. Warp 0 computes chunk c while warps 1.. stage chunk c + 1; a __syncthreads separates
// the two uses of each buffer. D ≥ d is a compile-time bound (power of two). RULES: the step is
// SGD's rules (optim::update_parameter with the state s1, s2, avg in registers, see
// PersistentRules) instead of the plain sgd_step.
template <int D, bool RULES>
__global__ void __launch_bounds__(kBlockSize, 1)
persistent_epoch_kernel(int64_t n, int64_t d, int64_t batch, int64_t chunk_rows, const float* __restrict__ X,
                        const float* __restrict__ y, const uint32_t* __restrict__ perm, float* params,
                        float lr, double scale, PersistentRules pr) {
  extern __shared__ float stage[];  // persistent_smem_bytes(d, batch, limits)
  if (blockDim.x != kBlockSize || gridDim.x != 1) __trap();
  const int64_t row_stride = d + 1;
  const int64_t buf_floats = chunk_rows * row_stride;  // buffer c & 1 starts at stage + (c & 1) · buf_floats
  const int64_t chunks = (n + chunk_rows - 1) / chunk_rows;

  auto stage_chunk = [&](int64_t c, float* dst, int64_t t0, int64_t nthreads) {
    const int64_t r0 = c * chunk_rows;
    const int64_t rows = min(chunk_rows, n - r0);
    for (int64_t k = t0; k < rows; k += nthreads) {
      const int64_t i = perm[r0 + k];
      const float* xr = X + i * d;
      float* out = dst + k * row_stride;
      for (int64_t j = 0; j < d; ++j) out[j] = xr[j];
      out[d] = y[i];
    }
  };

  stage_chunk(0, stage, threadIdx.x, kBlockSize);
  __syncthreads();

  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  // Lanes that can hold a row of a step: the butterfly spans only them (bt ≤ batch ≤ width when
  // batch < 32). Lanes outside never own rows; only lane 0's copy of w, b is written back.
  const int width = batch >= 32 ? 32 : (batch > 16 ? 32 : batch > 8 ? 16 : batch > 4 ? 8 : batch > 2 ? 4 : batch > 1 ? 2 : 1);
  float w[D];
  float b = 0.f;
  // The rules' state, index D for the bias (unused by the plain step: the compiler drops it).
  float s1[D + 1], s2[D + 1];
  double avg[D + 1];
  int64_t t = pr.steps_before;
  optim::Rule rule = pr.rule;  // its running powers carry from step to step (begin_step)
  if (warp == 0) {
#pragma unroll
    for (int j = 0; j < D; ++j) w[j] = j < d ? params[j] : 0.f;
    b = params[d];
    if constexpr (RULES) {
#pragma unroll
      for (int j = 0; j <= D; ++j) {
        const int64_t src = j == D ? d : j;
        const bool live = j == D || j < d;
        s1[j] = live ? pr.s1[src] : 0.f;
        s2[j] = live ? pr.s2[src] : 0.f;
        avg[j] = live && pr.average ? pr.avg[src] : 0.0;
      }
    }
  }

  for (int64_t c = 0; c < chunks; ++c) {
    if (warp == 0) {
      const float* cur = stage + (c & 1) * buf_floats;
      const int64_t rows = min(chunk_rows, n - c * chunk_rows);
      for (int64_t s0 = 0; s0 < rows; s0 += batch) {
        const int64_t bt = min(batch, rows - s0);  // the epoch's last step may be short
        double acc[D];
#pragma unroll
        for (int j = 0; j < D; ++j) acc[j] = 0;
        double acc_b = 0;
        for (int64_t k = lane; k < bt; k += 32) {
          const float* row = cur + (s0 + k) * row_stride;
          float x[D];
#pragma unroll
          for (int j = 0; j < D; ++j) x[j] = j < d ? row[j] : 0.f;
          double p = 0;
#pragma unroll
          for (int j = 0; j < D; ++j) p = fma(static_cast<double>(x[j]), static_cast<double>(w[j]), p);
          const double r = (p + static_cast<double>(b)) - static_cast<double>(row[d]);
#pragma unroll
          for (int j = 0; j < D; ++j) acc[j] = fma(r, static_cast<double>(x[j]), acc[j]);
          acc_b += r;
        }
        for (int o = 1; o < width; o <<= 1) {
#pragma unroll
          for (int j = 0; j < D; ++j) acc[j] += __shfl_xor_sync(kFullMask, acc[j], o);
          acc_b += __shfl_xor_sync(kFullMask, acc_b, o);
        }
        if constexpr (RULES) {
          ++t;
          optim::begin_step(rule, t);
          optim::StepConstants k;
          k.t = t;
          k.lr = optim::scheduled_lr(pr.schedule, pr.lr, pr.epoch, pr.epochs, t, pr.step_epochs, pr.gamma, pr.power_t,
                                     pr.warmup);
          k.mean = scale / static_cast<double>(bt);
          k.l2 = pr.l2;
          k.l1 = pr.l1;
#pragma unroll
          for (int j = 0; j < D; ++j)
            if (j < d) {
              w[j] = optim::update_parameter(w[j], acc[j], false, rule, k, &s1[j], &s2[j]);
              if (pr.average) optim::average_in(avg[j], w[j], t);
            }
          if (pr.intercept) b = optim::update_parameter(b, acc_b, true, rule, k, &s1[D], &s2[D]);
          if (pr.average) optim::average_in(avg[D], b, t);
        } else {
#pragma unroll
          for (int j = 0; j < D; ++j)
            if (j < d) w[j] = sgd_step(w[j], acc[j], lr, scale, bt);
          b = sgd_step(b, acc_b, lr, scale, bt);
        }
      }
    } else if (c + 1 < chunks) {
      stage_chunk(c + 1, stage + ((c + 1) & 1) * buf_floats, threadIdx.x - 32, kBlockSize - 32);
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
#pragma unroll
    for (int j = 0; j < D; ++j)
      if (j < d) params[j] = w[j];
    params[d] = b;
    if constexpr (RULES) {
#pragma unroll
      for (int j = 0; j <= D; ++j)
        if (j == D || j < d) {
          const int64_t dst = j == D ? d : j;
          pr.s1[dst] = s1[j];
          pr.s2[dst] = s2[j];
          if (pr.average) pr.avg[dst] = avg[j];
        }
    }
  }
}

// ---- launch plumbing ----------------------------------------------------------------------------

// Checks a launch's shared memory against the current device and opts the kernel in above 48 KB.
// `static_bound` is what launch_limits.hpp assumes the kernel's __shared__ variables take; the
// compiled kernel is checked against it, so the CPU-tested arithmetic cannot silently drift.
void prepare_smem(const void* kernel, int64_t static_bound, const SmemNeed& need, const char* what) {
  const int device = current_device();
  const int64_t actual_static = kernel_static_smem(device, kernel);
  if (actual_static > static_bound)
    throw CudaError(std::string(what) + ": the compiled kernel has " + std::to_string(actual_static) +
                    " bytes of static shared memory; kernels/launch_limits.hpp assumes at most " +
                    std::to_string(static_bound));
  if (!need.fits) {
    const SmemLimits lim = device_smem_limits(device);
    throw InputError(std::string(what) + " needs " + std::to_string(need.static_bytes + need.dynamic_bytes) +
                     " bytes of shared memory per block; this GPU allows " + std::to_string(lim.per_block_optin) +
                     "; use --strategy cublas");
  }
  ensure_dynamic_smem(device, kernel, need);
}

// Resident blocks per SM of `kernel` at kBlockSize threads and `dynamic_bytes` of dynamic shared
// memory (cudaOccupancyMaxActiveBlocksPerMultiprocessor), cached per device, kernel and size.
int blocks_per_sm(const void* kernel, int64_t dynamic_bytes) {
  static std::mutex m;
  static std::map<std::tuple<int, const void*, int64_t>, int> cache;
  const int device = current_device();
  std::lock_guard<std::mutex> lock(m);
  const auto key = std::make_tuple(device, kernel, dynamic_bytes);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  int nb = 0;
  LINREG_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&nb, kernel, kBlockSize, static_cast<size_t>(dynamic_bytes)));
  return cache.emplace(key, std::max(nb, 1)).first->second;
}

template <int S>
const void* sums_kernel_ptr(FusedKernel k) {
  if constexpr (S == 0) {
    return reinterpret_cast<const void*>(&batch_sums_kernel<0>);
  } else {
    return k == FusedKernel::Tiled ? reinterpret_cast<const void*>(&batch_sums_tiled_kernel<S>)
                                   : reinterpret_cast<const void*>(&batch_sums_kernel<S>);
  }
}

const void* sums_kernel_for(int slots, FusedKernel k) {
  switch (slots) {
    case 0: return sums_kernel_ptr<0>(k);
    case 1: return sums_kernel_ptr<1>(k);
    case 2: return sums_kernel_ptr<2>(k);
    case 4: return sums_kernel_ptr<4>(k);
    case 8: return sums_kernel_ptr<8>(k);
    case 16: return sums_kernel_ptr<16>(k);
    default: throw CudaError("batch_sums: bad slot count " + std::to_string(slots));
  }
}

int checked_slots(int64_t d) {
  const int s = feature_slots(d);
  if (s == 0)
    throw InputError("the fused kernels take at most " + std::to_string(kMaxFusedFeatures) + " features (got " +
                     std::to_string(d) + "); use --strategy cublas");
  return s;
}

// One instance of the batch-sums kernels (a template, so that `if constexpr` drops the tiled
// kernel for the loss-only instance, which has none).
template <int S>
void launch_sums_instance(const SumPlan& plan, size_t smem, int64_t rows, int64_t d, const float* d_X,
                          const float* d_y, const uint32_t* d_perm, int64_t start, float* d_params, LossKind kind,
                          double* d_partials, unsigned* d_ticket, float lr, double scale, double* d_step_loss,
                          cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(plan.blocks));
  if constexpr (S > 0) {
    if (plan.tile_rows > 0) {
      batch_sums_tiled_kernel<S><<<grid, kBlockSize, smem, stream>>>(rows, d, plan.lanes, plan.rows_per_block,
                                                                     plan.tile_rows, d_X, d_y, d_perm, start, d_params,
                                                                     kind, d_partials, d_ticket, lr, scale, d_step_loss);
      return;
    }
  }
  batch_sums_kernel<S><<<grid, kBlockSize, smem, stream>>>(rows, d, plan.lanes, plan.rows_per_block, d_X, d_y, d_perm,
                                                           start, d_params, kind, d_partials, d_ticket, lr, scale,
                                                           d_step_loss);
}

// Launches the batch-sums kernel of the plan (slots, tiled or not) with its geometry, after the
// shared-memory check (and opt-in, where needed) for the current device.
void launch_batch_sums(const SumPlan& plan, int64_t rows, int64_t d, const float* d_X, const float* d_y,
                       const uint32_t* d_perm, int64_t start, float* d_params, LossKind kind, double* d_partials,
                       unsigned* d_ticket, float lr, double scale, double* d_step_loss, cudaStream_t stream) {
  const bool loss_only = plan.slots == 0;
  const FusedKernel variant = plan.tile_rows > 0 ? FusedKernel::Tiled : FusedKernel::RowGroups;
  const void* kernel = sums_kernel_for(plan.slots, variant);
  const SmemNeed need = batch_sums_smem(d, loss_only, device_smem_limits(current_device()));
  prepare_smem(kernel, kBatchSumsStaticSmem, need, loss_only ? "the loss evaluation" : "the fused step");
  const size_t smem = static_cast<size_t>(need.dynamic_bytes);
#define LINREG_LAUNCH_SUMS(S)                                                                                  \
  launch_sums_instance<S>(plan, smem, rows, d, d_X, d_y, d_perm, start, d_params, kind, d_partials, d_ticket, lr, \
                          scale, d_step_loss, stream)
  switch (plan.slots) {
    case 0: LINREG_LAUNCH_SUMS(0); break;
    case 1: LINREG_LAUNCH_SUMS(1); break;
    case 2: LINREG_LAUNCH_SUMS(2); break;
    case 4: LINREG_LAUNCH_SUMS(4); break;
    case 8: LINREG_LAUNCH_SUMS(8); break;
    case 16: LINREG_LAUNCH_SUMS(16); break;
    default: throw CudaError("batch_sums: bad slot count " + std::to_string(plan.slots));
  }
#undef LINREG_LAUNCH_SUMS
  LINREG_CHECK_LAUNCH();
}

void launch_finalize(int64_t first, int64_t count, int G, int64_t d, const double* d_partials, float* d_params,
                     float lr, double scale, int64_t bt, double* d_out, double* d_step_loss, cudaStream_t stream) {
  if (count <= 0) return;
  const int64_t blocks = ceil_div(count, kWarpsPerBlock);
  finalize_kernel<<<static_cast<unsigned>(blocks), kBlockSize, 0, stream>>>(count, G, d, first, d_partials, d_params,
                                                                            lr, scale, bt, d_out, d_step_loss);
  LINREG_CHECK_LAUNCH();
}

// The blocks one wave of `kernel` holds on the current device, at most `cap`.
int wave_blocks(const void* kernel, int64_t dynamic_bytes, int cap) {
  return occupancy_grid(device_sm_count(current_device()), blocks_per_sm(kernel, dynamic_bytes), cap);
}

}  // namespace

size_t partials_capacity(int64_t d) { return static_cast<size_t>(d + 2) * kMaxSumBlocks; }
size_t loss_partials_capacity() { return 2 * static_cast<size_t>(kMaxSumBlocks); }

SumPlan sum_plan(int64_t rows, int64_t d, int max_blocks, bool loss_only) {
  SumPlan p;
  p.lanes = lanes_per_row(d);
  p.slots = loss_only ? 0 : checked_slots(d);
  const int64_t groups_per_block = kBlockSize / p.lanes;
  int64_t rpb = ceil_div(std::max<int64_t>(rows, 1), std::max(max_blocks, 1));
  rpb = ceil_div(rpb, groups_per_block) * groups_per_block;  // whole row groups per warp pass
  p.rows_per_block = rpb;
  p.blocks = static_cast<int>(ceil_div(std::max<int64_t>(rows, 1), rpb));
  return p;
}

SumPlan tiled_plan(int64_t rows, int64_t d, int max_blocks) {
  SumPlan p;
  p.lanes = lanes_per_row(d);
  p.slots = checked_slots(d);
  p.tile_rows = tiled_tile_rows(d);
  const int64_t block_pass = static_cast<int64_t>(p.tile_rows) * kWarpsPerBlock;  // one tile per warp
  int64_t rpb = ceil_div(std::max<int64_t>(rows, 1), std::max(max_blocks, 1));
  rpb = ceil_div(rpb, block_pass) * block_pass;  // every warp of a block gets a tile per pass
  p.rows_per_block = rpb;
  p.blocks = static_cast<int>(ceil_div(std::max<int64_t>(rows, 1), rpb));
  return p;
}

SumPlan fused_plan(int64_t bt, int64_t d, FusedKernel kernel) {
  SumPlan p;
  if (kernel == FusedKernel::Tiled) {
    const int slots = checked_slots(d);
    const int64_t smem = batch_sums_smem_bytes(d, false);
    p = tiled_plan(bt, d, wave_blocks(sums_kernel_for(slots, FusedKernel::Tiled), smem, kMaxSumBlocks));
  } else {
    p = sum_plan(bt, d, kFusedStepBlocks);
  }
  p.last_block_finalizes = static_cast<int64_t>(p.blocks) * (d + 2) <= kLastBlockMaxPartials;
  return p;
}

int fused_step_kernels(int64_t bt, int64_t d, FusedKernel kernel) {
  return fused_plan(bt, d, kernel).last_block_finalizes ? 1 : 2;
}

void gather_residual(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t start, int64_t bt,
                     int64_t d, const float* d_params, float* d_Xb, float* d_r, cudaStream_t stream) {
  if (bt <= 0) return;
  const int lanes = lanes_per_row(d);
  const int64_t blocks = ceil_div(bt, kBlockSize / lanes);
  gather_residual_kernel<<<static_cast<unsigned>(blocks), kBlockSize, 0, stream>>>(bt, d, lanes, d_X, d_y, d_perm,
                                                                                   start, d_params, d_Xb, d_r);
  LINREG_CHECK_LAUNCH();
}

void cublas_xt_r(cublasHandle_t handle, const float* d_Xb, const float* d_r, int64_t bt, int64_t d,
                 const float* d_one, const float* d_zero, float* d_g) {
  if (bt <= 0 || d <= 0) return;
  if (bt > INT_MAX || d > INT_MAX) throw InputError("cublas_xt_r: minibatch or feature count above INT_MAX");
  // Xb (bt, d) row-major is, column-major, the (d × bt) matrix A with lda = d: g = A · r.
  LINREG_CHECK(cublasSgemv(handle, CUBLAS_OP_N, static_cast<int>(d), static_cast<int>(bt), d_one, d_Xb,
                           static_cast<int>(d), d_r, 1, d_zero, d_g, 1));
}

void sgd_update(const float* d_g, const float* d_r, int64_t bt, int64_t d, float lr, double scale, float* d_params,
                cudaStream_t stream) {
  if (bt <= 0) return;
  sgd_update_kernel<<<1, kBlockSize, 0, stream>>>(bt, d, d_g, d_r, lr, scale, d_params);
  LINREG_CHECK_LAUNCH();
}

void batch_sums(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t start, int64_t rows, int64_t d,
                const float* d_params, LossKind kind, double* d_partials, double* d_out, cudaStream_t stream) {
  if (rows <= 0) return;
  const SumPlan plan = sum_plan(rows, d, kMaxSumBlocks);
  // Store mode: the kernel only reads params (the const_cast is never written through: ticket is null).
  launch_batch_sums(plan, rows, d, d_X, d_y, d_perm, start, const_cast<float*>(d_params), kind, d_partials, nullptr,
                    0.f, 0.0, nullptr, stream);
  launch_finalize(0, d + 2, plan.blocks, d, d_partials, nullptr, 0.f, 0.0, rows, d_out, nullptr, stream);
}

int loss_sum_blocks(int64_t n) {
  // One wave of the loss-only kernel (its shared memory is 128 bytes for any d), at most
  // kMaxSumBlocks (the partials buffer's size); never more blocks than row groups of work.
  const int wave = wave_blocks(sums_kernel_for(0, FusedKernel::RowGroups), batch_sums_smem_bytes(1, true),
                               kMaxSumBlocks);
  return static_cast<int>(std::min<int64_t>(wave, std::max<int64_t>(1, n)));
}

void loss_sum(const float* d_X, const float* d_y, int64_t n, int64_t d, const float* d_params, LossKind kind,
              double* d_partials, double* d_out, cudaStream_t stream) {
  if (n <= 0) return;
  // Loss only (slots 0): any d; rows in order, blocks for one wave on this device.
  const SumPlan plan = sum_plan(n, d, loss_sum_blocks(n), /*loss_only=*/true);
  launch_batch_sums(plan, n, d, d_X, d_y, nullptr, 0, const_cast<float*>(d_params), kind, d_partials, nullptr, 0.f,
                    0.0, nullptr, stream);
  launch_finalize(1, 1, plan.blocks, d, d_partials, nullptr, 0.f, 0.0, n, d_out, nullptr, stream);  // j = 1: Σ loss
}

void fused_step(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t start, int64_t bt, int64_t d,
                float lr, double scale, LossKind kind, float* d_params, double* d_partials, unsigned* d_ticket,
                double* d_step_loss, cudaStream_t stream, FusedKernel kernel) {
  if (bt <= 0) return;
  const SumPlan plan = fused_plan(bt, d, kernel);
  if (plan.last_block_finalizes) {
    launch_batch_sums(plan, bt, d, d_X, d_y, d_perm, start, d_params, kind, d_partials, d_ticket, lr, scale,
                      d_step_loss, stream);
  } else {
    launch_batch_sums(plan, bt, d, d_X, d_y, d_perm, start, d_params, kind, d_partials, nullptr, 0.f, 0.0, nullptr,
                      stream);
    launch_finalize(0, d + 2, plan.blocks, d, d_partials, d_params, lr, scale, bt, nullptr, d_step_loss, stream);
  }
}

bool persistent_supported(int64_t d, int64_t batch) {
  return kern::persistent_supported(d, batch, device_smem_limits(current_device()));
}

namespace {

// One persistent epoch, plain (rules null) or with the rules.
void launch_persistent(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t n, int64_t d,
                       int64_t batch, float lr, double scale, float* d_params, const PersistentRules* rules,
                       cudaStream_t stream) {
  if (n <= 0) return;
  const SmemLimits lim = device_smem_limits(current_device());
  if (!kern::persistent_supported(d, batch, lim))
    throw SettingError("strategy", "the persistent strategy takes at most " + std::to_string(kPersistentMaxFeatures) +
                     " features and a batch whose rows fit twice in " + std::to_string(persistent_stage_budget(lim)) +
                     " bytes of shared memory");
  const int64_t chunk = persistent_chunk_rows(d, batch, lim);
  const SmemNeed need = persistent_smem(d, batch, lim);
  const size_t smem = static_cast<size_t>(need.dynamic_bytes);
  const int D = next_pow2(d);
  const PersistentRules pr = rules ? *rules : PersistentRules{};
#define LINREG_LAUNCH_PERSISTENT(DD, RR)                                                                             \
  prepare_smem(reinterpret_cast<const void*>(&persistent_epoch_kernel<DD, RR>), kPersistentStaticSmem, need,       \
               "the persistent kernel");                                                                             \
  persistent_epoch_kernel<DD, RR><<<1, kBlockSize, smem, stream>>>(n, d, batch, chunk, d_X, d_y, d_perm, d_params, \
                                                                   lr, scale, pr)
#define LINREG_LAUNCH_PERSISTENT_D(RR)          \
  switch (D) {                                  \
    case 1: LINREG_LAUNCH_PERSISTENT(1, RR); break;  \
    case 2: LINREG_LAUNCH_PERSISTENT(2, RR); break;  \
    case 4: LINREG_LAUNCH_PERSISTENT(4, RR); break;  \
    case 8: LINREG_LAUNCH_PERSISTENT(8, RR); break;  \
    default: LINREG_LAUNCH_PERSISTENT(16, RR); break; \
  }
  if (rules) {
    LINREG_LAUNCH_PERSISTENT_D(true)
  } else {
    LINREG_LAUNCH_PERSISTENT_D(false)
  }
#undef LINREG_LAUNCH_PERSISTENT_D
#undef LINREG_LAUNCH_PERSISTENT
  LINREG_CHECK_LAUNCH();
}

}  // namespace

void persistent_epoch(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t n, int64_t d, int64_t batch,
                      float lr, double scale, float* d_params, cudaStream_t stream) {
  launch_persistent(d_X, d_y, d_perm, n, d, batch, lr, scale, d_params, nullptr, stream);
}

void persistent_epoch_rules(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t n, int64_t d,
                            int64_t batch, double scale, float* d_params, const PersistentRules& rules,
                            cudaStream_t stream) {
  if (!rules.s1 || !rules.s2 || (rules.average && !rules.avg))
    throw CudaError("persistent_epoch_rules: the rule's state buffers are missing");
  launch_persistent(d_X, d_y, d_perm, n, d, batch, 0.f, scale, d_params, &rules, stream);
}

}  // namespace linreg::kern
