// Synthetic data on the device. The uniforms come from cuRAND's device Philox4x32-10 generator
// (default ordering, offset 0), which is bit-identical to the host generator that
// host_uniforms() uses; Box-Muller and the labels call the very __host__ __device__ formulas the
// host path calls (host/core/formulas.hpp), so the device dataset equals generate_synthetic_host()'s,
// except where CUDA's double log/sin/cos and the host libm differ in the last place of a double
// and that difference straddles a float rounding boundary (a 1-ulp difference, rare).
#include "kernels/generate.hpp"

#include <curand.h>

#include "host/core/dataset.hpp"
#include "host/core/formulas.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/launch.hpp"

namespace linreg::kern {

namespace {

// z viewed as pairs: z2[k] = (z[2k], z[2k+1]). 8-byte aligned: cudaMalloc'd base, even offsets.
__global__ void __launch_bounds__(kBlockSize) box_muller_kernel(int64_t pairs, float2* __restrict__ z2) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= pairs) return;
  const float2 u = z2[k];
  float a, b;
  box_muller(u.x, u.y, &a, &b);
  z2[k] = make_float2(a, b);
}

// One thread per row: synthetic_label is a sequential fma chain, and the host runs the same
// chain in the same order, so the result is bit-identical given identical inputs.
__global__ void __launch_bounds__(kBlockSize)
synthetic_labels_kernel(int64_t n, int64_t d, const float* __restrict__ X,
                        const float* __restrict__ noise_z, const float* __restrict__ true_w,
                        double true_b, double noise, float* __restrict__ y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  // Same expression as generate_synthetic_host: double(noise) · double(z).
  y[i] = synthetic_label(X + i * d, true_w, d, true_b, noise * static_cast<double>(noise_z[i]));
}

// Owns a cuRAND generator for the duration of one call; destroyed on every path.
struct GeneratorGuard {
  curandGenerator_t g = nullptr;
  ~GeneratorGuard() {
    if (g) curandDestroyGenerator(g);
  }
};

}  // namespace

void device_uniforms(uint64_t seed, float* d_out, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  GeneratorGuard gen;
  LINREG_CHECK(curandCreateGenerator(&gen.g, CURAND_RNG_PSEUDO_PHILOX4_32_10));
  LINREG_CHECK(curandSetStream(gen.g, stream));
  // Seed only; ordering (CURAND_ORDERING_PSEUDO_DEFAULT) and offset (0) stay at their defaults,
  // exactly as host_uniforms() leaves them.
  LINREG_CHECK(curandSetPseudoRandomGeneratorSeed(gen.g, seed));
  LINREG_CHECK(curandGenerateUniform(gen.g, d_out, static_cast<size_t>(count)));
  // curandGenerateUniform is asynchronous on `stream`; destroying the generator afterwards is
  // safe (cuRAND keeps the launch's state alive until it completes).
}

void box_muller_inplace(float* d_z, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  if (count % 2 != 0) throw CudaError("box_muller_inplace: odd count " + std::to_string(count));
  const int64_t pairs = count / 2;
  const int64_t blocks = ceil_div(pairs, kBlockSize);
  box_muller_kernel<<<static_cast<unsigned>(blocks), kBlockSize, 0, stream>>>(pairs, reinterpret_cast<float2*>(d_z));
  LINREG_CHECK_LAUNCH();
}

void synthetic_labels(const float* d_X, const float* d_noise_z, const float* d_true_w, int64_t n,
                      int64_t d, double true_b, double noise, float* d_y, cudaStream_t stream) {
  if (n <= 0) return;
  const int64_t blocks = ceil_div(n, kBlockSize);
  synthetic_labels_kernel<<<static_cast<unsigned>(blocks), kBlockSize, 0, stream>>>(n, d, d_X, d_noise_z, d_true_w,
                                                                                     true_b, noise, d_y);
  LINREG_CHECK_LAUNCH();
}

void generate_synthetic(uint64_t seed, int64_t n, int64_t d, const float* d_true_w, double true_b,
                        double noise, float* d_z, float* d_y, cudaStream_t stream) {
  if (n <= 0) return;
  const int64_t m = synthetic_uniform_count(n, d);  // even: n·d + n rounded up
  device_uniforms(seed, d_z, m, stream);
  box_muller_inplace(d_z, m, stream);
  synthetic_labels(d_z, d_z + n * d, d_true_w, n, d, true_b, noise, d_y, stream);
}

}  // namespace linreg::kern
