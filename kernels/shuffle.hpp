// Per-epoch row permutations. The device one runs thrust's shuffle (a Feistel bijection plus a
// scan) on a stream, with thrust::default_random_engine(shuffle_seed(seed, epoch)); the host
// one, host_permutation() in host/train/trainer.hpp, is host/permutation.cpp's vectorised copy of the
// same algorithm (Thrust's generic host path is ~40x slower), so both backends walk the same
// minibatches. Launchers only: no __global__ here.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace linreg::kern {

// d_out[0..n) ← epoch `epoch`'s permutation of 0..n−1 for `seed`, enqueued on `stream`
// (no host synchronisation). Thrust's temporary storage comes from the device's stream-ordered
// memory pool (cudaMallocAsync), kept cached so that no call reaches cudaMalloc after the first.
void device_permutation(int64_t n, uint64_t seed, int64_t epoch, uint32_t* d_out, cudaStream_t stream);

// The same with the engine's seed given: thrust's shuffle of 0..n−1 for default_random_engine
// (engine_seed), as host/train/permutation.hpp's thrust_compatible_permutation makes it (the
// two-level shuffle of streamed epochs seeds each chunk's shuffle itself).
void device_permutation_seeded(int64_t n, uint32_t engine_seed, uint32_t* d_out, cudaStream_t stream);

// thrust::shuffle(thrust::host, iota(n), default_random_engine(engine_seed)): the reference for
// host/permutation.cpp's thrust_compatible_permutation (host only, no GPU needed).
void thrust_host_permutation(int64_t n, uint32_t engine_seed, uint32_t* out);

}  // namespace linreg::kern
