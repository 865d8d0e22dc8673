// Epoch permutations: the very algorithm thrust::shuffle uses (thrust/system/detail/generic/
// shuffle.inl, CCCL 3.0), written out so that the CPU gets Thrust's permutation without Thrust's
// generic host path, which takes ~19 ms for 10⁵ rows and ~0.4 s for 10⁶ on one core here.
//
// thrust::shuffle(first, last, g) with n = last − first:
//   keys[0..24) = 24 draws of g (thrust::default_random_engine = minstd_rand);
//   a 24-round Feistel bijection f on [0, 2^k), 2^k the next power of two ≥ n (≥ 16);
//   the output is f(0), f(1), ... in order, skipping values ≥ n.
// The device path calls thrust itself; tests (CUDA builds) check this twin matches
// thrust::shuffle on the host and the device bit for bit.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace linreg {

// Writes Thrust's shuffle of 0..n-1 for engine seed `engine_seed` into out[0..n).
// Uses up to `threads` threads (the bijection is evaluated in parallel blocks).
void thrust_compatible_permutation(int64_t n, uint32_t engine_seed, uint32_t* out, int threads = 1);

// The permutations of epochs 0..epochs-1 (engine seed shuffle_seed(seed, e)), produced on a
// background thread at most two epochs ahead, and readable while they are being written: the
// trainer's single-threaded small-batch loop waits only for the entries it is about to use, so
// making the permutation (~0.5 ms for 10⁵ rows) overlaps the training instead of preceding it.
class PermutationStream {
 public:
  PermutationStream(int64_t n, uint64_t seed, int64_t epochs);
  ~PermutationStream();
  PermutationStream(const PermutationStream&) = delete;
  PermutationStream& operator=(const PermutationStream&) = delete;

  // Epoch e's buffer; entries [0, count) may be read once wait_for(e, count) returned.
  const uint32_t* epoch(int64_t e) const { return buffers_[static_cast<size_t>(e & 1)].data(); }
  void wait_for(int64_t e, int64_t count) const;
  // The consumer is done with epoch e: its buffer may be reused for epoch e + 2.
  void finish(int64_t e);

 private:
  void produce();
  static uint64_t tag(int64_t e, int64_t count) { return (static_cast<uint64_t>(e) << 40) | static_cast<uint64_t>(count); }

  int64_t n_;
  uint64_t seed_;
  int64_t epochs_;
  std::vector<uint32_t> buffers_[2];
  std::atomic<uint64_t> progress_[2];  // (epoch << 40) | entries ready
  std::atomic<int64_t> finished_{0};   // epochs the consumer is done with
  std::atomic<bool> stop_{false};
  std::thread producer_;
};

// The epoch permutation both backends walk: Thrust's shuffle of 0..n-1 seeded with
// shuffle_seed(seed, epoch) — the permutation the device computes with thrust::shuffle.
void host_permutation(int64_t n, uint64_t seed, int64_t epoch, uint32_t* out);

// The two-level shuffle of data streamed in chunks (rows [k·C, min(n, (k+1)·C)) form chunk k):
// epoch e visits the chunks in the order of Thrust's shuffle of 0..K-1 (engine seed
// chunk_order_seed), and the rows of chunk k in the order of Thrust's shuffle of its m_k rows
// (engine seed chunk_rows_seed(seed, e, k)). Minibatches are consecutive entries of that order,
// as in memory, so a batch may span two chunks. With one chunk it is host_permutation.
uint32_t chunk_order_seed(uint64_t seed, int64_t epoch);
uint32_t chunk_rows_seed(uint64_t seed, int64_t epoch, int64_t chunk);
// The whole epoch's order as row indices (tests: feed it to fit_with_permutations).
void two_level_permutation(int64_t n, int64_t chunk_rows, uint64_t seed, int64_t epoch, uint32_t* out);

}  // namespace linreg
