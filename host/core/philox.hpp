// Philox4x32-10, written once for the CPU loops and the CUDA kernels (LINREG_HD), and the exact
// way cuRAND's CURAND_RNG_PSEUDO_PHILOX4_32_10 generator lays its stream out.
//
// What Philox is. Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy
// as 1, 2, 3", SC'11) is a counter-based generator: it has no state to advance. A keyed bijection
// maps a 128-bit counter (four 32-bit words) and a 64-bit key (two words) to four 32-bit outputs,
// and the stream is simply the outputs for counter 0, 1, 2, ... Any element can be computed
// directly from its index, so a loop or a kernel can start anywhere and split the work freely.
// The bijection is ten rounds of: two 32x32->64-bit multiplications of counter words 0 and 2 by
// fixed constants, a swap of the words, and an xor of the high halves with the key, which is
// bumped by two Weyl constants (golden ratio, sqrt(3) - 1) between rounds.
//
// Why we carry our own. The synthetic dataset is drawn from uniforms. The GPU path gets them
// from cuRAND's device Philox generator (kernels/generate.cu). The CPU trainer must see the very
// same dataset, in CUDA builds without loading cuRAND just to draw it on the host, and in
// CPU-only builds, which have no cuRAND at all. With the algorithm here, host_uniforms()
// (host/core/dataset.cpp) reproduces cuRAND's numbers bit for bit in every build.
//
// cuRAND's layout, found by experiment against curandCreateGeneratorHost + curandGenerate /
// curandGenerateUniform (seed set with curandSetPseudoRandomGeneratorSeed, default ordering,
// offset 0; checked for seeds 0, 1, 42, 2^32+7, 2^64-1 and counts from 1 to 10^8, odd ones
// included, and once for 10^9 + 3 numbers; tests/cuda/test_philox_curand.cpp keeps checking it):
//   * key = (seed & 0xFFFFFFFF, seed >> 32);
//   * the stream is made of 4-word blocks; block j is Philox of the counter
//       (word0, word1, word2, word3) = (low and high 32 bits of j / 65536, j % 65536, 0),
//     as if 65536 threads each ran one subsequence t (counter words 2-3 = t) and the k-th
//     draws of all threads were stored side by side: output block j = k * 65536 + t, with
//     counter words 0-1 = k;
//   * output i is word i % 4 of block i / 4. The layout does not depend on the count asked for,
//     so the first k numbers of any longer request are the numbers of a request for k.
//   * curandGenerateUniform turns word x into float(x) * 2^-32 + 2^-33 computed in float:
//     never 0, and 1.0f for the largest words (float(x) rounds up to 2^32). Every step after
//     the int-to-float rounding is exact or a single rounding, so FMA contraction cannot change it.
#pragma once

#include <cstdint>

#include "host/core/hd.hpp"

namespace linreg {

// Four 32-bit words: a Philox counter or its output.
struct PhiloxWords {
  uint32_t w[4];
};

// A Philox4x32 key.
struct PhiloxKey {
  uint32_t k[2];
};

// Round multipliers and key increments (Weyl constants) of Philox4x32, from the paper.
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;
constexpr int kPhiloxRounds = 10;

// One Philox4x32 round on the counter words c0..c3 with round key (k0, k1), in place:
//   (hi0, lo0) = M0 * c0, (hi1, lo1) = M1 * c2,
//   (c0, c1, c2, c3) <- (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0).
// Separate words (not an array) so that a loop over many counters vectorises.
LINREG_HD void philox_round(uint32_t& c0, uint32_t& c1, uint32_t& c2, uint32_t& c3, uint32_t k0, uint32_t k1) {
  const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * c0;
  const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * c2;
  const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
  const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
  c1 = static_cast<uint32_t>(p1);
  c3 = static_cast<uint32_t>(p0);
  c0 = n0;
  c2 = n2;
}

// Philox4x32-10 of one counter under one key: ten rounds, the key bumped after each of the
// first nine (bumping after the tenth too, as here, is harmless: that key is not used).
LINREG_HD PhiloxWords philox4x32_10(PhiloxWords ctr, PhiloxKey key) {
  uint32_t c0 = ctr.w[0], c1 = ctr.w[1], c2 = ctr.w[2], c3 = ctr.w[3];
  uint32_t k0 = key.k[0], k1 = key.k[1];
  for (int r = 0; r < kPhiloxRounds; ++r) {
    philox_round(c0, c1, c2, c3, k0, k1);
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  PhiloxWords out;
  out.w[0] = c0;
  out.w[1] = c1;
  out.w[2] = c2;
  out.w[3] = c3;
  return out;
}

// --- cuRAND's stream (see the layout at the top of this file) -----------------------------------

// Number of subsequences cuRAND's Philox generator interleaves: output block j comes from
// subsequence j % 65536, draw j / 65536.
constexpr uint64_t kCurandPhiloxSubsequences = 65536;

// cuRAND's key for `seed`.
LINREG_HD PhiloxKey curand_philox_key(uint64_t seed) {
  PhiloxKey key;
  key.k[0] = static_cast<uint32_t>(seed);
  key.k[1] = static_cast<uint32_t>(seed >> 32);
  return key;
}

// The counter of cuRAND's output block j (outputs 4j .. 4j+3).
LINREG_HD PhiloxWords curand_philox_counter(uint64_t block) {
  const uint64_t draw = block / kCurandPhiloxSubsequences;
  PhiloxWords ctr;
  ctr.w[0] = static_cast<uint32_t>(draw);
  ctr.w[1] = static_cast<uint32_t>(draw >> 32);
  ctr.w[2] = static_cast<uint32_t>(block % kCurandPhiloxSubsequences);
  ctr.w[3] = 0;
  return ctr;
}

// cuRAND's uint32 -> float uniform: float(x) * 2^-32 + 2^-33, in (0, 1]; 1.0f for x >= 2^32 - 128.
LINREG_HD float curand_uniform_from_u32(uint32_t x) {
  return static_cast<float>(x) * 2.3283064365386963e-10f + 1.1641532182693481e-10f;  // 2^-32, 2^-33
}

// Raw word i of cuRAND's Philox stream for `seed` (what curandGenerate gives at position i).
// One whole block per call: for bulk output compute blocks, as host_uniforms() does.
LINREG_HD uint32_t curand_philox_u32_at(uint64_t seed, uint64_t i) {
  return philox4x32_10(curand_philox_counter(i / 4), curand_philox_key(seed)).w[i % 4];
}

}  // namespace linreg
