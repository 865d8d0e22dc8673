// Our Philox4x32-10 (host/core/philox.hpp) and host_uniforms(), in every build: the published
// known-answer vectors of the algorithm, cuRAND's uint32 -> float conversion and counter layout,
// values of cuRAND's stream pinned as a regression guard, and that the fast tiled loop of
// host_uniforms() gives the same numbers as the one-element reference for every count.
// tests/cuda/test_philox_curand.cpp compares with cuRAND itself where the build has it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/core/philox.hpp"

namespace linreg {
namespace {

uint32_t float_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

void expect_words(const PhiloxWords& got, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  EXPECT_EQ(got.w[0], a);
  EXPECT_EQ(got.w[1], b);
  EXPECT_EQ(got.w[2], c);
  EXPECT_EQ(got.w[3], d);
}

// The known-answer vectors published with the algorithm (Random123's kat_vectors, philox4x32 with
// 10 rounds): counter, key -> output.
TEST(Philox, KnownAnswerVectors) {
  expect_words(philox4x32_10(PhiloxWords{{0u, 0u, 0u, 0u}}, PhiloxKey{{0u, 0u}}),  //
               0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u);
  expect_words(philox4x32_10(PhiloxWords{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                             PhiloxKey{{0xffffffffu, 0xffffffffu}}),
               0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
  expect_words(philox4x32_10(PhiloxWords{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                             PhiloxKey{{0xa4093822u, 0x299f31d0u}}),
               0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

// cuRAND's conversion: float(x) · 2^-32 + 2^-33 in float. Never 0; 1.0f exactly from the word
// where float(x) rounds up to 2^32 (x >= 2^32 - 128, ties to even); below that, below 1.
TEST(Philox, UniformConversionRange) {
  EXPECT_EQ(curand_uniform_from_u32(0u), 0x1p-33f);
  EXPECT_GT(curand_uniform_from_u32(0u), 0.0f);
  EXPECT_EQ(curand_uniform_from_u32(1u), 0x1p-32f + 0x1p-33f);
  EXPECT_EQ(curand_uniform_from_u32(0x80000000u), 0.5f);  // 2^-33 is below half an ulp of 0.5
  EXPECT_LT(curand_uniform_from_u32(0xFFFFFF7Fu), 1.0f);
  EXPECT_EQ(curand_uniform_from_u32(0xFFFFFF7Fu), 1.0f - 0x1p-24f);
  EXPECT_EQ(curand_uniform_from_u32(0xFFFFFF80u), 1.0f);
  EXPECT_EQ(curand_uniform_from_u32(0xFFFFFFFFu), 1.0f);
  // In (0, 1] and non-decreasing in x over a sweep of the whole range.
  float prev = 0.0f;
  for (uint64_t x = 0; x <= 0xFFFFFFFFull; x += 65521) {
    const float u = curand_uniform_from_u32(static_cast<uint32_t>(x));
    ASSERT_GT(u, 0.0f) << x;
    ASSERT_LE(u, 1.0f) << x;
    ASSERT_GE(u, prev) << x;
    prev = u;
  }
}

// Block j of cuRAND's stream is subsequence j % 65536 (counter word 2), draw j / 65536 (words 0-1);
// the key is the seed's low and high words.
TEST(Philox, CurandCounterLayoutAndKey) {
  expect_words(curand_philox_counter(0), 0, 0, 0, 0);
  expect_words(curand_philox_counter(1), 0, 0, 1, 0);
  expect_words(curand_philox_counter(65535), 0, 0, 65535, 0);
  expect_words(curand_philox_counter(65536), 1, 0, 0, 0);
  expect_words(curand_philox_counter(65536 * 3 + 7), 3, 0, 7, 0);
  expect_words(curand_philox_counter((uint64_t{1} << 48) + 5), 0, 1, 5, 0);
  const PhiloxKey k = curand_philox_key(0x0123456789ABCDEFull);
  EXPECT_EQ(k.k[0], 0x89ABCDEFu);
  EXPECT_EQ(k.k[1], 0x01234567u);
}

// Values of cuRAND's stream for seed 42, captured from cuRAND's host generator
// (curandCreateGeneratorHost, CURAND_RNG_PSEUDO_PHILOX4_32_10, CUDA 13.0): curandGenerate for the
// words, curandGenerateUniform for the floats. A regression pin: they must never change, or the
// CPU and GPU paths stop drawing the same data. Indices 262143/262144 straddle the first wrap of
// the 65536 subsequences (block 65536 is draw 1 of subsequence 0).
struct Pin {
  int64_t index;
  uint32_t word;
  float uniform;
};
constexpr Pin kSeed42[] = {
    {0, 0x9ceaf053u, 0x1.39d5ep-1f},        {1, 0x77f5493bu, 0x1.dfd524p-2f},
    {2, 0x12bf50adu, 0x1.2bf50ap-4f},       {3, 0x5742b3d7u, 0x1.5d0adp-2f},
    {4, 0x02933769u, 0x1.499bb4p-7f},       {5, 0x2051e913u, 0x1.028f48p-3f},
    {6, 0x3b68b038u, 0x1.db4582p-3f},       {7, 0xb62c409cu, 0x1.6c5882p-1f},
    {262143, 0x6ff67ed4u, 0x1.bfd9fcp-2f},  {262144, 0xfcdb2127u, 0x1.f9b642p-1f},
    {262145, 0x53ba6cfdu, 0x1.4ee9b4p-2f},  {1048578, 0x529f4963u, 0x1.4a7d26p-2f},
};

TEST(Philox, PinnedCurandValuesForSeed42) {
  const int64_t count = (int64_t{1} << 20) + 3;
  std::vector<float> u(static_cast<size_t>(count));
  host_uniforms(42, u.data(), count);
  for (const Pin& p : kSeed42) {
    EXPECT_EQ(curand_philox_u32_at(42, static_cast<uint64_t>(p.index)), p.word) << "index " << p.index;
    EXPECT_EQ(float_bits(curand_uniform_from_u32(p.word)), float_bits(p.uniform)) << "index " << p.index;
    EXPECT_EQ(float_bits(u[static_cast<size_t>(p.index)]), float_bits(p.uniform)) << "index " << p.index;
  }
  // A short request gives the same leading values.
  float three[3];
  host_uniforms(42, three, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(float_bits(three[i]), float_bits(kSeed42[i].uniform)) << i;
}

// The tiled loop of host_uniforms() equals the element-by-element reference for every count
// around its tile and block boundaries, and for several seeds.
TEST(Philox, HostUniformsEqualsElementwiseReference) {
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{42}, (uint64_t{1} << 32) + 7, ~uint64_t{0}}) {
    for (int64_t count : {1, 2, 3, 4, 5, 7, 63, 64, 65, 255, 256, 257, 258, 259, 1000, 4099, 262147}) {
      std::vector<float> u(static_cast<size_t>(count));
      host_uniforms(seed, u.data(), count);
      for (int64_t i = 0; i < count; ++i) {
        const float ref = curand_uniform_from_u32(curand_philox_u32_at(seed, static_cast<uint64_t>(i)));
        ASSERT_EQ(float_bits(u[static_cast<size_t>(i)]), float_bits(ref))
            << "seed " << seed << " count " << count << " index " << i;
      }
    }
  }
}

// cuRAND's layout does not depend on the count requested, so neither does ours: the first k
// numbers of a request for m equal a request for k.
TEST(Philox, PrefixConsistency) {
  const int64_t m = (int64_t{1} << 20) + 3;
  std::vector<float> all(static_cast<size_t>(m));
  host_uniforms(42, all.data(), m);
  for (int64_t k : {1, 3, 4, 5, 255, 256, 257, 1000, 4099, 262143, 262145}) {
    std::vector<float> part(static_cast<size_t>(k));
    host_uniforms(42, part.data(), k);
    ASSERT_EQ(std::memcmp(part.data(), all.data(), static_cast<size_t>(k) * sizeof(float)), 0) << k;
  }
}

// Every value lies in (0, 1], and different seeds give different streams.
TEST(Philox, HostUniformsRangeAndSeedDependence) {
  const int64_t count = 1 << 20;
  std::vector<float> a(static_cast<size_t>(count)), b(static_cast<size_t>(count));
  host_uniforms(7, a.data(), count);
  host_uniforms(8, b.data(), count);
  double sum = 0;
  int64_t same = 0;
  for (int64_t i = 0; i < count; ++i) {
    ASSERT_GT(a[i], 0.0f) << i;
    ASSERT_LE(a[i], 1.0f) << i;
    sum += a[i];
    same += a[i] == b[i];
  }
  EXPECT_NEAR(sum / count, 0.5, 0.002);
  EXPECT_LT(same, 16);
}

TEST(Philox, NonPositiveCountWritesNothing) {
  float sentinel[2] = {-1.0f, -1.0f};
  host_uniforms(42, sentinel, 0);
  host_uniforms(42, sentinel, -5);
  EXPECT_EQ(sentinel[0], -1.0f);
  EXPECT_EQ(sentinel[1], -1.0f);
}

}  // namespace
}  // namespace linreg
