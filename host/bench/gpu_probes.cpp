// The GPU half of the bench's probes (CUDA builds only): device-to-device copy bandwidth timed
// with CUDA events, and the device's free memory. Host types in, host types out (probes.hpp).
#include <cuda_runtime_api.h>

#include "host/bench/bench_math.hpp"
#include "host/bench/probes.hpp"
#include "kernels/device_buffer.hpp"

namespace linreg::bench {

CopyProbe gpu_copy_bandwidth(int64_t bytes, int repeats) {
  if (bytes <= 0 || repeats <= 0) throw InputError("gpu_copy_bandwidth: sizes must be positive");
  CopyProbe probe;
  probe.bytes = bytes;
  probe.threads = 1;
  const size_t n = static_cast<size_t>(bytes);
  DeviceBuffer<unsigned char> src(n), dst(n);
  CudaStream stream;
  CudaEvent start, stop;
  LINREG_CHECK(cudaMemsetAsync(src.data(), 1, n, stream.get()));
  LINREG_CHECK(cudaMemsetAsync(dst.data(), 0, n, stream.get()));
  // Warm-up copy (first touch, clocks up), untimed.
  LINREG_CHECK(cudaMemcpyAsync(dst.data(), src.data(), n, cudaMemcpyDeviceToDevice, stream.get()));
  LINREG_CHECK(cudaStreamSynchronize(stream.get()));
  for (int r = 0; r < repeats; ++r) {
    start.record(stream.get());
    LINREG_CHECK(cudaMemcpyAsync(dst.data(), src.data(), n, cudaMemcpyDeviceToDevice, stream.get()));
    stop.record(stream.get());
    probe.seconds.push_back(static_cast<double>(stop.since(start)) * 1e-3);
  }
  // bytes read + bytes written: 2·n per copy.
  probe.bandwidth = copy_bandwidth(static_cast<double>(bytes), median(probe.seconds));
  return probe;
}

void gpu_memory(int64_t* free_bytes, int64_t* total_bytes) {
  size_t f = 0, t = 0;
  LINREG_CHECK(cudaMemGetInfo(&f, &t));
  if (free_bytes) *free_bytes = static_cast<int64_t>(f);
  if (total_bytes) *total_bytes = static_cast<int64_t>(t);
}

}  // namespace linreg::bench
