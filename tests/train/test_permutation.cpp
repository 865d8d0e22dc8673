// Thrust-compatible permutations on the CPU: a permutation, deterministic, the same whether made
// on one thread, several, or streamed; and fixed values pinned so that a change of algorithm
// (which would break CPU/GPU parity) cannot pass unnoticed. tests/gpu compares it with Thrust.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <thread>

#include "host/core/formulas.hpp"
#include "host/train/permutation.hpp"

namespace linreg {
namespace {

bool is_permutation_of_iota(std::vector<uint32_t> p) {
  std::sort(p.begin(), p.end());
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != i) return false;
  return true;
}

TEST(ThrustCompatiblePermutation, IsAPermutationForEverySize) {
  for (int64_t n : {1, 2, 15, 16, 17, 31, 32, 33, 255, 256, 257, 1023, 1024, 1025, 65537, 100003}) {
    std::vector<uint32_t> p(static_cast<size_t>(n));
    thrust_compatible_permutation(n, 12345u, p.data());
    EXPECT_TRUE(is_permutation_of_iota(p)) << n;
  }
}

TEST(ThrustCompatiblePermutation, ThreadsDoNotChangeTheResult) {
  for (int64_t n : {65536, 65537, 1000003}) {
    std::vector<uint32_t> one(static_cast<size_t>(n)), two(static_cast<size_t>(n)), four(static_cast<size_t>(n));
    thrust_compatible_permutation(n, 7u, one.data(), 1);
    thrust_compatible_permutation(n, 7u, two.data(), 2);
    thrust_compatible_permutation(n, 7u, four.data(), 4);
    EXPECT_EQ(one, two);
    EXPECT_EQ(one, four);
  }
}

TEST(ThrustCompatiblePermutation, PinnedValues) {
  // thrust::shuffle(thrust::host, iota(n), thrust::default_random_engine(seed)) printed by a
  // small program built with nvcc 13.0 (CCCL 3.0) when this test was written.
  struct Case {
    int64_t n;
    uint32_t seed;
    std::vector<uint32_t> thrust;
  };
  const Case cases[] = {
      {10, 1u, {4, 2, 5, 1, 0, 9, 7, 8, 6, 3}},
      {20, 5u, {11, 0, 19, 13, 3, 1, 5, 8, 12, 10, 7, 15, 14, 9, 16, 6, 18, 4, 2, 17}},
      {40, 4294967295u, {21, 26, 35, 11, 3, 12, 9, 19, 15, 8, 25, 1, 6, 14, 37, 4, 2, 34, 7, 0,
                         38, 29, 13, 17, 31, 27, 22, 24, 16, 33, 36, 20, 5, 32, 39, 30, 18, 28, 10, 23}},
  };
  for (const auto& c : cases) {
    std::vector<uint32_t> p(static_cast<size_t>(c.n));
    thrust_compatible_permutation(c.n, c.seed, p.data());
    EXPECT_EQ(p, c.thrust) << "n " << c.n << " seed " << c.seed;
  }
}

TEST(PermutationStream, MatchesTheDirectPermutations) {
  for (int64_t n : {1, 1000, 16384, 100003}) {
    const int64_t epochs = 5;
    PermutationStream stream(n, 42, epochs);
    for (int64_t e = 0; e < epochs; ++e) {
      std::vector<uint32_t> direct(static_cast<size_t>(n));
      thrust_compatible_permutation(n, shuffle_seed(42, e), direct.data());
      // Read it in pieces, as the trainer does.
      for (int64_t k = 0; k < n; k += 997) {
        const int64_t upto = std::min(n, k + 997);
        stream.wait_for(e, upto);
        for (int64_t i = k; i < upto; ++i) ASSERT_EQ(stream.epoch(e)[i], direct[i]) << n << " " << e << " " << i;
      }
      stream.finish(e);
    }
  }
}

TEST(PermutationStream, CanBeAbandonedEarly) {
  // Destroyed before the consumer read anything: the producer must stop, not hang.
  for (int i = 0; i < 10; ++i) PermutationStream s(200000, 1, 100);
  PermutationStream s(50000, 1, 10);
  s.wait_for(0, 50000);
  s.finish(0);
}

}  // namespace
}  // namespace linreg
