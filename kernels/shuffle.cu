// Epoch permutations with thrust::shuffle, on the device and on the host, same engine and seed.
//
// thrust::shuffle(first, last, g) is implemented (thrust/system/detail/generic/shuffle.inl) as a
// temporary copy of [first, last) followed by thrust::shuffle_copy(copy → first, g): a 24-round
// Feistel bijection keyed by g() over the next power of two, compacted to [0, n) by one
// inclusive scan. On the device we call shuffle_copy straight from a counting iterator, which is
// the same computation minus the sequence fill and the temporary copy (identical output); the
// host calls thrust::shuffle itself on an iota. tests/gpu/test_gpu_shuffle.cpp binds the two.
#include "kernels/shuffle.hpp"

#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/random.h>
#include <thrust/shuffle.h>
#include <thrust/system/cuda/execution_policy.h>

#include <cstddef>
#include <numeric>

#include "host/core/formulas.hpp"
#include "host/train/trainer.hpp"
#include "kernels/cuda_check.hpp"

namespace linreg {

namespace kern {

namespace {

// Thrust temporary-storage allocator over the stream-ordered pool: allocation and free are
// enqueued on the algorithm's stream, and the pool keeps the memory (release threshold raised
// below), so repeated shuffles reuse it without cudaMalloc or any device synchronisation.
class StreamOrderedAllocator {
 public:
  using value_type = char;
  explicit StreamOrderedAllocator(cudaStream_t s) : stream_(s) {}
  char* allocate(std::ptrdiff_t bytes) {
    void* p = nullptr;
    LINREG_CHECK(cudaMallocAsync(&p, static_cast<size_t>(bytes), stream_));
    return static_cast<char*>(p);
  }
  void deallocate(char* p, size_t) noexcept {
    // Called from thrust's destructors: must not throw. A failure here would only leak.
    cudaFreeAsync(p, stream_);
  }

 private:
  cudaStream_t stream_;
};

// Keep freed blocks in the device's default pool instead of returning them to the driver at
// each synchronisation (the default threshold, 0, would make every epoch's scan re-allocate).
void keep_pool_memory() {
  int device = 0;
  LINREG_CHECK(cudaGetDevice(&device));
  cudaMemPool_t pool = nullptr;
  LINREG_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = UINT64_MAX;
  LINREG_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
}

}  // namespace

void device_permutation(int64_t n, uint64_t seed, int64_t epoch, uint32_t* d_out, cudaStream_t stream) {
  device_permutation_seeded(n, shuffle_seed(seed, epoch), d_out, stream);
}

void device_permutation_seeded(int64_t n, uint32_t engine_seed, uint32_t* d_out, cudaStream_t stream) {
  if (n <= 0) return;
  keep_pool_memory();
  StreamOrderedAllocator alloc(stream);
  thrust::default_random_engine engine(engine_seed);
  thrust::counting_iterator<uint32_t> first(0);
  // par_nosync: thrust must not synchronise the stream after the algorithm (no host sync
  // inside an epoch); errors are still reported by the launches themselves.
  thrust::shuffle_copy(thrust::cuda::par_nosync(alloc).on(stream), first, first + n, d_out, engine);
  LINREG_CHECK_LAUNCH();
}

}  // namespace kern

namespace kern {

// Thrust's own host shuffle: the reference that host/permutation.cpp's fast twin is tested
// against (tests/test_permutation_thrust.cpp; runs without a GPU).
void thrust_host_permutation(int64_t n, uint32_t engine_seed, uint32_t* out) {
  if (n <= 0) return;
  std::iota(out, out + n, uint32_t{0});
  thrust::default_random_engine engine(engine_seed);
  thrust::shuffle(thrust::host, out, out + n, engine);
}

}  // namespace kern

}  // namespace linreg
