// Streamed and data-parallel SGD's small kernels (see stream_kernels.hpp).
#include "kernels/stream_kernels.hpp"

#include <algorithm>

#include "kernels/cuda_check.hpp"
#include "kernels/launch.hpp"
#include "kernels/residual_sum.cuh"

namespace linreg::kern {
namespace {

// One warp a row: consecutive lanes copy consecutive floats, so reads and writes are coalesced
// whatever the row order.
__global__ void __launch_bounds__(kBlockSize)
    gather_rows_kernel(const float* __restrict__ X, const float* __restrict__ y, const uint32_t* __restrict__ rows,
                       int64_t count, int64_t d, float* __restrict__ Xo, float* __restrict__ yo) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + threadIdx.x / kWarpSize; k < count; k += warps) {
    const int64_t src = rows[k];
    const float* __restrict__ from = X + src * d;
    float* __restrict__ to = Xo + k * d;
    for (int64_t j = lane; j < d; j += kWarpSize) to[j] = from[j];
    if (lane == 0) yo[k] = y[src];
  }
}

__global__ void __launch_bounds__(kBlockSize)
    rank_order_sum_kernel(const double* __restrict__ parts, int ranks, int64_t m, double* __restrict__ out) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(kBlockSize) + threadIdx.x; j < m;
       j += static_cast<int64_t>(gridDim.x) * kBlockSize) {
    double s = parts[j];
    for (int r = 1; r < ranks; ++r) s += parts[static_cast<int64_t>(r) * m + j];
    out[j] = s;
  }
}

__global__ void __launch_bounds__(kBlockSize)
    residual_sums_kernel(const float* __restrict__ g, const float* __restrict__ r, int64_t bt, int64_t d,
                         double* __restrict__ out) {
  __shared__ double red[kBlockSize];
  const double sum_r = block_residual_sum(r, bt, red);  // the rule update's tree (sgd_rules.cu)
  const int t = threadIdx.x;
  for (int64_t j = t; j < d; j += kBlockSize) out[j] = static_cast<double>(g[j]);
  if (t == 0) out[d] = sum_r;
}

int blocks_for(int64_t items, int64_t per_block) {
  return static_cast<int>(std::min<int64_t>(ceil_div(std::max<int64_t>(items, 1), per_block), 65535));
}

}  // namespace

void gather_rows(const float* d_X, const float* d_y, const uint32_t* d_rows, int64_t count, int64_t d, float* d_Xo,
                 float* d_yo, cudaStream_t stream) {
  if (count <= 0) return;
  gather_rows_kernel<<<blocks_for(count, kWarpsPerBlock), kBlockSize, 0, stream>>>(d_X, d_y, d_rows, count, d, d_Xo,
                                                                                     d_yo);
  LINREG_CHECK_LAUNCH();
}

void rank_order_sum(const double* d_parts, int ranks, int64_t m, double* d_out, cudaStream_t stream) {
  if (m <= 0 || ranks <= 0) return;
  rank_order_sum_kernel<<<blocks_for(m, kBlockSize), kBlockSize, 0, stream>>>(d_parts, ranks, m, d_out);
  LINREG_CHECK_LAUNCH();
}

void residual_sums(const float* d_g, const float* d_r, int64_t bt, int64_t d, double* d_out, cudaStream_t stream) {
  residual_sums_kernel<<<1, kBlockSize, 0, stream>>>(d_g, d_r, bt, d, d_out);
  LINREG_CHECK_LAUNCH();
}

}  // namespace linreg::kern
