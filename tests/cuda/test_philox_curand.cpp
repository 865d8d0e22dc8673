// host_uniforms() (our Philox4x32-10, host/core/philox.hpp) against cuRAND itself: the host
// generator CURAND_RNG_PSEUDO_PHILOX4_32_10, seeded as kernels/generate.cu seeds the device one
// (seed only, default ordering, offset 0), bit for bit, for many seeds and counts. The host
// generator needs no GPU, so these run on any machine of a CUDA build.
#if LINREG_HAVE_CUDA

#include <curand.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/core/philox.hpp"

namespace linreg {
namespace {

const uint64_t kSeeds[] = {0, 1, 42, (uint64_t{1} << 32) + 7, 0xFFFFFFFFFFFFFFFFull, 0x123456789ABCDEF0ull,
                           0x8000000000000000ull};
// Small, odd, around block (4 words), tile (64 blocks) and subsequence-wrap (65536 blocks) edges.
const int64_t kCounts[] = {1,    2,    3,    4,    5,      7,      63,     64,     65,    255,
                           256,  257,  258,  259,  1000,   4099,   262143, 262144, 262145, 262147,
                           (int64_t{1} << 20) + 3};

// Owns a cuRAND host generator; the destroy status is checked too.
struct HostGenerator {
  curandGenerator_t g = nullptr;
  ~HostGenerator() {
    if (g) {
      EXPECT_EQ(curandDestroyGenerator(g), CURAND_STATUS_SUCCESS);
    }
  }
};

void make_generator(uint64_t seed, HostGenerator* gen) {
  ASSERT_EQ(curandCreateGeneratorHost(&gen->g, CURAND_RNG_PSEUDO_PHILOX4_32_10), CURAND_STATUS_SUCCESS);
  ASSERT_EQ(curandSetPseudoRandomGeneratorSeed(gen->g, seed), CURAND_STATUS_SUCCESS);
}

void curand_uniforms(uint64_t seed, int64_t count, std::vector<float>* out) {
  HostGenerator gen;
  ASSERT_NO_FATAL_FAILURE(make_generator(seed, &gen));
  out->assign(static_cast<size_t>(count), -1.0f);
  ASSERT_EQ(curandGenerateUniform(gen.g, out->data(), static_cast<size_t>(count)), CURAND_STATUS_SUCCESS);
}

void curand_words(uint64_t seed, int64_t count, std::vector<uint32_t>* out) {
  HostGenerator gen;
  ASSERT_NO_FATAL_FAILURE(make_generator(seed, &gen));
  out->assign(static_cast<size_t>(count), 0u);
  ASSERT_EQ(curandGenerate(gen.g, out->data(), static_cast<size_t>(count)), CURAND_STATUS_SUCCESS);
}

// Index of the first differing float (by bits), or -1.
int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return static_cast<int64_t>(i);
  return -1;
}

void expect_uniforms_match(uint64_t seed, int64_t count) {
  std::vector<float> ref;
  ASSERT_NO_FATAL_FAILURE(curand_uniforms(seed, count, &ref));
  std::vector<float> got(static_cast<size_t>(count), -2.0f);
  host_uniforms(seed, got.data(), count);
  const int64_t i = first_difference(got, ref);
  EXPECT_EQ(i, -1) << "seed " << seed << " count " << count << ": first difference at " << i << ", ours "
                   << (i >= 0 ? got[static_cast<size_t>(i)] : 0.0f) << ", cuRAND "
                   << (i >= 0 ? ref[static_cast<size_t>(i)] : 0.0f);
}

TEST(PhiloxCurand, UniformsEqualCurandGenerateUniform) {
  for (uint64_t seed : kSeeds)
    for (int64_t count : kCounts) ASSERT_NO_FATAL_FAILURE(expect_uniforms_match(seed, count));
}

// Many draws of each of the 65536 subsequences, with a ragged tail.
TEST(PhiloxCurand, UniformsEqualCurandForALargeCount) {
  ASSERT_NO_FATAL_FAILURE(expect_uniforms_match(42, (int64_t{1} << 24) + 1));
  ASSERT_NO_FATAL_FAILURE(expect_uniforms_match(0xFFFFFFFFFFFFFFFFull, 10000003));
}

TEST(PhiloxCurand, RawWordsEqualCurandGenerate) {
  for (uint64_t seed : kSeeds) {
    for (int64_t count : {int64_t{1}, int64_t{3}, int64_t{5}, int64_t{4099}, (int64_t{1} << 20) + 3}) {
      std::vector<uint32_t> ref;
      ASSERT_NO_FATAL_FAILURE(curand_words(seed, count, &ref));
      const PhiloxKey key = curand_philox_key(seed);
      for (int64_t i = 0; i < count; i += 4) {
        const PhiloxWords x = philox4x32_10(curand_philox_counter(static_cast<uint64_t>(i / 4)), key);
        for (int64_t w = 0; w < 4 && i + w < count; ++w)
          ASSERT_EQ(x.w[w], ref[static_cast<size_t>(i + w)]) << "seed " << seed << " count " << count << " index "
                                                              << i + w;
      }
      // The one-element reference agrees as well, at the ends.
      EXPECT_EQ(curand_philox_u32_at(seed, 0), ref.front());
      EXPECT_EQ(curand_philox_u32_at(seed, static_cast<uint64_t>(count - 1)), ref.back());
    }
  }
}

// curandGenerateUniform is our conversion applied to curandGenerate's words.
TEST(PhiloxCurand, UniformIsConversionOfRawWords) {
  const int64_t count = 262147;
  std::vector<uint32_t> words;
  std::vector<float> uniforms;
  ASSERT_NO_FATAL_FAILURE(curand_words(42, count, &words));
  ASSERT_NO_FATAL_FAILURE(curand_uniforms(42, count, &uniforms));
  for (int64_t i = 0; i < count; ++i) {
    const float u = curand_uniform_from_u32(words[static_cast<size_t>(i)]);
    ASSERT_EQ(std::memcmp(&u, &uniforms[static_cast<size_t>(i)], sizeof u), 0) << i;
  }
}

}  // namespace
}  // namespace linreg

#endif  // LINREG_HAVE_CUDA
