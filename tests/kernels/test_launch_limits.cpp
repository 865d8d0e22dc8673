// The launch arithmetic of the GPU kernels, checked on the CPU (no GPU, no CUDA header): shared
// memory per kernel against the H100/H200 limits for every feature count 1..8192, the strategy
// rule that is built on it, the occupancy grid, the tiled kernel's tile geometry, and the cap on
// CUDA graph size. The launchers and the trainer use these very functions with the limits they
// read off the device, so a shape that passes here launches there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "host/gpu/graph_chunks.hpp"
#include "host/gpu/strategy_rule.hpp"
#include "kernels/launch_limits.hpp"

namespace linreg {
namespace {

using kern::kHopperSmem;
constexpr int64_t kMaxD = 8192;
constexpr int64_t kKB = 1024;

// The loss-only path (every epoch's evaluation, every strategy) used to ask for 8 warps × (d + 2)
// doubles with no opt-in: past 48 KB from d = 766 on, so `--features 1000` failed at the first
// epoch. It now asks for the two scalars per warp it uses, for any d.
TEST(LaunchLimits, LossPathFitsWithoutOptInForEveryFeatureCount) {
  for (int64_t d = 1; d <= kMaxD; ++d) {
    const kern::SmemNeed need = kern::batch_sums_smem(d, /*loss_only=*/true, kHopperSmem);
    ASSERT_TRUE(need.fits) << d;
    ASSERT_FALSE(need.needs_opt_in) << d;
    ASSERT_EQ(need.dynamic_bytes, 128) << d;
    ASSERT_GE(need.blocks_per_sm, 32) << d;  // shared memory never limits its occupancy
  }
  // The old sizing, for the record: where it crossed the default limit.
  int64_t first_bad = 0;
  for (int64_t d = 1; d <= kMaxD && first_bad == 0; ++d)
    if (kern::smem_need(kern::kBatchSumsStaticSmem, 8 * (d + 2) * 8, kHopperSmem).needs_opt_in) first_bad = d;
  EXPECT_EQ(first_bad, 766);
}

TEST(LaunchLimits, GradientPathFitsWithoutOptInWhereverTheRegistersTakeD) {
  for (int64_t d = 1; d <= kMaxD; ++d) {
    const int slots = kern::feature_slots(d);
    const int lanes = kern::lanes_per_row(d);
    ASSERT_TRUE(lanes == 32 || lanes >= d) << d;
    ASSERT_EQ(lanes & (lanes - 1), 0) << d;
    if (d > kern::kMaxFusedFeatures) {
      ASSERT_EQ(slots, 0) << d;
      ASSERT_FALSE(kern::fused_supported(d, kHopperSmem)) << d;
      continue;
    }
    ASSERT_GE(slots, 1) << d;
    ASSERT_LE(slots, kern::kMaxFeatureSlots) << d;
    ASSERT_EQ(slots & (slots - 1), 0) << d;                  // a template instance exists
    ASSERT_GE(static_cast<int64_t>(slots) * lanes, d) << d;  // every feature has a slot
    ASSERT_LT(static_cast<int64_t>(slots / 2) * lanes, d) << d;  // the smallest such power of two
    const kern::SmemNeed need = kern::batch_sums_smem(d, false, kHopperSmem);
    ASSERT_TRUE(need.fits) << d;
    ASSERT_FALSE(need.needs_opt_in) << d;
    ASSERT_LE(need.static_bytes + need.dynamic_bytes, 33 * kKB) << d;
    ASSERT_GE(need.blocks_per_sm, 6) << d;  // 228 KB / (33 KB + 1 KB reserved)
    ASSERT_TRUE(kern::fused_supported(d, kHopperSmem)) << d;
  }
}

TEST(LaunchLimits, TiledKernelPassesCoverItsTile) {
  for (int64_t d = 1; d <= kern::kMaxFusedFeatures; ++d) {
    const int slots = kern::feature_slots(d);
    const int per_pass = 32 / kern::lanes_per_row(d);
    const int tile = kern::tiled_tile_rows(d);
    const int passes = kern::tiled_passes(slots);
    ASSERT_GE(tile, 1) << d;
    ASSERT_LE(tile, 32) << d;                 // one permutation entry per lane
    ASSERT_LE(tile, passes * per_pass) << d;  // the kernel's passes reach every row of the tile
    ASSERT_GE(tile, std::min(32, 2 * per_pass)) << d;  // at least two rows in flight per row group
  }
  EXPECT_EQ(kern::tiled_tile_rows(256), 4);  // 10M×256: four 1 KB rows in flight per warp
  EXPECT_EQ(kern::tiled_tile_rows(512), 2);
  EXPECT_EQ(kern::tiled_tile_rows(16), 8);
  EXPECT_EQ(kern::tiled_tile_rows(2), 32);
}

TEST(LaunchLimits, PersistentStagingFitsHopper) {
  for (int64_t d = 1; d <= 20; ++d) {
    int64_t max_batch = 0;
    for (int64_t batch = 1; batch <= 8192; ++batch) {
      const bool ok = kern::persistent_supported(d, batch, kHopperSmem);
      if (d > kern::kPersistentMaxFeatures) {
        ASSERT_FALSE(ok) << d;
        continue;
      }
      const int64_t chunk = kern::persistent_chunk_rows(d, batch, kHopperSmem);
      ASSERT_EQ(ok, chunk >= batch) << d << " " << batch;
      if (!ok) continue;
      max_batch = batch;
      ASSERT_EQ(chunk % batch, 0) << d << " " << batch;  // minibatches never straddle chunks
      const kern::SmemNeed need = kern::persistent_smem(d, batch, kHopperSmem);
      ASSERT_EQ(need.dynamic_bytes, 2 * chunk * (d + 1) * 4);
      ASSERT_LE(need.dynamic_bytes, 96 * kKB);
      ASSERT_TRUE(need.fits);
      ASSERT_EQ(need.needs_opt_in, need.dynamic_bytes > 48 * kKB);
    }
    if (d == 2) {
      EXPECT_EQ(max_batch, 4096);
    }
    if (d == 16) {
      EXPECT_EQ(max_batch, 722);
    }
  }
  // The shapes the race check runs (scripts/gpu-check.sh) really use several chunks, so the
  // double buffering is exercised: rows per chunk < rows.
  EXPECT_LT(kern::persistent_chunk_rows(16, 64, kHopperSmem), 1023);
  EXPECT_LT(kern::persistent_chunk_rows(7, 100, kHopperSmem), 4099);
  EXPECT_LT(kern::persistent_chunk_rows(2, 10, kHopperSmem) * 2, 100003);
}

// A card with a smaller opt-in maximum (64 KB, as sm_75) gets smaller staging buffers rather than
// a launch failure; one whose blocks cannot hold the gradient buffer loses the fused strategy.
TEST(LaunchLimits, SmallerCardsShrinkOrFallBack) {
  const kern::SmemLimits turing{48 * kKB, 64 * kKB, 64 * kKB, 0};
  EXPECT_EQ(kern::persistent_stage_budget(turing), 64 * kKB);
  EXPECT_TRUE(kern::persistent_supported(2, 2730, turing));
  EXPECT_FALSE(kern::persistent_supported(2, 2731, turing));
  EXPECT_TRUE(kern::fused_supported(512, turing));

  const kern::SmemLimits tiny{16 * kKB, 16 * kKB, 64 * kKB, 0};
  EXPECT_FALSE(kern::fused_supported(512, tiny));
  const char* why = nullptr;
  EXPECT_FALSE(gpu_rule::strategy_supported(Strategy::Fused, 512, 1024, tiny, &why));
  ASSERT_NE(why, nullptr);
  EXPECT_NE(std::string(why).find("shared memory"), std::string::npos) << why;
  EXPECT_EQ(gpu_rule::choose_strategy(100000, 512, 1024, tiny), Strategy::Cublas);
  EXPECT_TRUE(kern::batch_sums_smem(8192, true, tiny).fits);  // the evaluation still runs
}

TEST(StrategyRule, EveryFeatureCountGetsARunnableStrategy) {
  const int64_t batches[] = {1, 10, 31, 256, 257, 722, 1024, 4096, 65536};
  for (int64_t d = 1; d <= kMaxD; ++d) {
    for (int64_t b : batches) {
      const Strategy s = gpu_rule::choose_strategy(10 * b, d, b, kHopperSmem);
      ASSERT_TRUE(gpu_rule::strategy_supported(s, d, b, kHopperSmem)) << d << " " << b;
      ASSERT_TRUE(kern::batch_sums_smem(d, true, kHopperSmem).fits) << d;  // its evaluation
      if (d > kern::kMaxFusedFeatures) {
        ASSERT_EQ(s, Strategy::Cublas) << d << " " << b;
      } else if (d <= kern::kPersistentMaxFeatures && b <= gpu_rule::kPersistentAutoMaxBatch) {
        ASSERT_EQ(s, Strategy::Persistent) << d << " " << b;
      } else {
        ASSERT_EQ(s, Strategy::Fused) << d << " " << b;
      }
    }
  }
  // The shapes of docs/PERFORMANCE.md and the README's examples.
  EXPECT_EQ(gpu_rule::choose_strategy(1000, 2, 10, kHopperSmem), Strategy::Persistent);
  EXPECT_EQ(gpu_rule::choose_strategy(100000, 2, 10, kHopperSmem), Strategy::Persistent);
  EXPECT_EQ(gpu_rule::choose_strategy(1000000, 16, 1024, kHopperSmem), Strategy::Fused);
  EXPECT_EQ(gpu_rule::choose_strategy(1000000, 256, 4096, kHopperSmem), Strategy::Fused);
  EXPECT_EQ(gpu_rule::choose_strategy(10000000, 256, 65536, kHopperSmem), Strategy::Fused);
  EXPECT_EQ(gpu_rule::choose_strategy(1000, 1000, 10, kHopperSmem), Strategy::Cublas);  // --features 1000
}

TEST(StrategyRule, NamedStrategiesSayWhyNot) {
  const char* why = nullptr;
  EXPECT_FALSE(gpu_rule::strategy_supported(Strategy::Persistent, 17, 10, kHopperSmem, &why));
  EXPECT_NE(std::string(why).find("16 features"), std::string::npos) << why;
  EXPECT_FALSE(gpu_rule::strategy_supported(Strategy::Persistent, 2, 4097, kHopperSmem, &why));
  EXPECT_NE(std::string(why).find("shared memory"), std::string::npos) << why;
  EXPECT_FALSE(gpu_rule::strategy_supported(Strategy::Fused, 513, 10, kHopperSmem, &why));
  EXPECT_NE(std::string(why).find("512"), std::string::npos) << why;
  EXPECT_TRUE(gpu_rule::strategy_supported(Strategy::Cublas, 8192, 65536, kHopperSmem, &why));
  EXPECT_EQ(why, nullptr);
  EXPECT_FALSE(gpu_rule::strategy_supported(Strategy::Cublas, 2, int64_t{1} << 31, kHopperSmem, &why));
}

TEST(LaunchLimits, OccupancyGridIsOneWaveWithinTheCap) {
  EXPECT_EQ(kern::occupancy_grid(132, 5, kern::kMaxSumBlocks), 660);   // H200, 5 resident blocks
  EXPECT_EQ(kern::occupancy_grid(132, 8, kern::kMaxSumBlocks), 1024);  // capped by the partials buffer
  EXPECT_EQ(kern::occupancy_grid(114, 3, kern::kMaxSumBlocks), 342);   // H100 PCIe
  EXPECT_EQ(kern::occupancy_grid(0, 0, kern::kMaxSumBlocks), 1);       // never an empty grid
}

// ---- graph size cap -----------------------------------------------------------------------------

// Replays the chunk scheme: which permutation offset each step reads, and how big each graph is.
void check_chunks(int64_t n, int64_t batch, int64_t nodes_per_step, int64_t max_nodes) {
  SCOPED_TRACE("n " + std::to_string(n) + " batch " + std::to_string(batch) + " nodes/step " +
               std::to_string(nodes_per_step) + " cap " + std::to_string(max_nodes));
  const int64_t steps = (n + batch - 1) / batch;
  const gpu_rule::GraphChunks c = gpu_rule::graph_chunks(steps, batch, nodes_per_step, max_nodes);
  const int64_t K = c.steps_per_chunk;
  ASSERT_GE(K, 1);
  if (max_nodes >= nodes_per_step) {
    ASSERT_LE(K * nodes_per_step, max_nodes);  // the cap holds
  }
  ASSERT_GE(c.tail_steps, 1);
  ASSERT_LE(c.tail_steps, K);
  ASSERT_EQ(c.tail_first_step, c.full_chunks * K);
  ASSERT_EQ(c.tail_first_step + c.tail_steps, steps);  // every step, once
  ASSERT_EQ(c.stage_entries, c.full_chunks > 0 ? K * batch : 0);
  // Chunk graph: step k of replay c reads stage[k·B ..), the copy of perm[c·K·B ..): absolute
  // offset (c·K + k)·B, and it is a full step (the short one is always in the tail).
  int64_t next = 0;
  for (int64_t r = 0; r < c.full_chunks; ++r) {
    ASSERT_LE((r + 1) * c.stage_entries, n);  // the copy stays inside the permutation
    for (int64_t k = 0; k < K; ++k, ++next) {
      ASSERT_EQ(r * c.stage_entries + k * batch, next * batch);
      ASSERT_LE((next + 1) * batch, n);
    }
  }
  for (int64_t t = c.tail_first_step; t < steps; ++t, ++next) ASSERT_EQ(t, next);
  ASSERT_EQ(next, steps);
}

TEST(GraphChunks, CoverEveryStepOnceWithinTheCap) {
  for (int64_t n : {1, 2, 9, 10, 11, 99, 100, 101, 1000, 1023, 4099, 20011}) {
    for (int64_t batch : {1, 3, 10, 64, 1000}) {
      if (batch > n) continue;
      for (int64_t nodes : {1, 2})
        for (int64_t cap : {2, 3, 8, 64, 4096}) check_chunks(n, batch, nodes, cap);
    }
  }
}

TEST(GraphChunks, MillionStepEpochIsCapped) {
  // 10M×32 at batch 10: auto picks fused, an epoch is a million steps.
  const int64_t steps = 1000000;
  for (int64_t nodes : {1, 2}) {
    const gpu_rule::GraphChunks c = gpu_rule::graph_chunks(steps, 10, nodes);
    EXPECT_LE(c.steps_per_chunk * nodes, gpu_rule::kGraphMaxNodes);
    EXPECT_LE(c.tail_steps * nodes, gpu_rule::kGraphMaxNodes);
    EXPECT_EQ(c.full_chunks * c.steps_per_chunk + c.tail_steps, steps);
    EXPECT_EQ(c.stage_entries, c.steps_per_chunk * 10);  // 40960 indices: 160 KB
  }
  const gpu_rule::GraphChunks one = gpu_rule::graph_chunks(steps, 10, 1);
  EXPECT_EQ(one.steps_per_chunk, 4096);
  EXPECT_EQ(one.full_chunks, 244);
  EXPECT_EQ(one.tail_steps, 1000000 - 244 * 4096);
  // Below the cap: one graph straight over the permutation, as before.
  const gpu_rule::GraphChunks small = gpu_rule::graph_chunks(300, 10, 1);
  EXPECT_EQ(small.full_chunks, 0);
  EXPECT_EQ(small.tail_steps, 300);
  EXPECT_EQ(small.stage_entries, 0);
  EXPECT_EQ(gpu_rule::graph_chunks(0, 10, 1).tail_steps, 0);
}

}  // namespace
}  // namespace linreg
