// Limits of the current CUDA device that launch sizing depends on, read once per device and
// cached (the runtime calls cost microseconds; launchers ask on every launch).
#pragma once

#include "kernels/launch_limits.hpp"

namespace linreg::kern {

// The calling thread's current device (cudaGetDevice).
int current_device();

// Its shared-memory limits and multiprocessor count.
SmemLimits device_smem_limits(int device);
int device_sm_count(int device);

// Raises `kernel`'s dynamic shared-memory limit to at least `dynamic_bytes` on `device` when the
// launch needs more than the 48 KB default (cudaFuncSetAttribute); remembers what was set, so a
// kernel launched again (or captured into a graph) makes no further runtime call. `kernel` is the
// address of a __global__ function.
void ensure_dynamic_smem(int device, const void* kernel, const SmemNeed& need);

// Static shared memory of `kernel` (cudaFuncGetAttributes), cached per device and kernel.
int64_t kernel_static_smem(int device, const void* kernel);

}  // namespace linreg::kern
