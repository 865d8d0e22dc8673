// The GPU backend as the rest of linreg sees it. In a CUDA build everything that needs the CUDA
// libraries (kernels, the GPU trainer, the GPU half of the exact solver, the bench's GPU probes)
// is a separate shared library, liblinreg_gpu.so, that host/train/device.cpp loads only when the
// GPU is asked for. This header is the whole contract between the two: host types in, host types
// out, no CUDA header. Both sides are built from the same tree by the same compiler, and the
// module checks kGpuModuleAbi, so plain C++ types may cross.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/train/cpu_trainer.hpp"
#include "host/train/scaled_design.hpp"
#include "host/train/trainer.hpp"

namespace linreg {

// Bumped whenever GpuBackend or a type it passes changes shape.
constexpr int kGpuModuleAbi = 7;

// Whether a GPU is usable, and if not, why (shown when --device auto falls back).
struct GpuProbe {
  bool usable = false;
  std::string name;    // device name when usable
  std::string reason;  // why not, when not usable
  std::string pci_bus_id;  // when usable: the device's PCI address ("0000:19:00.0"), unique on a host
};

class GpuBackend {
 public:
  virtual ~GpuBackend() = default;

  // Device 0 through the CUDA runtime: a driver new enough for this build, a device, a context.
  // Never throws: every failure becomes the reason.
  virtual GpuProbe probe() const = 0;

  // Minibatch SGD with the data resident on `device`.
  virtual std::unique_ptr<Trainer> make_trainer(int device) const = 0;

  // A rank of a data-parallel job training on `device` (cpu_trainer.hpp's ShardPlacement): each
  // minibatch's sums added across the ranks' GPUs with NCCL, in rank order, bootstrapped over
  // shard.comm at the first fit.
  virtual std::unique_ptr<Trainer> make_sharded_trainer(int device, const ShardPlacement& shard) const = 0;

  // SGD on rows that do not fit on the device: chunks of chunk_rows rows copied host → device
  // through pinned double buffers while the device trains (cpu_trainer.hpp's train_streamed
  // semantics; host/gpu/streamed_trainer.hpp). `validation` (nullable) is held on the device and
  // evaluated each epoch. `shard` (nullable): a rank of a data-parallel job, `rows` its training
  // rows and `validation` its share (every rank calls it with the same chunk_rows): the job's
  // chunks are every rank's chunk k, each minibatch's sums added across the ranks' GPUs with NCCL
  // in rank order (train_streamed with a ShardPlacement, on the GPUs).
  virtual TrainResult train_streamed(const RowChunks& rows, const TrainOptions& opt, int64_t chunk_rows,
                                     const EpochCallback& cb, const HostDataset* validation,
                                     const ShardPlacement* shard) const = 0;

  // The exact solver's pass over the data (host/train/least_squares.cpp does the rest): the
  // design of scaled_design.hpp, built on the device in row chunks (so the data need not fit in
  // device memory), reduced to a c×c matrix, c = view.columns(), column-major, upper triangle
  // (the strict lower triangle zero): its Gram matrix (cublasDsyrk per chunk), or its R factor
  // (cusolverDnDgeqrf of each chunk stacked below the R so far; rows beyond the data's zero).
  virtual void design_gram(const ScaledDesignView& view, double* gram) const = 0;
  virtual void design_qr(const ScaledDesignView& view, double* r) const = 0;

  // The bench's yardsticks: seconds of each of `repeats` timed device-to-device copies of
  // `bytes` (after an untimed warm-up), and device 0's free and total memory.
  virtual std::vector<double> copy_seconds(int64_t bytes, int repeats) const = 0;
  // The same for copies of `bytes` from pinned host memory to the device: the streaming floor.
  virtual std::vector<double> upload_seconds(int64_t bytes, int repeats) const = 0;
  virtual void memory_info(int64_t* free_bytes, int64_t* total_bytes) const = 0;
};

}  // namespace linreg

// The module's one exported symbol: its backend when `abi` equals the module's kGpuModuleAbi,
// else null (a module from another version of linreg).
extern "C" const linreg::GpuBackend* linreg_gpu_backend(int abi);
