// Host-side synthetic data: uniforms from cuRAND's host generator, Box-Muller and labels from
// the shared formulas, so that the CPU path sees the very dataset the GPU path generates.
#include "host/dataset.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "host/error.hpp"
#include "host/formulas.hpp"

#if LINREG_HAVE_CUDA
#include "kernels/cuda_check.hpp"
#include <curand.h>
#endif

namespace linreg {

int64_t synthetic_uniform_count(int64_t n, int64_t d) {
  const int64_t m = n * d + n;
  return m + (m & 1);
}

void host_uniforms(uint64_t seed, float* out, int64_t count) {
  if (count <= 0) return;
#if LINREG_HAVE_CUDA
  curandGenerator_t gen = nullptr;
  LINREG_CHECK(curandCreateGeneratorHost(&gen, CURAND_RNG_PSEUDO_PHILOX4_32_10));
  // Own the generator for the rest of the function: destroy it on every path.
  struct Guard {
    curandGenerator_t g;
    ~Guard() { curandDestroyGenerator(g); }
  } guard{gen};
  LINREG_CHECK(curandSetPseudoRandomGeneratorSeed(gen, seed));
  LINREG_CHECK(curandGenerateUniform(gen, out, static_cast<size_t>(count)));
#else
  // CPU-only build: no cuRAND. A different (documented) stream; uniforms in (0, 1].
  std::mt19937_64 eng(seed);
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t bits = eng() >> 40;  // 24 random bits
    out[i] = static_cast<float>(bits + 1) * (1.0f / 16777216.0f);
  }
#endif
}

HostDataset generate_synthetic_host(const SyntheticSpec& spec) {
  const int64_t n = spec.examples, d = spec.features;
  if (static_cast<int64_t>(spec.true_w.size()) != d) throw InputError("--true-w length does not match --features");
  const int64_t m = synthetic_uniform_count(n, d);
  // One buffer holds X followed by the noise, as on the device; transformed in place.
  std::vector<float> z(static_cast<size_t>(m));
  host_uniforms(spec.seed, z.data(), m);
  for (int64_t k = 0; k < m; k += 2) box_muller(z[k], z[k + 1], &z[k], &z[k + 1]);

  HostDataset ds;
  ds.n = n;
  ds.d = d;
  ds.y.resize(static_cast<size_t>(n));
  const float* noise = z.data() + n * d;
  for (int64_t i = 0; i < n; ++i)
    ds.y[i] = synthetic_label(z.data() + i * d, spec.true_w.data(), d, spec.true_b,
                              static_cast<double>(spec.noise) * noise[i]);
  z.resize(static_cast<size_t>(n * d));
  z.shrink_to_fit();
  ds.X = std::move(z);
  return ds;
}

uint64_t host_memory_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : UINT64_MAX;
}

void check_memory_fits(const char* where, uint64_t need_bytes, uint64_t available_bytes, int64_t n, int64_t d) {
  if (need_bytes <= available_bytes) return;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "--examples %lld x --features %lld needs %.3g GB of %s memory, but %.3g GB is available; "
                "use fewer examples or features",
                static_cast<long long>(n), static_cast<long long>(d), static_cast<double>(need_bytes) / 1e9, where,
                static_cast<double>(available_bytes) / 1e9);
  throw InputError(buf);
}

std::vector<float> initial_weights(int64_t d, uint64_t seed) {
  std::vector<float> w(static_cast<size_t>(d));
  uint64_t state = splitmix64(seed ^ 0x494E4954ull);  // "INIT"
  for (int64_t j = 0; j < d; j += 2) {
    state = splitmix64(state);
    const float u1 = static_cast<float>((state >> 40) + 1) * (1.0f / 16777216.0f);
    state = splitmix64(state);
    const float u2 = static_cast<float>((state >> 40) + 1) * (1.0f / 16777216.0f);
    float z1, z2;
    box_muller(u1, u2, &z1, &z2);
    w[j] = 0.01f * z1;
    if (j + 1 < d) w[j + 1] = 0.01f * z2;
  }
  return w;
}

}  // namespace linreg
