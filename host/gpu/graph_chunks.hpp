// How the fused strategy cuts an epoch into CUDA graphs of bounded size. Plain C++, tested on the
// CPU (tests/kernels/test_launch_limits.cpp).
//
// Why: a graph with one or two kernel nodes per step grows with the step count — 10M rows at
// batch 10 is a million steps, and capturing and instantiating such a graph takes seconds of host
// time and gigabytes of memory. Kernel arguments (here: where a step's rows start in the
// permutation) are fixed when a graph is captured, so the same graph cannot simply be replayed
// for the next steps. Instead:
//   - a "chunk" graph of K full steps reads its rows from a staging buffer of K·batch permutation
//     entries at fixed offsets; before each replay the host enqueues one device-to-device copy of
//     the next K·batch entries of the epoch's permutation into that buffer (stream-ordered: the
//     copy waits for the previous replay, the replay for the copy; no host synchronisation);
//   - a "tail" graph runs the epoch's remaining 1..K steps (the last one may be short) straight
//     from the permutation.
// Each step sees the same rows in the same order, with the same launch geometry, as one graph of
// every step would: the result is bit-identical, and at most two graphs of ≤ max_nodes nodes
// exist at any time.
#pragma once

#include <algorithm>
#include <cstdint>

namespace linreg::gpu_rule {

// Kernel nodes per graph. One fused step is one or two kernels; a 4096-node graph instantiates in
// milliseconds, and one cudaGraphLaunch (a few µs) per ≥ 2048 steps of ≥ 1 µs each is noise.
constexpr int64_t kGraphMaxNodes = 4096;

struct GraphChunks {
  int64_t steps_per_chunk = 0;  // K: full steps per chunk graph
  int64_t full_chunks = 0;      // replays of the chunk graph per epoch (0: the tail graph alone)
  int64_t tail_first_step = 0;  // first step of the tail graph
  int64_t tail_steps = 0;       // steps in the tail graph, 1..K (0 only when steps == 0)
  int64_t stage_entries = 0;    // permutation entries the staging buffer holds (0: none needed)
};

// steps: the epoch's steps (ceil(n / batch)); batch: rows of a full step; nodes_per_step: the
// most kernel nodes one step captures (1 or 2); max_nodes: the cap (≥ nodes_per_step).
constexpr GraphChunks graph_chunks(int64_t steps, int64_t batch, int64_t nodes_per_step,
                                   int64_t max_nodes = kGraphMaxNodes) {
  GraphChunks c;
  if (steps <= 0 || batch <= 0) return c;
  const int64_t per = std::max<int64_t>(nodes_per_step, 1);
  c.steps_per_chunk = std::max<int64_t>(1, max_nodes / per);
  // The tail takes 1..K steps, so it always holds the epoch's last (possibly short) step and
  // every chunk graph step is a full one.
  c.full_chunks = (steps - 1) / c.steps_per_chunk;
  c.tail_first_step = c.full_chunks * c.steps_per_chunk;
  c.tail_steps = steps - c.tail_first_step;
  c.stage_entries = c.full_chunks > 0 ? c.steps_per_chunk * batch : 0;
  return c;
}

}  // namespace linreg::gpu_rule
