// The GPU trainer (minibatch SGD with every array resident on one GPU) and its strategy rule.
// Part of the GPU module: the rest of linreg reaches it through GpuBackend
// (host/train/gpu_backend.hpp); the GPU tests link it directly.
#pragma once

#include <cstdint>
#include <memory>

#include "host/core/config.hpp"
#include "host/train/trainer.hpp"

namespace linreg {

// Binds to `device` and creates its stream and cuBLAS handle; throws CudaError when it cannot.
std::unique_ptr<Trainer> create_gpu_trainer(int device);

// What --strategy auto runs for an (n, d, batch) problem (docs/PERFORMANCE.md explains why):
//   persistent  d ≤ 16 and batch ≤ 256 (and the batch fits the kernel's staging buffers):
//               latency-bound steps, run back to back inside one kernel per epoch;
//   fused       d ≤ 512: one fused kernel per step, an epoch replayed as one CUDA graph;
//   cublas      otherwise (the fused kernels hold at most 512 features in registers).
Strategy choose_strategy(int64_t n, int64_t d, int64_t batch);

// Whether `s` (not Auto) can run this shape; `why` says why not.
bool strategy_supported(Strategy s, int64_t d, int64_t batch, const char** why = nullptr);

}  // namespace linreg
