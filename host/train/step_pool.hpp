// A tiny fork-join pool for the CPU trainer's large minibatch steps: run(task) calls task(t) on
// threads t = 0..size()-1 (0 is the caller) and returns when all are done. Workers spin briefly
// before sleeping, since a step is tens of microseconds and a condition-variable wake costs about
// as much. Deterministic by construction: each thread owns a fixed slice and its own partial sums.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace linreg {

class StepPool {
 public:
  explicit StepPool(int threads);
  ~StepPool();
  StepPool(const StepPool&) = delete;
  StepPool& operator=(const StepPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void run(const std::function<void(int)>& task);

  // Threads to use on this machine: hardware concurrency, at least 1, capped by `cap`.
  static int default_threads(int cap = 8);

 private:
  void worker(int index);

  std::vector<std::thread> workers_;
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
};

}  // namespace linreg
