// What the SGD kernels (kernels/sgd_kernels.cu) ask of a device — dynamic shared memory, feature
// slots held in registers, blocks per launch — and the arithmetic that checks those asks against
// a device's limits. Plain C++ with no CUDA header: the launchers use it with the limits they read
// off the device, the strategy rule (host/gpu/strategy_rule.hpp) with the same limits, and CPU
// tests (tests/kernels/test_launch_limits.cpp) check it against the H100/H200 limits for every
// feature count without a GPU.
//
// Why shared memory needs care: a block gets at most 48 KB of shared memory (static + dynamic)
// unless the kernel has been opted in with cudaFuncSetAttribute(MaxDynamicSharedMemorySize);
// past that the launch fails with "invalid argument". With opt-in the limit is the device's
// per-block maximum (227 KB on H100/H200), and every resident block also costs the SM a small
// reserved slice (1 KB on sm_80 and later) of its total (228 KB on H100/H200).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/launch.hpp"

namespace linreg::kern {

// ---- device limits ------------------------------------------------------------------------------

// One device's shared-memory limits, in bytes (the cudaDeviceGetAttribute names in brackets).
struct SmemLimits {
  int64_t per_block_default = 48 * 1024;  // static + dynamic without opt-in (fixed by CUDA, every card)
  int64_t per_block_optin = 48 * 1024;    // [cudaDevAttrMaxSharedMemoryPerBlockOptin]
  int64_t per_sm = 64 * 1024;             // [cudaDevAttrMaxSharedMemoryPerMultiprocessor]
  int64_t reserved_per_block = 0;         // [cudaDevAttrReservedSharedMemoryPerBlock]
};

// H100 and H200 (compute capability 9.0), from the CUDA programming guide's table of limits.
constexpr SmemLimits kHopperSmem{48 * 1024, 227 * 1024, 228 * 1024, 1024};

// A launch's shared memory against a device's limits.
struct SmemNeed {
  int64_t static_bytes = 0;   // __shared__ variables of the kernel
  int64_t dynamic_bytes = 0;  // the launch's third <<<>>> argument
  bool fits = false;          // static + dynamic ≤ the opt-in maximum
  bool needs_opt_in = false;  // static + dynamic > 48 KB: raise MaxDynamicSharedMemorySize first
  int64_t blocks_per_sm = 0;  // resident blocks the SM's shared memory allows (other limits apart)
};

constexpr SmemNeed smem_need(int64_t static_bytes, int64_t dynamic_bytes, const SmemLimits& lim) {
  SmemNeed n;
  n.static_bytes = static_bytes;
  n.dynamic_bytes = dynamic_bytes;
  const int64_t total = static_bytes + dynamic_bytes;
  n.fits = static_bytes >= 0 && dynamic_bytes >= 0 && total <= lim.per_block_optin;
  n.needs_opt_in = total > lim.per_block_default;
  n.blocks_per_sm = n.fits ? lim.per_sm / (total + lim.reserved_per_block) : 0;
  return n;
}

// ---- batch sums (fused step, evaluation, gradient hook) --------------------------------------

// Lanes that cooperate on one row: min(32, next power of two ≥ d). Each lane then holds
// ceil(d / lanes) features in registers.
constexpr int lanes_per_row(int64_t d) {
  if (d >= kWarpSize) return kWarpSize;
  int p = 1;
  while (p < d) p <<= 1;
  return p;
}

// The gradient-summing kernels keep a lane's features in a register array with a compile-time
// bound (a run-time index would move it to local memory): at most 16 slots per lane, so at most
// 32 × 16 = 512 features. Larger d: the cublas strategy; the loss-only kernel takes any d.
constexpr int kMaxFeatureSlots = 16;
constexpr int64_t kMaxFusedFeatures = static_cast<int64_t>(kWarpSize) * kMaxFeatureSlots;

// Feature slots per lane for d (a power of two: the kernel's template argument), or 0 when d is
// past kMaxFusedFeatures.
constexpr int feature_slots(int64_t d) {
  if (d < 1 || d > kMaxFusedFeatures) return 0;
  const int64_t lanes = lanes_per_row(d);
  const int64_t need = (d + lanes - 1) / lanes;
  int p = 1;
  while (p < need) p <<= 1;
  return p;
}

// Shared memory of batch_sums_kernel: each warp leaves its partial sums there for the block's
// fixed-order reduction. With gradients: d + 2 doubles per warp (Σ r·x_j, Σ r, Σ loss): 64·(d + 2)
// bytes, ≤ 33 KB for d ≤ 512. Loss only: the two scalars per warp, 128 bytes for any d (the
// gradient slots are never written there, so they need no room).
constexpr int64_t batch_sums_smem_bytes(int64_t d, bool loss_only) {
  const int64_t per_warp = loss_only ? 2 : d + 2;
  return static_cast<int64_t>(kWarpsPerBlock) * per_warp * static_cast<int64_t>(sizeof(double));
}
// Upper bound on batch_sums_kernel's static shared memory (one unsigned: the last-block flag).
// The launcher checks the compiled kernel against it (cudaFuncGetAttributes).
constexpr int64_t kBatchSumsStaticSmem = 16;

constexpr SmemNeed batch_sums_smem(int64_t d, bool loss_only, const SmemLimits& lim) {
  return smem_need(kBatchSumsStaticSmem, batch_sums_smem_bytes(d, loss_only), lim);
}

// Whether the gradient-summing kernels (fused strategy, batch_sums) take d on this device.
constexpr bool fused_supported(int64_t d, const SmemLimits& lim) {
  return feature_slots(d) > 0 && batch_sums_smem(d, /*loss_only=*/false, lim).fits;
}

// The tiled fused kernel (FusedKernel::Tiled) loads the x of this many row-group passes before it
// uses the first: rows in flight per warp = passes × (32 / lanes). Two at 16 slots (d > 256)
// keeps its registers (2 × 16 floats of x, 16 double sums) under the 128 that two resident
// blocks of 256 threads allow.
constexpr int tiled_passes(int slots) { return slots >= 16 ? 2 : 4; }

// Rows of one warp's tile in the tiled kernel: what its passes cover, at most 32 (one permutation
// entry per lane, loaded in one coalesced read).
constexpr int tiled_tile_rows(int64_t d) {
  const int per_pass = kWarpSize / lanes_per_row(d);
  return std::min(kWarpSize, per_pass * tiled_passes(feature_slots(d)));
}

// The fused step's batch-sums kernel; both stay selectable so that a GPU run can time them side by
// side (LINREG_FUSED_KERNEL, host/gpu/gpu_trainer.hpp).
//   RowGroups  the reference: a warp walks its rows one row group at a time (one row in flight per
//              warp for d ≥ 32, its permutation entry a dependent load first), a fixed 256 blocks;
//              the reduction order depends on (bt, d) only.
//   Tiled      each warp reads a tile's permutation entries and labels in one coalesced load and
//              hands them to its row groups by shuffles, keeps tiled_passes() row-group passes of
//              x loads in flight, and the grid is one wave by occupancy (so the reduction order
//              depends on the card's SM count too). The default.
enum class FusedKernel { Tiled, RowGroups };
constexpr const char* fused_kernel_name(FusedKernel k) { return k == FusedKernel::Tiled ? "tiled" : "rowgroups"; }

// Most blocks one batch-sums launch uses; partials buffers hold (d + 2) · kMaxSumBlocks doubles.
constexpr int kMaxSumBlocks = 1024;

// Blocks for a launch sized by occupancy: as many as are resident at once on the whole device
// (one wave), at least one, at most `cap`.
constexpr int occupancy_grid(int sm_count, int blocks_per_sm, int cap) {
  const int64_t wave = static_cast<int64_t>(std::max(sm_count, 1)) * std::max(blocks_per_sm, 1);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(wave, cap)));
}

// ---- persistent strategy --------------------------------------------------------------------

// The persistent kernel holds w, b of up to 16 features in registers (compile-time bound).
constexpr int64_t kPersistentMaxFeatures = 16;
// Its two staging buffers take at most this much shared memory (opted in: above 48 KB). Sized so
// that the lab's d = 2 stages 4096 rows per chunk; a device with a smaller opt-in maximum gets
// what it allows.
constexpr int64_t kPersistentSmemBytes = 96 * 1024;
constexpr int64_t kPersistentStaticSmem = 0;  // no __shared__ variables besides the dynamic buffer

constexpr int64_t persistent_stage_budget(const SmemLimits& lim) {
  return std::max<int64_t>(0, std::min(kPersistentSmemBytes, lim.per_block_optin - kPersistentStaticSmem));
}

// Rows per staged chunk: whole minibatches, two buffers of rows of d + 1 floats (x, y). 0: not
// even one minibatch fits.
constexpr int64_t persistent_chunk_rows(int64_t d, int64_t batch, const SmemLimits& lim) {
  if (d < 1 || batch < 1) return 0;
  const int64_t rows = persistent_stage_budget(lim) / (2 * (d + 1) * static_cast<int64_t>(sizeof(float)));
  return (rows / batch) * batch;
}

constexpr int64_t persistent_smem_bytes(int64_t d, int64_t batch, const SmemLimits& lim) {
  return 2 * persistent_chunk_rows(d, batch, lim) * (d + 1) * static_cast<int64_t>(sizeof(float));
}

constexpr SmemNeed persistent_smem(int64_t d, int64_t batch, const SmemLimits& lim) {
  return smem_need(kPersistentStaticSmem, persistent_smem_bytes(d, batch, lim), lim);
}

// Whether persistent_epoch takes this shape on this device.
constexpr bool persistent_supported(int64_t d, int64_t batch, const SmemLimits& lim) {
  return d >= 1 && d <= kPersistentMaxFeatures && batch >= 1 && persistent_chunk_rows(d, batch, lim) >= batch &&
         persistent_smem(d, batch, lim).fits;
}

}  // namespace linreg::kern
