// What the bench measures about the machine before it runs a problem: each device's copy
// bandwidth (the yardstick for the effective bandwidth of an epoch), the memory a row may use,
// and the CPU's name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace linreg::bench {

struct CopyProbe {
  double bandwidth = 0;          // bytes/s, bytes read + bytes written, median of the repeats
  int64_t bytes = 0;             // size of one copy
  int threads = 1;               // CPU threads that copied (1 for the GPU)
  std::vector<double> seconds;   // every timed repeat
};

// A large memcpy split over `threads` threads (each copies its own contiguous part), after an
// untimed warm-up that faults the pages in. Median of `repeats`.
CopyProbe cpu_copy_bandwidth(int64_t bytes, int threads, int repeats);

// The CPU's model name from /proc/cpuinfo ("cpu" when it cannot be read).
std::string cpu_model_name();
// Hardware threads the process may use (at least 1).
int cpu_threads();
// Bytes of host memory available to a new allocation (MemAvailable), 0 when unknown.
int64_t host_available_memory();

// Through the GPU module (host/train/device.hpp; DeviceUnavailable without a usable GPU):
// device-to-device copies on device 0, timed with CUDA events after a warm-up copy; and device
// 0's free and total memory.
CopyProbe gpu_copy_bandwidth(int64_t bytes, int repeats);
void gpu_memory(int64_t* free_bytes, int64_t* total_bytes);

}  // namespace linreg::bench
