// SGD's rules on the GPU (see sgd_rules.hpp): one parameter per thread, with the CPU trainer's
// per-element formulas (host/core/optim.hpp), after the gradient sums of the step are formed.
#include "kernels/sgd_rules.hpp"

#include "kernels/cuda_check.hpp"
#include "kernels/launch.hpp"
#include "kernels/residual_sum.cuh"

namespace linreg::kern {
namespace {

// Parameter j (j = d: the bias) from its gradient sum over the batch, as the CPU's GeneralSteps
// (optim::update_parameter), then the running average.
__device__ void rule_param(int64_t j, int64_t d, double sum, const RuleStep& s, float* params, RuleState st) {
  const bool bias = j == d;
  if (bias && !s.intercept) return;
  const float w = optim::update_parameter(params[j], sum, bias, s.rule, s.c, &st.s1[j], &st.s2[j]);
  params[j] = w;
  if (s.average) optim::average_in(st.avg[j], w, s.c.t);
}

__global__ void __launch_bounds__(kBlockSize)
    rule_residuals_kernel(int64_t bt, int64_t d, const float* __restrict__ g, const float* __restrict__ r,
                          RuleStep s, float* __restrict__ params, RuleState st) {
  __shared__ double red[kBlockSize];
  const double sum_r = block_residual_sum(r, bt, red);  // thread 0's is the whole sum
  const int t = threadIdx.x;
  for (int64_t j = t; j < d; j += kBlockSize) rule_param(j, d, static_cast<double>(g[j]), s, params, st);
  if (t == 0) rule_param(d, d, sum_r, s, params, st);
}

__global__ void __launch_bounds__(kBlockSize)
    rule_sums_kernel(int64_t d, const double* __restrict__ sums, RuleStep s, float* __restrict__ params,
                     RuleState st) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j <= d) rule_param(j, d, sums[j], s, params, st);
}

__global__ void __launch_bounds__(kBlockSize)
    averaged_kernel(int64_t d, const double* __restrict__ avg, float* __restrict__ out) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j <= d) out[j] = static_cast<float>(avg[j]);
}

unsigned blocks_for(int64_t count) { return static_cast<unsigned>(ceil_div(count, kBlockSize)); }

}  // namespace

void rule_update_residuals(const float* d_g, const float* d_r, int64_t bt, int64_t d, const RuleStep& step,
                           float* d_params, RuleState state, cudaStream_t stream) {
  if (bt <= 0) return;
  rule_residuals_kernel<<<1, kBlockSize, 0, stream>>>(bt, d, d_g, d_r, step, d_params, state);
  LINREG_CHECK_LAUNCH();
}

void rule_update_sums(const double* d_sums, int64_t d, const RuleStep& step, float* d_params, RuleState state,
                      cudaStream_t stream) {
  rule_sums_kernel<<<blocks_for(d + 1), kBlockSize, 0, stream>>>(d, d_sums, step, d_params, state);
  LINREG_CHECK_LAUNCH();
}

void averaged_params(const double* d_avg, int64_t d, float* d_params_out, cudaStream_t stream) {
  averaged_kernel<<<blocks_for(d + 1), kBlockSize, 0, stream>>>(d, d_avg, d_params_out);
  LINREG_CHECK_LAUNCH();
}

}  // namespace linreg::kern
