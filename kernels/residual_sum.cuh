// Device code shared by .cu files (include only from .cu): Σ r over a step's residuals in double,
// by one block in a fixed tree, so that every kernel that forms this sum (the cublas strategy's
// rule update, the data-parallel ranks' sums) gets the same bits from the same residuals.
#pragma once

#include <cstdint>

#include "kernels/launch.hpp"

namespace linreg::kern {

// Every thread of a kBlockSize-thread block calls it; the sum is returned to thread 0 (the other
// threads get partial sums). `red`: the block's kBlockSize shared doubles.
__device__ inline double block_residual_sum(const float* __restrict__ r, int64_t bt, double* red) {
  if (blockDim.x != kBlockSize) __trap();  // the tree below assumes it
  const int t = threadIdx.x;
  double acc = 0;
  for (int64_t k = t; k < bt; k += kBlockSize) acc += static_cast<double>(r[k]);
  red[t] = acc;
  __syncthreads();
  for (int h = kBlockSize / 2; h > 0; h >>= 1) {
    if (t < h) red[t] += red[t + h];
    __syncthreads();
  }
  return red[t];
}

}  // namespace linreg::kern
