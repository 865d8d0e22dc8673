// The GPU strategy rule: which strategy --strategy auto runs for a shape, and whether a named
// strategy can run it, on a device with the given shared-memory limits. Plain C++ (no CUDA
// header) on the arithmetic of kernels/launch_limits.hpp, so the launchers, the trainer and the
// CPU tests (tests/kernels/test_launch_limits.cpp) all decide by the same numbers.
// docs/PERFORMANCE.md says why the rule is what it is.
#pragma once

#include <cstdint>

#include "host/core/config.hpp"
#include "kernels/launch_limits.hpp"

namespace linreg::gpu_rule {

// Auto picks persistent only up to this batch: past it a step's gradient sums over more rows
// than one warp holds, and the fused kernel's many blocks win.
constexpr int64_t kPersistentAutoMaxBatch = 256;

// cuBLAS takes int dimensions.
constexpr int64_t kCublasMaxDim = 2147483647;

// Whether `s` (not Auto) can run this shape; *why says why not (a static string), else null.
constexpr bool strategy_supported(Strategy s, int64_t d, int64_t batch, const kern::SmemLimits& lim,
                                  const char** why = nullptr) {
  const char* reason = nullptr;
  switch (s) {
    case Strategy::Persistent:
      if (d > kern::kPersistentMaxFeatures)
        reason = "takes at most 16 features (w and b are held in registers)";
      else if (!kern::persistent_supported(d, batch, lim))
        reason = "needs a batch whose rows fit twice in the kernel's shared memory (e.g. at most 4096 rows for "
                 "2 features, 722 for 16)";
      break;
    case Strategy::Fused:
      if (kern::feature_slots(d) == 0)
        reason = "takes at most 512 features (a lane holds 16 in registers); use --strategy cublas";
      else if (!kern::fused_supported(d, lim))
        reason = "needs more shared memory per block than this GPU allows; use --strategy cublas";
      break;
    case Strategy::Cublas:
      if (batch > kCublasMaxDim || d > kCublasMaxDim) reason = "cuBLAS takes at most 2^31 - 1 rows and features";
      break;
    case Strategy::Auto: break;
  }
  if (why) *why = reason;
  return reason == nullptr;
}

// What --strategy auto runs:
//   persistent  d ≤ 16 and batch ≤ 256 (and the batch fits the staging buffers): latency-bound
//               steps, run back to back inside one kernel per epoch;
//   fused       the gradient-summing kernel takes d (d ≤ 512 and its shared memory fits):
//               one fused kernel per step, the epoch replayed as CUDA graphs;
//   cublas      otherwise (any d).
constexpr Strategy choose_strategy(int64_t /*n*/, int64_t d, int64_t batch, const kern::SmemLimits& lim) {
  if (batch <= kPersistentAutoMaxBatch && strategy_supported(Strategy::Persistent, d, batch, lim))
    return Strategy::Persistent;
  if (strategy_supported(Strategy::Fused, d, batch, lim)) return Strategy::Fused;
  return Strategy::Cublas;
}

}  // namespace linreg::gpu_rule
