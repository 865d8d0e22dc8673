// Synthetic data on the device: cuRAND's device Philox4x32-10 generator (same seed, default
// ordering as host_uniforms() in host/dataset.cpp, hence the same uniforms), then the shared
// Box-Muller and label formulas of host/core/formulas.hpp. Launchers only: no __global__ here.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace linreg::kern {

// d_out[0..count) ← uniforms in (0, 1] from a device Philox4x32-10 generator seeded with `seed`.
void device_uniforms(uint64_t seed, float* d_out, int64_t count, cudaStream_t stream);

// In place over pairs: (z[2k], z[2k+1]) ← box_muller(z[2k], z[2k+1]). `count` must be even.
void box_muller_inplace(float* d_z, int64_t count, cudaStream_t stream);

// d_y[i] ← synthetic_label(X row i, true_w, d, true_b, noise · d_noise_z[i]) for i < n.
// X: (n, d) row-major; d_true_w: (d); d_noise_z: (n) standard normals.
void synthetic_labels(const float* d_X, const float* d_noise_z, const float* d_true_w, int64_t n,
                      int64_t d, double true_b, double noise, float* d_y, cudaStream_t stream);

// The whole generator, as generate_synthetic_host(): d_z must hold
// synthetic_uniform_count(n, d) floats; afterwards d_z[0..n·d) is X (n, d) row-major and
// d_y[0..n) the labels. (d_z[n·d..) keeps the noise normals.)
void generate_synthetic(uint64_t seed, int64_t n, int64_t d, const float* d_true_w, double true_b,
                        double noise, float* d_z, float* d_y, cudaStream_t stream);

}  // namespace linreg::kern
