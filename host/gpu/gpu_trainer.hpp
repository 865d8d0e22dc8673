// The GPU trainer's strategy rule, visible to the CLI and the bench (the trainer itself is
// reached through make_gpu_trainer() in host/trainer.hpp). CUDA builds only.
#pragma once

#include <cstdint>

#include "host/config.hpp"

namespace linreg {

// What --strategy auto runs for an (n, d, batch) problem (docs/PERFORMANCE.md explains why):
//   persistent  d ≤ 16 and batch ≤ 256 (and the batch fits the kernel's staging buffers):
//               latency-bound steps, run back to back inside one kernel per epoch;
//   fused       d ≤ 512: one fused kernel per step, an epoch replayed as one CUDA graph;
//   cublas      otherwise (the fused kernels hold at most 512 features in registers).
Strategy choose_strategy(int64_t n, int64_t d, int64_t batch);

// Whether `s` (not Auto) can run this shape; `why` says why not.
bool strategy_supported(Strategy s, int64_t d, int64_t batch, const char** why = nullptr);

}  // namespace linreg
