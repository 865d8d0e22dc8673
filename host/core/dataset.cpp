// Host-side synthetic data: cuRAND's Philox4x32-10 uniforms computed by our own Philox
// (philox.hpp), Box-Muller and labels from the shared formulas, so that the CPU path of every
// build sees the very dataset the GPU path generates.
#include "host/core/dataset.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "host/core/error.hpp"
#include "host/core/formulas.hpp"
#include "host/core/philox.hpp"

namespace linreg {

int64_t synthetic_uniform_count(int64_t n, int64_t d) {
  const int64_t m = n * d + n;
  return m + (m & 1);
}

void host_uniforms(uint64_t seed, float* out, int64_t count) {
  // cuRAND's Philox4x32-10 stream, computed here (layout and conversion: host/core/philox.hpp),
  // so that every build, with or without CUDA, draws the numbers the device generator draws.
  if (count <= 0) return;
  const PhiloxKey key = curand_philox_key(seed);
  const uint64_t blocks = static_cast<uint64_t>(count) / 4;  // whole 4-word blocks
  // kLanes blocks at a time, one array per counter word, so that the round loop runs across
  // lanes and the compiler vectorises it (the 32x32->64 multiplications map to vpmuludq).
  // 64 lanes measured fastest or close to it with GCC at -O2/-O3, with and without -march:
  // much smaller tiles get fully unrolled at -O3 and vectorise worse.
  constexpr int kLanes = 64;
  uint64_t j = 0;
  for (; j + kLanes <= blocks; j += kLanes) {
    uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const PhiloxWords ctr = curand_philox_counter(j + static_cast<uint64_t>(l));
      c0[l] = ctr.w[0];
      c1[l] = ctr.w[1];
      c2[l] = ctr.w[2];
      c3[l] = ctr.w[3];
    }
    uint32_t k0 = key.k[0], k1 = key.k[1];
    for (int r = 0; r < kPhiloxRounds; ++r) {
      for (int l = 0; l < kLanes; ++l) philox_round(c0[l], c1[l], c2[l], c3[l], k0, k1);
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    float* o = out + 4 * j;
    for (int l = 0; l < kLanes; ++l) {
      o[4 * l + 0] = curand_uniform_from_u32(c0[l]);
      o[4 * l + 1] = curand_uniform_from_u32(c1[l]);
      o[4 * l + 2] = curand_uniform_from_u32(c2[l]);
      o[4 * l + 3] = curand_uniform_from_u32(c3[l]);
    }
  }
  // The remaining blocks, the last one possibly partial (count not a multiple of 4).
  for (uint64_t i = 4 * j; i < static_cast<uint64_t>(count); i += 4, ++j) {
    const PhiloxWords x = philox4x32_10(curand_philox_counter(j), key);
    for (uint64_t w = 0; w < 4 && i + w < static_cast<uint64_t>(count); ++w)
      out[i + w] = curand_uniform_from_u32(x.w[w]);
  }
}

HostDataset generate_synthetic_host(const SyntheticSpec& spec) {
  const int64_t n = spec.examples, d = spec.features;
  if (static_cast<int64_t>(spec.true_w.size()) != d) throw SettingError("true_w", "the true weights do not match the number of features");
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
