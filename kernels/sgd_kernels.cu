// The SGD kernels and their launchers (see sgd_kernels.hpp for shapes and the strategies).
//
// Numerics, common to every kernel here: a row's residual r = (x·w + b) − y is accumulated in
// double from the float data (fma per feature), every sum over rows is accumulated in double in
// an order fixed by the launch geometry, which depends on (rows, d) only — never on timing or on
// the card — so every result is deterministic. No float atomics anywhere; the fused step's
// single-kernel form uses one integer atomic (a ticket) only to elect the block that reduces,
// not to order the sum.
#include "kernels/sgd_kernels.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include "kernels/cuda_check.hpp"

namespace linreg::kern {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
// Shared memory of the persistent kernel's two staging buffers (opted in above 48 KB; H100 and
// H200 allow 227 KB per block). Sized so that the lab's d = 2 stages 4096 rows per chunk.
constexpr int kPersistentSmemBytes = 96 * 1024;

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

// Batch sums over rows perm[start + k] (or start + k), k < rows. Block g takes rows
// [g·rows_per_block, …) and writes its d + 2 sums to partials[j·gridDim.x + g]:
// j < d: Σ r·x_j, j = d: Σ r, j = d + 1: Σ loss_term(r). A row is read by `lanes` consecutive
// lanes (features lg, lg + lanes, …: coalesced); SLOTS ≥ ceil(d / lanes) is a compile-time bound
// so the per-lane arrays stay in registers.
// With ticket != nullptr the block that finishes last reduces the partials and updates params
// (the fused SGD step); params is then written by this kernel, so it is not __restrict__.
template <int SLOTS>
__global__ void __launch_bounds__(kBlockSize)
batch_sums_kernel(int64_t rows, int64_t d, int lanes, int64_t rows_per_block, const float* __restrict__ X,
                  const float* __restrict__ y, const uint32_t* __restrict__ perm, int64_t start,
                  float* params, LossKind kind, double* partials, unsigned* ticket, float lr,
                  double scale, double* step_loss) {
  extern __shared__ double red[];  // (kWarpsPerBlock, d + 2)
  __shared__ unsigned s_last;
  // Assumed by the warp arithmetic below.
  if (blockDim.x != kBlockSize) __trap();

  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int lg = lane & (lanes - 1);          // lane within the row group
  const int group = lane / lanes;             // row group within the warp
  const int groups_per_warp = 32 / lanes;

  // SLOTS == 0: loss only, any d (the row is walked with a run-time loop; no gradient sums).
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

  // Across the row groups of the warp (offsets lanes … 16): group 0 then holds the warp's sums.
  for (int o = lanes; o < 32; o <<= 1) {
#pragma unroll
    for (int s = 0; s < A; ++s) acc[s] += __shfl_xor_sync(kFullMask, acc[s], o);
    acc_b += __shfl_xor_sync(kFullMask, acc_b, o);
    acc_loss += __shfl_xor_sync(kFullMask, acc_loss, o);
  }
  const int64_t stride = d + 2;
  if (group == 0) {
    if constexpr (SLOTS > 0) {
#pragma unroll
      for (int s = 0; s < SLOTS; ++s) {
        const int64_t j = lg + static_cast<int64_t>(s) * lanes;
        if (j < d) red[warp * stride + j] = acc[s];
      }
    } else {
      for (int64_t j = lg; j < d; j += lanes) red[warp * stride + j] = 0.0;  // loss only
    }
  }
  if (lane == 0) {
    red[warp * stride + d] = acc_b;
    red[warp * stride + d + 1] = acc_loss;
  }
  __syncthreads();
  const int G = static_cast<int>(gridDim.x);
  for (int64_t j = threadIdx.x; j < stride; j += blockDim.x) {
    double s = 0;
    for (int wp = 0; wp < kWarpsPerBlock; ++wp) s += red[wp * stride + j];  // fixed warp order
    partials[j * G + blockIdx.x] = s;
  }
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
  for (int64_t j = warp; j < stride; j += kWarpsPerBlock)
    finalize_feature(j, G, d, 0, partials, params, lr, scale, rows, nullptr, step_loss);
  if (threadIdx.x == 0) *ticket = 0u;  // ready for the next step (stream-ordered)
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
// the two uses of each buffer. D ≥ d is a compile-time bound (power of two).
template <int D>
__global__ void __launch_bounds__(kBlockSize, 1)
persistent_epoch_kernel(int64_t n, int64_t d, int64_t batch, int64_t chunk_rows, const float* __restrict__ X,
                        const float* __restrict__ y, const uint32_t* __restrict__ perm, float* params,
                        float lr, double scale) {
  extern __shared__ float stage[];
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
  if (warp == 0) {
#pragma unroll
    for (int j = 0; j < D; ++j) w[j] = j < d ? params[j] : 0.f;
    b = params[d];
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
#pragma unroll
        for (int j = 0; j < D; ++j)
          if (j < d) w[j] = sgd_step(w[j], acc[j], lr, scale, bt);
        b = sgd_step(b, acc_b, lr, scale, bt);
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
  }
}

int slots_for(int64_t d, int lanes) {
  const int64_t s = ceil_div(d, lanes);
  if (s > kMaxFeatureSlots)
    throw InputError("the fused kernels take at most " + std::to_string(kMaxFusedFeatures) +
                     " features (got " + std::to_string(d) + "); use --strategy cublas");
  return next_pow2(s);
}

// Launches batch_sums_kernel<slots> with the plan's geometry.
void launch_batch_sums(const SumPlan& plan, int64_t rows, int64_t d, const float* d_X, const float* d_y,
                       const uint32_t* d_perm, int64_t start, float* d_params, LossKind kind, double* d_partials,
                       unsigned* d_ticket, float lr, double scale, double* d_step_loss, cudaStream_t stream) {
  const size_t smem = sizeof(double) * kWarpsPerBlock * static_cast<size_t>(d + 2);  // ≤ 33 KB for d ≤ 512
  const dim3 grid(static_cast<unsigned>(plan.blocks));
#define LINREG_LAUNCH_SUMS(S)                                                                              \
  batch_sums_kernel<S><<<grid, kBlockSize, smem, stream>>>(rows, d, plan.lanes, plan.rows_per_block, d_X, d_y, \
                                                           d_perm, start, d_params, kind, d_partials, d_ticket, \
                                                           lr, scale, d_step_loss)
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

int64_t persistent_chunk_rows(int64_t d, int64_t batch) {
  const int64_t rows = kPersistentSmemBytes / (2 * (d + 1) * static_cast<int64_t>(sizeof(float)));
  return (rows / batch) * batch;  // whole minibatches per chunk
}

}  // namespace

int lanes_per_row(int64_t d) { return d >= 32 ? 32 : next_pow2(std::max<int64_t>(d, 1)); }

size_t partials_capacity(int64_t d) { return static_cast<size_t>(d + 2) * kMaxSumBlocks; }

SumPlan sum_plan(int64_t rows, int64_t d, int max_blocks, bool loss_only) {
  SumPlan p;
  p.lanes = lanes_per_row(d);
  p.slots = loss_only ? 0 : slots_for(d, p.lanes);
  const int64_t groups_per_block = kBlockSize / p.lanes;
  int64_t rpb = ceil_div(std::max<int64_t>(rows, 1), max_blocks);
  rpb = ceil_div(rpb, groups_per_block) * groups_per_block;  // whole row groups per warp pass
  p.rows_per_block = rpb;
  p.blocks = static_cast<int>(ceil_div(std::max<int64_t>(rows, 1), rpb));
  return p;
}

SumPlan fused_plan(int64_t bt, int64_t d) {
  SumPlan p = sum_plan(bt, d, kFusedStepBlocks);
  p.last_block_finalizes = static_cast<int64_t>(p.blocks) * (d + 2) <= kLastBlockMaxPartials;
  return p;
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

void loss_sum(const float* d_X, const float* d_y, int64_t n, int64_t d, const float* d_params, LossKind kind,
              double* d_partials, double* d_out, cudaStream_t stream) {
  if (n <= 0) return;
  // Loss only (slots 0): any d; the same row order and block geometry as batch_sums.
  const SumPlan plan = sum_plan(n, d, kMaxSumBlocks, /*loss_only=*/true);
  launch_batch_sums(plan, n, d, d_X, d_y, nullptr, 0, const_cast<float*>(d_params), kind, d_partials, nullptr, 0.f,
                    0.0, nullptr, stream);
  launch_finalize(d + 1, 1, plan.blocks, d, d_partials, nullptr, 0.f, 0.0, n, d_out, nullptr, stream);
}

void fused_step(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t start, int64_t bt, int64_t d,
                float lr, double scale, LossKind kind, float* d_params, double* d_partials, unsigned* d_ticket,
                double* d_step_loss, cudaStream_t stream) {
  if (bt <= 0) return;
  const SumPlan plan = fused_plan(bt, d);
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
  return d >= 1 && d <= kPersistentMaxFeatures && batch >= 1 && persistent_chunk_rows(d, batch) >= batch;
}

void persistent_epoch(const float* d_X, const float* d_y, const uint32_t* d_perm, int64_t n, int64_t d, int64_t batch,
                      float lr, double scale, float* d_params, cudaStream_t stream) {
  if (n <= 0) return;
  if (!persistent_supported(d, batch))
    throw InputError("--strategy persistent takes at most " + std::to_string(kPersistentMaxFeatures) +
                     " features and a batch whose rows fit in shared memory");
  const int64_t chunk = persistent_chunk_rows(d, batch);
  const size_t smem = 2 * static_cast<size_t>(chunk) * static_cast<size_t>(d + 1) * sizeof(float);
  const int D = next_pow2(d);
#define LINREG_LAUNCH_PERSISTENT(DD)                                                                                 \
  LINREG_CHECK(cudaFuncSetAttribute(persistent_epoch_kernel<DD>, cudaFuncAttributeMaxDynamicSharedMemorySize,       \
                                    static_cast<int>(smem)));                                                        \
  persistent_epoch_kernel<DD><<<1, kBlockSize, smem, stream>>>(n, d, batch, chunk, d_X, d_y, d_perm, d_params, lr, \
                                                               scale)
  switch (D) {
    case 1: LINREG_LAUNCH_PERSISTENT(1); break;
    case 2: LINREG_LAUNCH_PERSISTENT(2); break;
    case 4: LINREG_LAUNCH_PERSISTENT(4); break;
    case 8: LINREG_LAUNCH_PERSISTENT(8); break;
    default: LINREG_LAUNCH_PERSISTENT(16); break;
  }
#undef LINREG_LAUNCH_PERSISTENT
  LINREG_CHECK_LAUNCH();
}

}  // namespace linreg::kern
