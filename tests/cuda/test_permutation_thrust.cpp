// CUDA builds: host/train/permutation.cpp's fast twin equals thrust::shuffle on thrust::host, bit for
// bit, for many sizes and seeds. Runs without a GPU (Thrust's host system needs none).
#include <gtest/gtest.h>

#if LINREG_HAVE_CUDA
#include <vector>

#include "host/train/permutation.hpp"
#include "kernels/shuffle.hpp"

namespace linreg {
namespace {

TEST(ThrustCompatiblePermutation, EqualsThrustHostShuffle) {
  for (int64_t n : {1, 2, 3, 15, 16, 17, 31, 32, 33, 255, 256, 257, 1000, 1023, 1024, 1025, 65536, 100003, 1048583})
    for (uint32_t seed : {0u, 1u, 42u, 2147483646u, 2147483647u, 4294967295u}) {
      std::vector<uint32_t> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n)), par(static_cast<size_t>(n));
      kern::thrust_host_permutation(n, seed, ref.data());
      thrust_compatible_permutation(n, seed, got.data(), 1);
      thrust_compatible_permutation(n, seed, par.data(), 2);
      ASSERT_EQ(ref, got) << "n " << n << " seed " << seed;
      ASSERT_EQ(ref, par) << "n " << n << " seed " << seed;
    }
}

}  // namespace
}  // namespace linreg
#else
TEST(ThrustCompatiblePermutation, EqualsThrustHostShuffle) { GTEST_SKIP() << "CPU-only build: no Thrust to compare with"; }
#endif
