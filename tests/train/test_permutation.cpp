// Thrust-compatible permutations on the CPU: a permutation, deterministic, the same whether made
// on one thread, several, or streamed; equal to Thrust's algorithm re-derived here as a plain
// scalar loop (itself checked against values Thrust printed) for many sizes and seeds; and
// values pinned so that a change of algorithm (which would break CPU/GPU parity) cannot pass
// unnoticed. tests/cuda compares it with Thrust itself where the build has it.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
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

// thrust::shuffle(first, last, g) as CCCL 3.0 writes it (thrust/system/detail/generic/shuffle.inl),
// re-derived from that source one element at a time, sharing nothing with permutation.cpp:
//   g = thrust::default_random_engine(seed): minstd_rand, x ← 48271·x mod (2^31 − 1), seeded with
//       seed mod (2^31 − 1) (1 where that is 0); the 24 round keys are its first 24 outputs;
//   the bijection works on k bits, k = bit length of n − 1 (at least 4), split into a left half of
//   ⌊k/2⌋ bits and a right half of ⌈k/2⌉; each round, with M0 = 0xD2B74407B1CE6E93:
//       product = M0·left (mod 2^64), hi/lo its 32-bit halves,
//       lo ← (lo << (R − L)) | (right >> L),  left ← (hi ^ key ^ right) & left_mask,
//       right ← lo & right_mask;
//   the result is (left << R) | right; the output lists f(0), f(1), ... skipping values ≥ n.
std::vector<uint32_t> thrust_shuffle_reference(uint64_t n, uint32_t seed) {
  uint64_t x = seed % 2147483647u;
  if (x == 0) x = 1;
  uint32_t key[24];
  for (uint32_t& k : key) {
    x = (48271 * x) % 2147483647u;
    k = static_cast<uint32_t>(x);
  }
  uint64_t bits = 4;
  if (n > 16) {
    bits = 0;
    for (uint64_t m = n - 1; m != 0; m >>= 1) ++bits;
  }
  const uint64_t L = bits / 2, R = bits - L;
  const uint64_t left_mask = (uint64_t{1} << L) - 1, right_mask = (uint64_t{1} << R) - 1;
  std::vector<uint32_t> out;
  out.reserve(n);
  for (uint64_t v = 0; v < (uint64_t{1} << bits); ++v) {
    uint32_t left = static_cast<uint32_t>(v >> R), right = static_cast<uint32_t>(v & right_mask);
    for (uint32_t k : key) {
      const uint64_t product = UINT64_C(0xD2B74407B1CE6E93) * left;
      const uint32_t hi = static_cast<uint32_t>(product >> 32);
      uint32_t lo = static_cast<uint32_t>(product);
      lo = (lo << (R - L)) | (right >> L);
      left = static_cast<uint32_t>(((hi ^ k) ^ right) & left_mask);
      right = static_cast<uint32_t>(lo & right_mask);
    }
    const uint64_t f = (static_cast<uint64_t>(left) << R) | right;
    if (f < n) out.push_back(static_cast<uint32_t>(f));
  }
  return out;
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
  // small program built with nvcc 13.0 (CCCL 3.0) when this test was written. Both the twin and
  // the re-derivation above must give them.
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
    EXPECT_EQ(thrust_shuffle_reference(static_cast<uint64_t>(c.n), c.seed), c.thrust) << "reference, n " << c.n;
  }
}

TEST(ThrustCompatiblePermutation, EqualsTheReDerivedAlgorithm) {
  // Sizes around every boundary of the algorithm: the 16-element minimum domain, powers of two
  // ± 1 (where the cipher width changes), odd primes, the 64-lane blocks of the vectorised loop,
  // the 2^16 threshold of the threaded path, and one large case (10^6 + 3, a 2^20 domain); seeds
  // 0 (minstd's zero state becomes 1), 2^31 − 1 (≡ 0 as well) and others. Bit for bit, on one
  // thread and on three (the threaded path's slices).
  const std::vector<int64_t> sizes = {1,   2,   3,   15,  16,  17,   31,   32,   33,    63,    64,    65,
                                      127, 128, 129, 255, 256, 257,  1023, 1024, 1025,  4093,  4096,  4097,
                                      7919, 65535, 65536, 65537, 131071, 1000003};
  for (int64_t n : sizes)
    for (uint32_t seed : {0u, 1u, 2147483647u, 0x9E3779B9u}) {
      if (n > 200000 && seed != 1u) continue;  // one seed for the large case keeps the test fast
      const std::vector<uint32_t> ref = thrust_shuffle_reference(static_cast<uint64_t>(n), seed);
      ASSERT_EQ(static_cast<int64_t>(ref.size()), n);
      for (int threads : {1, 3}) {
        std::vector<uint32_t> p(static_cast<size_t>(n));
        thrust_compatible_permutation(n, seed, p.data(), threads);
        ASSERT_EQ(p, ref) << "n " << n << " seed " << seed << " threads " << threads;
      }
    }
}

TEST(ThrustCompatiblePermutation, PinnedLargeSizes) {
  // A regression pin for sizes past the Thrust-printed cases: the first and last entries for
  // 10^6 + 3 (seed 1) and 2^17 − 1 (seed 42), captured from thrust_shuffle_reference above (which
  // reproduces Thrust's printed values) when this test was written.
  struct Pin {
    int64_t n;
    uint32_t seed;
    std::vector<uint32_t> head, tail;
  };
  const Pin pins[] = {
      {1000003, 1u, {820849, 777909, 705830, 135079, 950796, 883867}, {181461, 603537, 212684, 300901, 79715, 756797}},
      {131071, 42u, {116917, 10743, 8607, 115593, 80645, 18869}, {40490, 63986, 55978, 101664, 61979, 92243}},
  };
  for (const Pin& pin : pins) {
    std::vector<uint32_t> p(static_cast<size_t>(pin.n));
    thrust_compatible_permutation(pin.n, pin.seed, p.data(), 2);
    EXPECT_EQ(std::vector<uint32_t>(p.begin(), p.begin() + 6), pin.head) << pin.n;
    EXPECT_EQ(std::vector<uint32_t>(p.end() - 6, p.end()), pin.tail) << pin.n;
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

// Runs fn on its own thread and reports whether it returned within `limit`. On a hang the thread
// is left behind (detached): the test fails instead of the whole suite stalling until its timeout.
template <class F>
bool finishes_within(std::chrono::seconds limit, F fn) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> f = done->get_future();
  std::thread([done, fn]() mutable {
    fn();
    done->set_value();
  }).detach();
  return f.wait_for(limit) == std::future_status::ready;
}

TEST(PermutationStream, CanBeAbandonedEarly) {
  // A stream destroyed before its consumer is done must stop its producer, not hang: destroyed
  // before anything was read, after one epoch, in the middle of one, and while the producer,
  // two epochs ahead, waits for the consumer. Each case finishes in milliseconds; 20 s is a hang.
  // What was read before giving up is the right permutation.
  const auto seconds = std::chrono::seconds(20);
  EXPECT_TRUE(finishes_within(seconds, [] {
    for (int i = 0; i < 10; ++i) PermutationStream s(200000, 1, 100);
  })) << "destroyed before any read";
  auto first_epoch_right = std::make_shared<std::atomic<bool>>(false);
  EXPECT_TRUE(finishes_within(seconds, [first_epoch_right] {
    PermutationStream s(50000, 1, 10);
    s.wait_for(0, 50000);
    std::vector<uint32_t> direct(50000);
    thrust_compatible_permutation(50000, shuffle_seed(1, 0), direct.data());
    first_epoch_right->store(std::equal(direct.begin(), direct.end(), s.epoch(0)));
    s.finish(0);
  })) << "destroyed after one epoch";
  EXPECT_TRUE(first_epoch_right->load());
  EXPECT_TRUE(finishes_within(seconds, [] {
    PermutationStream s(1 << 21, 3, 4);
    s.wait_for(0, 1000);  // mid-epoch: the producer is still writing epoch 0
  })) << "destroyed mid-epoch";
  EXPECT_TRUE(finishes_within(seconds, [] {
    // Both buffers full (epochs 0 and 1 ready, none finished): the producer is waiting for the
    // consumer to release epoch 0 before it may write epoch 2. The stop must reach that wait.
    PermutationStream s(1000, 5, 10);
    s.wait_for(0, 1000);
    s.wait_for(1, 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it reach the wait
  })) << "destroyed while the producer waits for the consumer";
}

}  // namespace
}  // namespace linreg
