// A move-only host array for large training data, 2 MiB-aligned and marked for transparent huge
// pages: SGD reads rows in a random order, and with 4 KiB pages every row costs a TLB miss.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace linreg {

template <typename T>
class HostBuffer {
 public:
  HostBuffer() = default;
  explicit HostBuffer(size_t count) : count_(count) {
    if (count == 0) return;
    constexpr size_t kAlign = size_t{2} << 20;
    const size_t bytes = (count * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    ptr_ = static_cast<T*>(std::aligned_alloc(kAlign, bytes));
    if (!ptr_) throw std::bad_alloc();
    ::madvise(ptr_, bytes, MADV_HUGEPAGE);  // advisory: ignored where THP is off
  }
  HostBuffer(const T* src, size_t count) : HostBuffer(count) {
    if (count) std::memcpy(ptr_, src, count * sizeof(T));
  }
  ~HostBuffer() { std::free(ptr_); }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  HostBuffer(HostBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(count_, o.count_);
    return *this;
  }
  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

}  // namespace linreg
