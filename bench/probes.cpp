#include "bench/probes.hpp"

#include "bench/bench_math.hpp"
#include "host/train/device.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "bench/bench_math.hpp"
#include "host/core/error.hpp"

namespace linreg::bench {

CopyProbe cpu_copy_bandwidth(int64_t bytes, int threads, int repeats) {
  if (bytes <= 0 || threads <= 0 || repeats <= 0) throw InputError("cpu_copy_bandwidth: sizes must be positive");
  CopyProbe probe;
  probe.bytes = bytes;
  probe.threads = threads;
  const size_t n = static_cast<size_t>(bytes);
  std::unique_ptr<char[]> src(new char[n]);
  std::unique_ptr<char[]> dst(new char[n]);
  // Fault every page in (and make the source non-zero, so no zero-page tricks apply).
  std::memset(src.get(), 1, n);
  std::memset(dst.get(), 0, n);

  auto copy_once = [&] {
    if (threads == 1) {
      std::memcpy(dst.get(), src.get(), n);
      return;
    }
    std::vector<std::thread> pool;
    const size_t chunk = (n + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
    for (int t = 0; t < threads; ++t) {
      const size_t begin = std::min(n, chunk * static_cast<size_t>(t));
      const size_t len = std::min(n - begin, chunk);
      pool.emplace_back([&, begin, len] { std::memcpy(dst.get() + begin, src.get() + begin, len); });
    }
    for (auto& th : pool) th.join();
  };

  copy_once();  // warm-up
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    copy_once();
    probe.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  // Keep the copies observable, so that no compiler may drop them.
  volatile char sink = dst[n / 2];
  (void)sink;
  probe.bandwidth = copy_bandwidth(static_cast<double>(bytes), median(probe.seconds));
  return probe;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) break;
      const auto b = line.find_first_not_of(" \t", colon + 1);
      const auto e = line.find_last_not_of(" \t\r");
      if (b != std::string::npos) return line.substr(b, e - b + 1);
    }
  }
  return "cpu";
}

int cpu_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int64_t host_available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long long value = 0;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return static_cast<int64_t>(value) * 1024;
  }
  const long pages = ::sysconf(_SC_AVPHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
}

CopyProbe gpu_copy_bandwidth(int64_t bytes, int repeats) {
  CopyProbe probe;
  probe.bytes = bytes;
  probe.threads = 1;
  probe.seconds = gpu_backend().copy_seconds(bytes, repeats);
  // bytes read + bytes written: 2·bytes per copy.
  probe.bandwidth = copy_bandwidth(static_cast<double>(bytes), median(probe.seconds));
  return probe;
}

void gpu_memory(int64_t* free_bytes, int64_t* total_bytes) { gpu_backend().memory_info(free_bytes, total_bytes); }

}  // namespace linreg::bench
