// The GPU trainer (minibatch SGD with every array resident on one GPU) and its strategy rule.
// Part of the GPU module: the rest of linreg reaches it through GpuBackend
// (host/train/gpu_backend.hpp); the GPU tests link it directly.
#pragma once

#include <cstdint>
#include <memory>

#include "host/core/config.hpp"
#include "host/gpu/graph_chunks.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/trainer.hpp"
#include "kernels/launch_limits.hpp"

namespace linreg {

// Choices that change how (not what) the trainer computes, for timing and testing them apart.
struct GpuTuning {
  // The fused strategy's kernel (kernels/launch_limits.hpp says how the two differ).
  kern::FusedKernel fused_kernel = kern::FusedKernel::Tiled;
  // Cap on kernel nodes per CUDA graph of the fused strategy (host/gpu/graph_chunks.hpp).
  int64_t graph_max_nodes = gpu_rule::kGraphMaxNodes;
};

// The tuning `linreg` runs with: the defaults, except LINREG_FUSED_KERNEL=tiled|rowgroups in the
// environment picks the fused kernel (so one build can time both). Throws InputError naming the
// variable on any other value.
GpuTuning gpu_tuning_from_environment();

// Binds to `device` and creates its stream and cuBLAS handle; throws CudaError when it cannot.
std::unique_ptr<Trainer> create_gpu_trainer(int device, const GpuTuning& tuning = GpuTuning{});

// A rank of a data-parallel job on `device` (cpu_trainer.hpp's ShardPlacement, the same semantics):
// loaded with the rank's shard; each minibatch's sums are added across ranks with NCCL
// (nccl_collective.hpp), bootstrapped over shard.comm at the first fit. Tests make one over a job
// of one rank to compare it with the ordinary trainer.
std::unique_ptr<Trainer> create_sharded_gpu_trainer(int device, const ShardPlacement& shard);

// What --strategy auto runs for an (n, d, batch) problem on a device with the H100/H200's shared
// memory (host/gpu/strategy_rule.hpp has the rule; the trainer applies it with its own device's
// limits):
//   persistent  d ≤ 16 and batch ≤ 256 (and the batch fits the kernel's staging buffers):
//               latency-bound steps, run back to back inside one kernel per epoch;
//   fused       d ≤ 512: one fused kernel per step, an epoch replayed as CUDA graphs;
//   cublas      otherwise (the fused kernels hold at most 512 features in registers).
Strategy choose_strategy(int64_t n, int64_t d, int64_t batch);

// Whether `s` (not Auto) can run this shape on such a device; `why` says why not.
bool strategy_supported(Strategy s, int64_t d, int64_t batch, const char** why = nullptr);

}  // namespace linreg
