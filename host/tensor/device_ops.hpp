// The contract between the Tensor library (host/tensor, in linreg_core, no CUDA) and the GPU
// module's tensor kernels (kernels/tensor_kernels.cu behind host/gpu/tensor_module.cpp). Host
// types only: a strided view is a device pointer plus sizes and strides, and every op takes views
// whose shapes the host side has already checked and broadcast. The module exports
// `linreg_gpu_tensor_ops(int abi)`, which returns the one DeviceOps of the process, or null when
// the ABI below differs (a module from another build).
//
// Numbers follow the host library's rule: floating results are computed in double and rounded
// once to the output dtype; integers in int64 with wrap-around; bool as 0/1. So a device op and
// its host twin give the same bits for element-wise ops, and differ only by the order of a
// double sum for reductions and products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace linreg::tensor {

// Bump when anything below changes (a module built from another tree is then refused).
inline constexpr int kTensorOpsAbi = 1;

// Views of more dimensions than this are refused on the device (the host library has no limit).
inline constexpr int kMaxDims = 8;

// Element types, in the order of tensor::Dtype (keep in sync with tensor.hpp's Dtype).
enum class ElemType : int32_t { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };

inline size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::Bool: return 1;
    case ElemType::Float32: return 4;
    default: return 8;
  }
}

// A strided view of device memory, or a scalar (data == nullptr: every element is `scalar`, or
// `scalar_int` when the value is an integer or bool). Strides are in elements; 0 repeats an
// element (a broadcast dimension).
struct DeviceView {
  void* data = nullptr;
  ElemType type = ElemType::Float32;
  int32_t ndim = 0;
  int64_t offset = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
  double scalar = 0;
  int64_t scalar_int = 0;
  bool scalar_is_int = false;
};

// Device memory owned by the module (a DeviceBuffer); `owner` is what release() frees.
struct DeviceBlock {
  void* data = nullptr;
  void* owner = nullptr;
};

// In the order of the host's detail::Bin (keep in sync with tensor_impl.hpp).
enum class BinaryOp : int32_t { Add, Sub, Mul, Div, Pow, Eq, Ne, Lt, Le, Gt, Ge };
// In the order of the host's unary ops (elementwise.cpp).
enum class UnaryOp : int32_t { Exp, Log, Neg, Abs, Sqrt };

// Every call runs on the module's one stream and returns once the work is queued, except the
// copies to the host, which return with the data there. Failures throw linreg::CudaError.
class DeviceOps {
 public:
  virtual ~DeviceOps() = default;

  // `bytes` of device memory, zero-filled (a fresh tensor reads as zeros, as on the host).
  virtual DeviceBlock allocate(size_t bytes) = 0;
  virtual void release(DeviceBlock block) noexcept = 0;
  virtual void upload(void* d_dst, const void* h_src, size_t bytes) = 0;
  virtual void download(void* h_dst, const void* d_src, size_t bytes) = 0;

  // dst = src converted to dst's type; src has dst's shape (0 strides where broadcast). src may
  // overlap dst: the module copies through a temporary then.
  virtual void copy(const DeviceView& dst, const DeviceView& src) = 0;
  // out = a op b computed in `compute` (Float32 rounds each operand to float first, as the
  // host's type promotion does); out contiguous, a and b with out's shape.
  virtual void binary(BinaryOp op, ElemType compute, const DeviceView& out, const DeviceView& a,
                      const DeviceView& b) = 0;
  // out = op(a); out contiguous with a's shape; floating out computes in double.
  virtual void unary(UnaryOp op, const DeviceView& out, const DeviceView& a) = 0;
  // out = a where mask is false, 0 where it is true (not a product: 0·nan stays 0); out
  // contiguous, a and mask with out's shape.
  virtual void masked_zero(const DeviceView& out, const DeviceView& a, const DeviceView& mask) = 0;
  // out (contiguous, the kept dimensions of a in order) = the sum of a over the dimensions whose
  // bit is set in reduce_mask (of a's squares when `squares`), in double (int64 for integers).
  virtual void sum(const DeviceView& out, const DeviceView& a, uint32_t reduce_mask, bool squares) = 0;
  // out (n, m) contiguous = a (n, k) @ b (k, m) (+ bias (m) on every row when bias is given).
  // Floating types through cuBLAS's dgemm on double copies, rounded once to out's type; int64
  // by a kernel.
  virtual void matmul(const DeviceView& out, const DeviceView& a, const DeviceView& b,
                      const DeviceView* bias) = 0;
  // Waits for the queued work (and reports its asynchronous faults).
  virtual void synchronize() = 0;
  // The GPU's name, e.g. "NVIDIA H200".
  virtual std::string device_name() const = 0;
};

}  // namespace linreg::tensor

// The module's entry point (host/gpu/tensor_module.cpp): the process's DeviceOps, or null when
// `abi` is not kTensorOpsAbi.
using LinregGpuTensorOpsFn = linreg::tensor::DeviceOps* (*)(int abi);
inline constexpr const char* kGpuTensorOpsSymbol = "linreg_gpu_tensor_ops";
