// Per-device caches of the limits launch sizing reads (see device_limits.hpp).
#include "kernels/device_limits.hpp"

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "kernels/cuda_check.hpp"

namespace linreg::kern {

namespace {

struct DeviceInfo {
  SmemLimits smem;
  int sm_count = 0;
};

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}

const DeviceInfo& device_info(int device) {
  static std::map<int, DeviceInfo> cache;
  std::lock_guard<std::mutex> lock(cache_mutex());
  auto it = cache.find(device);
  if (it != cache.end()) return it->second;
  DeviceInfo info;
  int v = 0;
  LINREG_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  info.smem.per_block_optin = v;
  LINREG_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
  info.smem.per_sm = v;
  LINREG_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrReservedSharedMemoryPerBlock, device));
  info.smem.reserved_per_block = v;
  LINREG_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlock, device));
  info.smem.per_block_default = v;  // 48 KB on every card so far; read, not assumed
  LINREG_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, device));
  info.sm_count = v;
  return cache.emplace(device, info).first->second;  // std::map: references stay valid
}

}  // namespace

int current_device() {
  int device = 0;
  LINREG_CHECK(cudaGetDevice(&device));
  return device;
}

SmemLimits device_smem_limits(int device) { return device_info(device).smem; }
int device_sm_count(int device) { return device_info(device).sm_count; }

void ensure_dynamic_smem(int device, const void* kernel, const SmemNeed& need) {
  if (!need.needs_opt_in) return;
  static std::map<std::pair<int, const void*>, int64_t> raised;
  std::lock_guard<std::mutex> lock(cache_mutex());
  int64_t& current = raised[{device, kernel}];
  if (current >= need.dynamic_bytes) return;
  LINREG_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(need.dynamic_bytes)));
  current = need.dynamic_bytes;
}

int64_t kernel_static_smem(int device, const void* kernel) {
  static std::map<std::pair<int, const void*>, int64_t> sizes;
  std::lock_guard<std::mutex> lock(cache_mutex());
  auto it = sizes.find({device, kernel});
  if (it != sizes.end()) return it->second;
  cudaFuncAttributes attr{};
  LINREG_CHECK(cudaFuncGetAttributes(&attr, kernel));
  return sizes.emplace(std::make_pair(device, kernel), static_cast<int64_t>(attr.sharedSizeBytes)).first->second;
}

}  // namespace linreg::kern
