// A dataset held in host memory: X row-major (n, d) float32, y (n) float32, and, where the source
// had more precision than float32 (a CSV file), the same values in double for the exact solvers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/config.hpp"

namespace linreg {

struct HostDataset {
  int64_t n = 0;
  int64_t d = 0;
  std::vector<float> X;  // (n, d) row-major
  std::vector<float> y;  // (n)
  // The values as read, in double: empty when X and y hold them exactly (synthetic data).
  // SGD trains on the float32 copies; the exact solvers, metrics and predictions use these.
  std::vector<double> X64;  // (n, d) row-major, or empty
  std::vector<double> y64;  // (n), or empty
  // Per-row weights v_i ≥ 0 of a weighted fit (a CSV file's --weights column), or empty: every
  // row weighs 1.
  std::vector<double> weights;
  std::vector<std::string> feature_names;  // empty for synthetic data
  std::string target_name;

  double x(int64_t i, int64_t j) const {
    const size_t k = static_cast<size_t>(i * d + j);
    return X64.empty() ? static_cast<double>(X[k]) : X64[k];
  }
  double label(int64_t i) const {
    return y64.empty() ? static_cast<double>(y[static_cast<size_t>(i)]) : y64[static_cast<size_t>(i)];
  }
  double weight(int64_t i) const { return weights.empty() ? 1.0 : weights[static_cast<size_t>(i)]; }
};

// Number of uniforms the synthetic generator draws: n·d for X plus n for the noise, rounded up
// to even so that Box-Muller works in pairs. Both backends draw exactly this stream.
int64_t synthetic_uniform_count(int64_t n, int64_t d);

// Fills out[0..count) with uniforms in (0, 1]: exactly the numbers cuRAND's Philox4x32-10
// generator gives for curandGenerateUniform with this seed (default ordering, offset 0; host and
// device generators agree), computed without cuRAND by host/core/philox.hpp, so every build,
// with or without CUDA, draws the same stream. Nothing is written when count <= 0.
void host_uniforms(uint64_t seed, float* out, int64_t count);

// The lab's synthetic_data(w, b, n), drawn on the host: the same numbers, in every build, as the
// GPU generator draws for the same spec (up to the rare last-bit libm difference that
// kernels/generate.cu describes).
HostDataset generate_synthetic_host(const SyntheticSpec& spec);

// Bytes of host memory the system can still give us (MemAvailable; sysconf where that is absent).
uint64_t host_memory_available();

// Throws InputError when `need_bytes` of `where` memory is more than `available_bytes`, naming
// the sizes asked for (--examples × --features) and both amounts.
void check_memory_fits(const char* where, uint64_t need_bytes, uint64_t available_bytes, int64_t n, int64_t d);

// Initial parameters, as the lab: w ~ N(0, 0.01²) from `seed`, b = 0. Computed on the host for
// both backends, so both start from the same point.
std::vector<float> initial_weights(int64_t d, uint64_t seed);

}  // namespace linreg
