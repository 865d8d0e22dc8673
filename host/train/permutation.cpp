#include "host/train/permutation.hpp"

#include <algorithm>

#include "host/core/formulas.hpp"
#include <thread>
#include <vector>

namespace linreg {
namespace {

constexpr int kRounds = 24;

// minstd_rand, as thrust::random::linear_congruential_engine<uint32_t, 48271, 0, 2^31 − 1>.
struct MinStdRand {
  explicit MinStdRand(uint32_t s) : x(s % 2147483647u == 0 ? 1u : s % 2147483647u) {}
  uint32_t operator()() {
    x = static_cast<uint32_t>((uint64_t{48271} * x) % 2147483647u);
    return x;
  }
  uint32_t x;
};

struct Feistel {
  uint32_t left_bits, right_bits, left_mask, right_mask;
  uint32_t key[kRounds];

  Feistel(uint64_t n, uint32_t seed) {
    uint32_t total = 4;
    if (n > 16) {
      total = 0;
      for (uint64_t m = n - 1; m != 0; m >>= 1) ++total;
    }
    left_bits = total / 2;
    right_bits = total - left_bits;
    left_mask = static_cast<uint32_t>((uint64_t{1} << left_bits) - 1);
    right_mask = static_cast<uint32_t>((uint64_t{1} << right_bits) - 1);
    MinStdRand g(seed);
    for (uint32_t& k : key) k = g();
  }
  uint64_t domain() const { return uint64_t{1} << (left_bits + right_bits); }
};

// f(base + lane) for kLanes consecutive inputs, as GCC/Clang vectors of 64-bit lanes (the
// inputs stay below 2^32, so Thrust's 64-bit product M0·s is exact and its low/high 32-bit
// halves are masks and shifts). Plain loops over lanes were not vectorised by GCC 12.
// kVecs independent vectors go through each round together: one vector's 24 rounds are a
// dependent chain (multiply → add → xor), so interleaving eight hides most of it.
constexpr int kVecs = 8;
constexpr int kLanes = 8 * kVecs;
typedef uint64_t V8 __attribute__((vector_size(64)));  // 8 lanes


inline void feistel_block(const Feistel& f, uint64_t base, uint32_t* out) {
  constexpr uint64_t kM0lo = 0xB1CE6E93u, kM0hi = 0xD2B74407u;  // M0 = 0xD2B74407B1CE6E93
  constexpr uint64_t k32 = 0xFFFFFFFFu;
  const uint64_t up = f.right_bits - f.left_bits, down = f.left_bits;
  const V8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
  V8 s0[kVecs], s1[kVecs];
  for (int v = 0; v < kVecs; ++v) {
    const V8 x = lane + (base + 8u * static_cast<uint64_t>(v));
    s0[v] = x >> f.right_bits;
    s1[v] = x & f.right_mask;
  }
  for (int r = 0; r < kRounds; ++r) {
    const uint64_t key = f.key[r];
    for (int v = 0; v < kVecs; ++v) {
      const V8 p = s0[v] * kM0lo;
      const V8 hi = ((p >> 32) + s0[v] * kM0hi) & k32;
      const V8 lo = ((p & k32) << up) | (s1[v] >> down);
      s0[v] = ((hi ^ key) ^ s1[v]) & f.left_mask;
      s1[v] = lo & f.right_mask;
    }
  }
  for (int v = 0; v < kVecs; ++v) {
    const V8 res = (s0[v] << f.right_bits) | s1[v];
    for (int l = 0; l < 8; ++l) out[8 * v + l] = static_cast<uint32_t>(res[l]);
  }
}

// Appends f(i) < n for i in [lo, hi) (hi − lo a multiple of kLanes) to out; returns the count.
int64_t emit_range(const Feistel& f, uint64_t n, uint64_t lo, uint64_t hi, uint32_t* out) {
  int64_t count = 0;
  uint32_t vals[kLanes];
  for (uint64_t base = lo; base < hi; base += kLanes) {
    feistel_block(f, base, vals);
    for (int l = 0; l < kLanes; ++l) {
      out[count] = vals[l];
      count += vals[l] < n;  // branch-free compaction
    }
  }
  return count;
}

// The whole permutation in order into out[0..n). When `progress` is given, publishes
// tag | entries-written (release) every few blocks so a reader can follow behind; gives up early
// when *stop becomes true.
void emit_all(const Feistel& f, uint64_t n, uint32_t* out, std::atomic<uint64_t>* progress, uint64_t tag,
              const std::atomic<bool>* stop) {
  const uint64_t domain = f.domain();
  // Branch-free compaction writes one slot past the last kept value; it is used only while at
  // least kLanes slots remain, and the end is finished with the checked loop.
  int64_t count = 0;
  const int64_t limit = static_cast<int64_t>(n);
  uint32_t vals[kLanes];
  uint64_t blocks = 0;
  for (uint64_t base = 0; base < domain; base += kLanes) {
    feistel_block(f, base, vals);
    if (count + kLanes <= limit && base + kLanes <= domain) {
      for (int l = 0; l < kLanes; ++l) {
        out[count] = vals[l];
        count += vals[l] < n;
      }
    } else {
      // Inputs base + l ≥ domain are not in the bijection's domain (domain 16 < kLanes).
      const int valid = static_cast<int>(std::min<uint64_t>(kLanes, domain - base));
      for (int l = 0; l < valid; ++l)
        if (vals[l] < n) out[count++] = vals[l];
    }
    if (progress && (++blocks & 31) == 0) {
      progress->store(tag | static_cast<uint64_t>(count), std::memory_order_release);
      if (stop && stop->load(std::memory_order_relaxed)) return;
    }
  }
  if (progress) progress->store(tag | static_cast<uint64_t>(count), std::memory_order_release);
}

}  // namespace

void thrust_compatible_permutation(int64_t n, uint32_t engine_seed, uint32_t* out, int threads) {
  if (n <= 0) return;
  const Feistel f(static_cast<uint64_t>(n), engine_seed);
  const uint64_t domain = f.domain();  // ≥ 16; ≥ 2^16 (a multiple of kLanes) on the parallel path
  const uint64_t un = static_cast<uint64_t>(n);
  if (threads <= 1 || n < (1 << 16)) {
    emit_all(f, static_cast<uint64_t>(n), out, nullptr, 0, nullptr);
    return;
  }
  // Parallel: each thread compacts its slice of the domain into a private buffer, then the
  // slices are concatenated in order (the order Thrust's scan gives).
  const int T = threads;
  std::vector<std::vector<uint32_t>> parts(static_cast<size_t>(T));
  std::vector<int64_t> counts(static_cast<size_t>(T));
  auto work = [&](int t) {
    const uint64_t blocks = domain / kLanes;
    const uint64_t lo = blocks * t / T * kLanes, hi = blocks * (t + 1) / T * kLanes;
    parts[t].resize(hi - lo + kLanes);
    counts[t] = emit_range(f, un, lo, hi, parts[t].data());
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < T; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  int64_t pos = 0;
  for (int t = 0; t < T; ++t) {
    std::copy(parts[t].begin(), parts[t].begin() + counts[t], out + pos);
    pos += counts[t];
  }
}

}  // namespace linreg

namespace linreg {

PermutationStream::PermutationStream(int64_t n, uint64_t seed, int64_t epochs) : n_(n), seed_(seed), epochs_(epochs) {
  for (auto& b : buffers_) b.resize(static_cast<size_t>(std::max<int64_t>(n, 1)));
  // Tags of "epoch −1": nothing ready yet for epochs 0 and 1.
  progress_[0].store(~uint64_t{0});
  progress_[1].store(~uint64_t{0});
  producer_ = std::thread([this] { produce(); });
}

PermutationStream::~PermutationStream() {
  stop_.store(true);
  producer_.join();
}

void PermutationStream::produce() {
  for (int64_t e = 0; e < epochs_; ++e) {
    // Buffer e & 1 held epoch e − 2: wait until the consumer has finished it.
    while (finished_.load(std::memory_order_acquire) < e - 1) {
      if (stop_.load(std::memory_order_relaxed)) return;
      std::this_thread::yield();
    }
    if (stop_.load(std::memory_order_relaxed)) return;
    const Feistel f(static_cast<uint64_t>(n_), shuffle_seed(seed_, e));
    emit_all(f, static_cast<uint64_t>(n_), buffers_[e & 1].data(), &progress_[e & 1], tag(e, 0), &stop_);
  }
}

void PermutationStream::wait_for(int64_t e, int64_t count) const {
  const uint64_t want_tag = tag(e, 0);
  const auto& p = progress_[e & 1];
  for (int spins = 0;; ++spins) {
    const uint64_t v = p.load(std::memory_order_acquire);
    if ((v >> 40) == (want_tag >> 40) && static_cast<int64_t>(v & ((uint64_t{1} << 40) - 1)) >= count) return;
    if (spins > 64) std::this_thread::yield();
  }
}

void PermutationStream::finish(int64_t e) { finished_.store(e + 1, std::memory_order_release); }

void host_permutation(int64_t n, uint64_t seed, int64_t epoch, uint32_t* out) {
  thrust_compatible_permutation(n, shuffle_seed(seed, epoch), out, 1);
}

uint32_t chunk_order_seed(uint64_t seed, int64_t epoch) {
  return static_cast<uint32_t>(splitmix64(shuffle_seed(seed, epoch) ^ 0x43484e4bull));  // "CHNK"
}

uint32_t chunk_rows_seed(uint64_t seed, int64_t epoch, int64_t chunk) {
  // Chunk 0 takes the in-memory epoch's seed, so that one chunk is the in-memory permutation.
  if (chunk == 0) return shuffle_seed(seed, epoch);
  return static_cast<uint32_t>(splitmix64(shuffle_seed(seed, epoch) + static_cast<uint64_t>(chunk)));
}

void two_level_permutation(int64_t n, int64_t chunk_rows, uint64_t seed, int64_t epoch, uint32_t* out) {
  const int64_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<uint32_t> order(static_cast<size_t>(chunks)), rows;
  if (chunks == 1) order[0] = 0;
  else thrust_compatible_permutation(chunks, chunk_order_seed(seed, epoch), order.data());
  int64_t at = 0;
  for (uint32_t k : order) {
    const int64_t r0 = static_cast<int64_t>(k) * chunk_rows, m = std::min(chunk_rows, n - r0);
    rows.resize(static_cast<size_t>(m));
    thrust_compatible_permutation(m, chunk_rows_seed(seed, epoch, k), rows.data());
    for (int64_t i = 0; i < m; ++i) out[at++] = static_cast<uint32_t>(r0 + rows[static_cast<size_t>(i)]);
  }
}

}  // namespace linreg
