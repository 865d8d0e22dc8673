// The GPU module's tensor ops (host/tensor/device_ops.hpp) and their entry point,
// linreg_gpu_tensor_ops, the module's second exported symbol. Storage is DeviceBuffer memory;
// element-wise ops, sums and copies are the kernels of kernels/tensor_kernels.cu; floating
// matrix products are cuBLAS dgemm on double copies of the operands, rounded once to the output
// type, which is the host library's rule (sum in double, round once) with cuBLAS doing the sum.
// Everything runs on the legacy default stream, so the synchronous copies to and from the host
// order themselves after the kernels with no further synchronisation.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "host/tensor/device_ops.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/tensor_kernels.hpp"

namespace linreg {
namespace {

using tensor::DeviceBlock;
using tensor::DeviceView;
using tensor::ElemType;

// A contiguous row-major view of `data` with the given 2-D or n-D shape.
DeviceView contiguous_view(void* data, ElemType type, const DeviceView& shape) {
  DeviceView v;
  v.data = data;
  v.type = type;
  v.ndim = shape.ndim;
  int64_t acc = 1;
  for (int d = shape.ndim - 1; d >= 0; --d) {
    v.sizes[d] = shape.sizes[d];
    v.strides[d] = acc;
    acc *= shape.sizes[d];
  }
  return v;
}

int64_t numel_of(const DeviceView& v) {
  int64_t n = 1;
  for (int d = 0; d < v.ndim; ++d) n *= v.sizes[d];
  return n;
}

class CudaTensorOps final : public tensor::DeviceOps {
 public:
  DeviceBlock allocate(size_t bytes) override {
    // Never an empty buffer: a 0-element tensor still owns a block (a valid, distinct address).
    auto* buf = new DeviceBuffer<unsigned char>();
    try {
      buf->resize(bytes ? bytes : 1);
      LINREG_CHECK(cudaMemsetAsync(buf->data(), 0, buf->bytes(), nullptr));
    } catch (...) {
      delete buf;
      throw;
    }
    return {buf->data(), buf};
  }

  void release(DeviceBlock block) noexcept override { delete static_cast<DeviceBuffer<unsigned char>*>(block.owner); }

  void upload(void* d_dst, const void* h_src, size_t bytes) override {
    if (bytes) LINREG_CHECK(cudaMemcpy(d_dst, h_src, bytes, cudaMemcpyHostToDevice));
  }

  void download(void* h_dst, const void* d_src, size_t bytes) override {
    if (bytes) LINREG_CHECK(cudaMemcpy(h_dst, d_src, bytes, cudaMemcpyDeviceToHost));
  }

  void copy(const DeviceView& dst, const DeviceView& src) override {
    if (src.data && src.data == dst.data) {
      // Same storage (x.copy_(x.t())): read everything first, as the host does.
      const size_t count = static_cast<size_t>(std::max<int64_t>(numel_of(dst), 1));
      DeviceBuffer<unsigned char> tmp(count * tensor::elem_size(src.type));
      const DeviceView staged = contiguous_view(tmp.data(), src.type, dst);
      kern::tensor_copy(staged, src, nullptr);
      kern::tensor_copy(dst, staged, nullptr);
      return;
    }
    kern::tensor_copy(dst, src, nullptr);
  }

  void binary(tensor::BinaryOp op, ElemType compute, const DeviceView& out, const DeviceView& a,
              const DeviceView& b) override {
    kern::tensor_binary(op, compute, out, a, b, nullptr);
  }

  void unary(tensor::UnaryOp op, const DeviceView& out, const DeviceView& a) override {
    kern::tensor_unary(op, out, a, nullptr);
  }

  void masked_zero(const DeviceView& out, const DeviceView& a, const DeviceView& mask) override {
    kern::tensor_masked_zero(out, a, mask, nullptr);
  }

  void sum(const DeviceView& out, const DeviceView& a, uint32_t reduce_mask, bool squares) override {
    kern::tensor_sum(out, a, reduce_mask, squares, nullptr);
  }

  void matmul(const DeviceView& out, const DeviceView& a, const DeviceView& b, const DeviceView* bias) override {
    const int64_t n = a.sizes[0], k = a.sizes[1], m = b.sizes[1];
    if (n == 0 || m == 0) return;
    if (out.type == ElemType::Int64 || out.type == ElemType::Bool) {
      kern::tensor_matmul_int(out, a, b, bias, nullptr);
      return;
    }
    if (n > INT_MAX || k > INT_MAX || m > INT_MAX)
      throw CudaError("matmul on cuda:0: a dimension above 2^31 - 1 (cuBLAS takes int sizes)");
    // Row-major A (n, k), B (k, m), C (n, m) in double; C starts as the bias rows (beta = 1) or 0.
    // Per call, so that nothing is left allocated at exit (compute-sanitizer's leak check).
    DeviceBuffer<double> d_a(static_cast<size_t>(std::max<int64_t>(n * k, 1)));
    DeviceBuffer<double> d_b(static_cast<size_t>(std::max<int64_t>(k * m, 1)));
    DeviceBuffer<double> d_c(static_cast<size_t>(n * m));
    kern::tensor_copy(contiguous_view(d_a.data(), ElemType::Float64, a), a, nullptr);
    kern::tensor_copy(contiguous_view(d_b.data(), ElemType::Float64, b), b, nullptr);
    const DeviceView c = contiguous_view(d_c.data(), ElemType::Float64, out);
    double beta = 0;
    if (bias) {
      DeviceView rows = *bias;  // (m) read as (n, m): every row the bias
      rows.ndim = 2;
      rows.sizes[0] = n;
      rows.sizes[1] = m;
      rows.strides[1] = bias->strides[0];
      rows.strides[0] = 0;
      kern::tensor_copy(c, rows, nullptr);
      beta = 1;
    } else if (k == 0) {
      LINREG_CHECK(cudaMemsetAsync(d_c.data(), 0, d_c.bytes(), nullptr));
    }
    if (k > 0) {
      // cuBLAS is column-major: row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ, with Bᵀ (m, k)
      // stored as B (leading dimension m) and Aᵀ (k, n) as A (leading dimension k).
      const double one = 1;
      LINREG_CHECK(cublasDgemm(handle(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(m), static_cast<int>(n),
                               static_cast<int>(k), &one, d_b.data(), static_cast<int>(m), d_a.data(),
                               static_cast<int>(k), &beta, d_c.data(), static_cast<int>(m)));
    }
    kern::tensor_copy(out, c, nullptr);
  }

  // Frees the cuBLAS handle (and its workspace) at exit, while the CUDA runtime still runs.
  void drop_handle() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    cublas_.reset();
  }

  void synchronize() override { LINREG_CHECK(cudaDeviceSynchronize()); }

  std::string device_name() const override {
    cudaDeviceProp prop{};
    LINREG_CHECK(cudaGetDeviceProperties(&prop, 0));
    return prop.name;
  }

 private:
  cublasHandle_t handle() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!cublas_) {
      cublas_ = std::make_unique<CublasHandle>();
      LINREG_CHECK(cublasSetStream(cublas_->get(), nullptr));
      LINREG_CHECK(cublasSetPointerMode(cublas_->get(), CUBLAS_POINTER_MODE_HOST));
    }
    return cublas_->get();
  }

  std::mutex mutex_;
  std::unique_ptr<CublasHandle> cublas_;
};

CudaTensorOps* g_ops = nullptr;
void drop_handle_at_exit() {
  if (g_ops) g_ops->drop_handle();
}

}  // namespace
}  // namespace linreg

extern "C" __attribute__((visibility("default"))) linreg::tensor::DeviceOps* linreg_gpu_tensor_ops(int abi) {
  // Never destroyed: a tensor freed during static destruction still releases into a live object.
  // Its cuBLAS handle goes at exit, registered after the CUDA runtime's own exit handler (the
  // device probe ran first), so it runs before the runtime shuts down.
  static linreg::tensor::DeviceOps* const ops = [] {
    linreg::g_ops = new linreg::CudaTensorOps();
    std::atexit(linreg::drop_handle_at_exit);
    return linreg::g_ops;
  }();
  return abi == linreg::tensor::kTensorOpsAbi ? ops : nullptr;
}
