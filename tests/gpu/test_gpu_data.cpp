// The GPU-generated dataset (cuRAND device Philox → shared Box-Muller → shared labels) equals the
// host-generated one. Expected: bit for bit. The one allowed exception: CUDA's double log/sin/cos
// and the host's libm may differ in the last place of a double (CUDA documents ≤ 1–2 ulp for
// them), which changes the float result only when the double lands within that distance of a
// float rounding boundary: probability ~2^-52/2^-24 ≈ 4e-9 per value. Such a value then differs by
// exactly 1 float ulp, and its row's label by the propagated amount. We allow at most
// max(2, 1e-6·count) such values — far above the expectation, far below any real bug.
#include <gtest/gtest.h>

#if LINREG_HAVE_CUDA

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <string>
#include <vector>

#include "host/gpu/gpu_trainer.hpp"
#include "host/train/trainer.hpp"
#include "tests/gpu/gpu_test_util.hpp"

namespace linreg {
namespace {

// Distance in float ulps (same sign assumed; different signs count as huge).
int64_t ulp_distance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return INT64_MAX;
  if ((a < 0) != (b < 0)) return a == b ? 0 : INT64_MAX;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

struct Dims {
  int64_t n, d;
};

class GpuData : public ::testing::TestWithParam<Dims> {};

TEST_P(GpuData, DeviceDatasetEqualsHostDataset) {
  LINREG_REQUIRE_GPU();
  SyntheticSpec spec;
  spec.examples = GetParam().n;
  spec.features = GetParam().d;
  spec.seed = 20261127;
  spec.noise = 0.3f;
  validate_synthetic(spec);
  const HostDataset host = generate_synthetic_host(spec);
  auto gpu = create_gpu_trainer(0);
  gpu->generate(spec);
  ASSERT_EQ(gpu->examples(), spec.examples);
  ASSERT_EQ(gpu->features(), spec.features);
  const HostDataset dev = gpu->download();
  ASSERT_EQ(dev.X.size(), host.X.size());
  ASSERT_EQ(dev.y.size(), host.y.size());

  const int64_t n = spec.examples, d = spec.features;
  const int64_t budget = std::max<int64_t>(2, static_cast<int64_t>(1e-6 * (n * d + n)));
  int64_t x_mismatch = 0, y_mismatch = 0;
  std::vector<char> row_touched(static_cast<size_t>(n), 0);
  for (int64_t k = 0; k < n * d; ++k) {
    if (dev.X[k] == host.X[k]) continue;
    ++x_mismatch;
    row_touched[k / d] = 1;
    EXPECT_LE(ulp_distance(dev.X[k], host.X[k]), 1) << "X[" << k << "]: " << dev.X[k] << " vs " << host.X[k];
  }
  for (int64_t i = 0; i < n; ++i) {
    if (dev.y[i] == host.y[i]) continue;
    ++y_mismatch;
    // Allowed: a row whose x moved by 1 ulp (|w_j|·ulp each), or whose noise normal did
    // (noise·ulp(|z| < 8)), plus the label's own rounding.
    double allowed = FLT_EPSILON * std::fabs(host.y[i]) + spec.noise * 8 * FLT_EPSILON;
    if (row_touched[i])
      for (int64_t j = 0; j < d; ++j) allowed += std::fabs(spec.true_w[j]) * FLT_EPSILON * std::fabs(host.X[i * d + j]);
    EXPECT_LE(std::fabs(static_cast<double>(dev.y[i]) - host.y[i]), allowed) << "y[" << i << "]";
  }
  EXPECT_LE(x_mismatch, budget) << "X values differing by 1 ulp";
  EXPECT_LE(y_mismatch, budget + x_mismatch) << "labels differing";
}

// 1; 31/32/33; 255/256/257; 1023/1024/1025; an odd prime; a large case. Several have n·d + n odd
// (the generator then draws one extra uniform to complete the last Box-Muller pair).
INSTANTIATE_TEST_SUITE_P(GpuSizes, GpuData,
                         ::testing::Values(Dims{1, 1}, Dims{1, 2}, Dims{31, 1}, Dims{32, 2}, Dims{33, 3}, Dims{255, 2},
                                           Dims{256, 5}, Dims{257, 7}, Dims{1023, 3}, Dims{1024, 1}, Dims{1025, 9},
                                           Dims{100003, 3}, Dims{1 << 20, 16}),
                         [](const ::testing::TestParamInfo<Dims>& i) {
                           return std::to_string(i.param.n) + "x" + std::to_string(i.param.d);
                         });

}  // namespace
}  // namespace linreg

#else

// CPU-only build: the GPU tests do not exist; say so once.
TEST(GpuBuild, Skipped) { GTEST_SKIP() << "this build has no CUDA: the GPU tests are not compiled"; }

#endif
