// The GPU module's entry point: the GpuBackend that host/train/device.cpp finds with dlsym after
// loading liblinreg_gpu.so. Everything here runs only once the module is loaded, so this is the
// one place that talks to the CUDA runtime before a trainer exists (the probe).
#include <cuda_runtime_api.h>

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/gpu/gpu_trainer.hpp"
#include "host/gpu/streamed_trainer.hpp"
#include "host/train/gpu_backend.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/design_reduction.hpp"

namespace linreg {
namespace {

class CudaBackend final : public GpuBackend {
 public:
  GpuProbe probe() const override {
    GpuProbe p;
    try {
      int count = 0;
      const cudaError_t st = cudaGetDeviceCount(&count);
      if (st != cudaSuccess) {
        cudaGetLastError();  // leave no error behind for the next runtime call
        switch (st) {
          case cudaErrorNoDevice: p.reason = "no CUDA device"; break;
          case cudaErrorInsufficientDriver:
            p.reason = "the NVIDIA driver is older than this build's CUDA runtime (CUDA " +
                       std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) + ")";
            break;
          default: p.reason = std::string("CUDA unavailable: ") + cudaGetErrorString(st); break;
        }
        return p;
      }
      if (count <= 0) {
        p.reason = "no CUDA device";
        return p;
      }
      cudaDeviceProp prop{};
      cudaError_t e = cudaGetDeviceProperties(&prop, 0);
      if (e == cudaSuccess) e = cudaSetDevice(0);
      if (e == cudaSuccess) e = cudaFree(nullptr);  // creates the context: usable means this works
      if (e != cudaSuccess) {
        cudaGetLastError();
        p.reason = std::string("cannot create a CUDA context: ") + cudaGetErrorString(e);
        return p;
      }
      p.usable = true;
      p.name = prop.name;
      char bus[32] = {};
      if (cudaDeviceGetPCIBusId(bus, sizeof bus, 0) == cudaSuccess) p.pci_bus_id = bus;
      else cudaGetLastError();
    } catch (const std::exception& ex) {
      p.usable = false;
      p.reason = std::string("CUDA probe failed: ") + ex.what();
    }
    return p;
  }

  std::unique_ptr<Trainer> make_trainer(int device) const override {
    return create_gpu_trainer(device, gpu_tuning_from_environment());
  }

  std::unique_ptr<Trainer> make_sharded_trainer(int device, const ShardPlacement& shard) const override {
    return create_sharded_gpu_trainer(device, shard);
  }

  TrainResult train_streamed(const RowChunks& rows, const TrainOptions& opt, int64_t chunk_rows,
                             const EpochCallback& cb, const HostDataset* validation,
                             const ShardPlacement* shard) const override {
    if (shard && shard->comm && shard->comm->size() > 1)
      return train_streamed_gpu_job(0, rows, opt, chunk_rows, *shard, cb, validation);
    return train_streamed_gpu(0, rows, opt, chunk_rows, cb, validation);
  }

  void design_gram(const ScaledDesignView& view, double* gram) const override { design_gram_gpu(view, gram); }
  void design_qr(const ScaledDesignView& view, double* r) const override { design_qr_gpu(view, r); }

  std::vector<double> copy_seconds(int64_t bytes, int repeats) const override {
    if (bytes <= 0 || repeats <= 0) throw InputError("GPU copy probe: the size and the repeat count must be positive");
    const size_t n = static_cast<size_t>(bytes);
    DeviceBuffer<unsigned char> src(n), dst(n);
    CudaStream stream;
    LINREG_CHECK(cudaMemsetAsync(src.data(), 1, n, stream.get()));
    LINREG_CHECK(cudaMemsetAsync(dst.data(), 0, n, stream.get()));
    return timed_copies(dst.data(), src.data(), n, cudaMemcpyDeviceToDevice, repeats, stream.get());
  }

  std::vector<double> upload_seconds(int64_t bytes, int repeats) const override {
    if (bytes <= 0 || repeats <= 0) throw InputError("GPU upload probe: the size and the repeat count must be positive");
    const size_t n = static_cast<size_t>(bytes);
    PinnedBuffer<unsigned char> src(n);
    std::memset(src.data(), 1, n);  // touched: every page resident before the first copy
    DeviceBuffer<unsigned char> dst(n);
    CudaStream stream;
    return timed_copies(dst.data(), src.data(), n, cudaMemcpyHostToDevice, repeats, stream.get());
  }

  // Seconds of each of `repeats` copies of n bytes (after an untimed warm-up copy: first touch,
  // clocks up).
  static std::vector<double> timed_copies(void* dst, const void* src, size_t n, cudaMemcpyKind kind, int repeats,
                                          cudaStream_t stream) {
    CudaEvent start, stop;
    LINREG_CHECK(cudaMemcpyAsync(dst, src, n, kind, stream));
    LINREG_CHECK(cudaStreamSynchronize(stream));
    std::vector<double> seconds;
    for (int r = 0; r < repeats; ++r) {
      start.record(stream);
      LINREG_CHECK(cudaMemcpyAsync(dst, src, n, kind, stream));
      stop.record(stream);
      seconds.push_back(static_cast<double>(stop.since(start)) * 1e-3);
    }
    return seconds;
  }

  void memory_info(int64_t* free_bytes, int64_t* total_bytes) const override {
    size_t f = 0, t = 0;
    LINREG_CHECK(cudaMemGetInfo(&f, &t));
    if (free_bytes) *free_bytes = static_cast<int64_t>(f);
    if (total_bytes) *total_bytes = static_cast<int64_t>(t);
  }
};

}  // namespace
}  // namespace linreg

extern "C" __attribute__((visibility("default"))) const linreg::GpuBackend* linreg_gpu_backend(int abi) {
  static const linreg::CudaBackend backend;
  return abi == linreg::kGpuModuleAbi ? &backend : nullptr;
}
