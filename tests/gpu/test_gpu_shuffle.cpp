// The device permutation (thrust shuffle on a stream, stream-ordered temporary storage) equals
// host_permutation() — what the CPU trainer walks — for every size, seed and epoch tried, and is a
// permutation.
#if LINREG_HAVE_CUDA

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/shuffle.hpp"
#include "tests/gpu/gpu_test_util.hpp"

namespace linreg {
namespace {

class GpuShuffle : public ::testing::TestWithParam<int64_t> {};

TEST_P(GpuShuffle, DevicePermutationEqualsHostPermutation) {
  LINREG_REQUIRE_GPU();
  const int64_t n = GetParam();
  CudaStream stream;
  DeviceBuffer<uint32_t> d_perm(static_cast<size_t>(n));
  std::vector<uint32_t> dev(static_cast<size_t>(n)), host(static_cast<size_t>(n));
  for (uint64_t seed : {uint64_t{42}, uint64_t{7}}) {
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " epoch " + std::to_string(epoch));
      kern::device_permutation(n, seed, epoch, d_perm.data(), stream.get());
      d_perm.download(dev.data(), dev.size(), stream.get());
      LINREG_CHECK(cudaStreamSynchronize(stream.get()));
      host_permutation(n, seed, epoch, host.data());
      EXPECT_EQ(dev, host);
      std::vector<char> seen(static_cast<size_t>(n), 0);
      for (uint32_t v : dev) {
        ASSERT_LT(v, n);
        ASSERT_FALSE(seen[v]) << "index " << v << " twice";
        seen[v] = 1;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(GpuSizes, GpuShuffle,
                         ::testing::Values(1, 2, 31, 32, 33, 255, 256, 257, 1000, 1023, 1024, 1025, 100003,
                                           (1 << 20) + 7),
                         [](const ::testing::TestParamInfo<int64_t>& i) { return "n" + std::to_string(i.param); });

// Different epochs give different orders (n large enough that a collision would be a bug).
TEST(GpuShuffle, EpochsDiffer) {  // host only (CUDA build's host_permutation)
  std::vector<uint32_t> a(1000), b(1000);
  host_permutation(1000, 42, 0, a.data());
  host_permutation(1000, 42, 1, b.data());
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace linreg

#endif  // LINREG_HAVE_CUDA
