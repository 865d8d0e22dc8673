// Every owner of a GPU resource, in one place: device memory, pinned host memory, streams,
// events, CUDA graphs, and the cuBLAS and cuSOLVER handles. Each is move-only or non-copyable
// RAII: allocate once per run, outside the step loop. Destructors never throw: a failure there is
// ignored (the context may already be torn down).
#pragma once

#include <cstddef>
#include <utility>

#include <cusolverDn.h>

#include "kernels/cuda_check.hpp"

namespace linreg {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) { resize(count); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }

  // Discards the contents. A zero count frees.
  void resize(size_t count) {
    if (count == count_) return;
    release();
    if (count == 0) return;
    void* p = nullptr;
    LINREG_CHECK(cudaMalloc(&p, count * sizeof(T)));
    ptr_ = static_cast<T*>(p);
    count_ = count;
  }

  void upload(const T* host, size_t count, cudaStream_t stream = nullptr) {
    check_count(count);
    if (count) LINREG_CHECK(cudaMemcpyAsync(ptr_, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  void download(T* host, size_t count, cudaStream_t stream = nullptr) const {
    check_count(count);
    if (count) LINREG_CHECK(cudaMemcpyAsync(host, ptr_, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  void check_count(size_t count) const {
    if (count > count_) throw CudaError("DeviceBuffer: copy of " + std::to_string(count) + " elements into " + std::to_string(count_));
  }
  void release() noexcept {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    count_ = 0;
  }
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

class CudaStream {
 public:
  CudaStream() { LINREG_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~CudaStream() { if (s_) cudaStreamDestroy(s_); }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  cudaStream_t get() const { return s_; }
 private:
  cudaStream_t s_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent() { LINREG_CHECK(cudaEventCreate(&e_)); }
  ~CudaEvent() { if (e_) cudaEventDestroy(e_); }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return e_; }
  void record(cudaStream_t s) { LINREG_CHECK(cudaEventRecord(e_, s)); }
  // Milliseconds from `start` to this event (both recorded; synchronises on this one).
  float since(const CudaEvent& start) const {
    LINREG_CHECK(cudaEventSynchronize(e_));
    float ms = 0;
    LINREG_CHECK(cudaEventElapsedTime(&ms, start.e_, e_));
    return ms;
  }
 private:
  cudaEvent_t e_ = nullptr;
};

class CublasHandle {
 public:
  CublasHandle() { LINREG_CHECK(cublasCreate(&h_)); }
  ~CublasHandle() { if (h_) cublasDestroy(h_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return h_; }
 private:
  cublasHandle_t h_ = nullptr;
};

// Page-locked host memory: the target of a truly asynchronous device-to-host copy.
template <typename T>
class PinnedBuffer {
 public:
  explicit PinnedBuffer(size_t count) {
    void* p = nullptr;
    LINREG_CHECK(cudaMallocHost(&p, count * sizeof(T)));
    ptr_ = static_cast<T*>(p);
  }
  ~PinnedBuffer() {
    if (ptr_) cudaFreeHost(ptr_);
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  T* data() { return ptr_; }

 private:
  T* ptr_ = nullptr;
};

// An instantiated CUDA graph (owns both the graph and its executable).
class Graph {
 public:
  Graph() = default;
  ~Graph() { reset(); }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void reset() noexcept {
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
    exec_ = nullptr;
    graph_ = nullptr;
  }
  // Captures whatever `enqueue` launches on `stream`. On an exception the capture is ended (so
  // the stream is usable again) and the exception passes on.
  template <typename F>
  void capture(cudaStream_t stream, F&& enqueue) {
    reset();
    LINREG_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      enqueue();
    } catch (...) {
      cudaGraph_t g = nullptr;
      cudaStreamEndCapture(stream, &g);
      if (g) cudaGraphDestroy(g);
      cudaGetLastError();  // clear a capture-invalidation error, if any
      throw;
    }
    LINREG_CHECK(cudaStreamEndCapture(stream, &graph_));
    LINREG_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
  }
  void launch(cudaStream_t stream) const { LINREG_CHECK(cudaGraphLaunch(exec_, stream)); }
  // Moves the executable graph's device-side setup to `stream` now, so that the first launch (a
  // timed one) does not pay for it.
  void upload(cudaStream_t stream) const { LINREG_CHECK(cudaGraphUpload(exec_, stream)); }

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

class CusolverHandle {
 public:
  CusolverHandle() { LINREG_CHECK(cusolverDnCreate(&h_)); }
  ~CusolverHandle() { if (h_) cusolverDnDestroy(h_); }
  CusolverHandle(const CusolverHandle&) = delete;
  CusolverHandle& operator=(const CusolverHandle&) = delete;
  cusolverDnHandle_t get() const { return h_; }
 private:
  cusolverDnHandle_t h_ = nullptr;
};

}  // namespace linreg
