// Internals of the Tensor library, shared by its .cpp files only (not part of the API).
// Storage: one typed buffer and a version counter (bumped by every in-place write, so that
// backward() can detect a saved tensor that was modified, as PyTorch does). A cuda storage holds
// its elements in device memory owned through the GPU module (device_ops.hpp), and its host
// vectors stay empty: every op checks the device first and sends cuda tensors to device.cpp.
// TensorImpl: a strided view of a Storage plus the autograd fields.
// Node: one recorded op — its inputs (edges) and a closure mapping the output gradient to one
// gradient per input.
// Also the helpers that the Tensor core's op files (tensor.cpp, creation.cpp, elementwise.cpp,
// reductions.cpp, shape_ops.cpp, inplace.cpp) share; they are defined in tensor_impl.cpp,
// except binary_raw (elementwise.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/tensor/device_ops.hpp"
#include "host/tensor/tensor.hpp"

namespace linreg::tensor::detail {

struct Storage {
  Dtype dtype;
  int64_t size = 0;
  uint64_t version = 0;
  Device device;          // cpu, or cuda: the elements are in `block`
  DeviceBlock block;      // device memory (cuda only), released with the storage
  // Exactly one of these holds the data, chosen by dtype.
  std::vector<float> f32;
  std::vector<double> f64;
  std::vector<int64_t> i64;
  std::vector<uint8_t> b8;

  Storage(Dtype t, int64_t n);
  Storage(Dtype t, int64_t n, const Device& d);  // zero-filled on d
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  // Element i as double (int64 beyond 2^53 rounds) / as int64 (floats truncate toward zero).
  double get(int64_t i) const {
    switch (dtype) {
      case Dtype::Float32: return static_cast<double>(f32[static_cast<size_t>(i)]);
      case Dtype::Float64: return f64[static_cast<size_t>(i)];
      case Dtype::Int64: return static_cast<double>(i64[static_cast<size_t>(i)]);
      case Dtype::Bool: return b8[static_cast<size_t>(i)] ? 1.0 : 0.0;
    }
    return 0;
  }
  int64_t get_int(int64_t i) const;
  // Stores v rounded to the dtype (float32: one rounding; int64: truncation; bool: v != 0).
  void set(int64_t i, double v);
  void set_int(int64_t i, int64_t v);
};

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;            // PyTorch's grad_fn class name, e.g. "MulBackward0"
  std::vector<Tensor> inputs;  // edges; an input that does not require grad gets no gradient
  BackwardFn backward;         // empty once the graph has been freed
  std::vector<std::pair<std::shared_ptr<Storage>, uint64_t>> saved;  // storages read by backward
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  IntList sizes;
  IntList strides;
  int64_t offset = 0;
  bool requires_grad = false;
  bool wrapped_number = false;  // a C++ scalar promoted to a 0-dim tensor (type promotion)
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
};

int64_t numel_of(const IntList& sizes);
IntList contiguous_strides(const IntList& sizes);
std::string shape_str(const IntList& sizes);  // "[3, 4]"
int64_t wrap_dim(int64_t d, int64_t ndim, const char* what);

// A fresh contiguous tensor of the given shape and dtype (uninitialised = zeros), on `d`.
Tensor make_tensor(const IntList& sizes, Dtype t, const Device& d = Device());
// Storage index of every element in row-major order of t's shape.
std::vector<int64_t> element_offsets(const Tensor& t);

// Calls f(offsets) for every element of `sizes` in row-major order, where offsets[j] is the
// storage index of operand j (strides[j] must have sizes.size() entries; 0 for broadcast dims).
template <class F>
void for_each_offset(const IntList& sizes, const std::vector<IntList>& strides, std::vector<int64_t> offs, F&& f) {
  const int64_t n = numel_of(sizes);
  if (n == 0) return;
  const size_t nd = sizes.size(), nops = offs.size();
  std::vector<int64_t> counter(nd, 0);
  for (int64_t k = 0; k < n; ++k) {
    f(offs);
    for (size_t d = nd; d-- > 0;) {
      ++counter[d];
      for (size_t j = 0; j < nops; ++j) offs[j] += strides[j][d];
      if (counter[d] < sizes[d]) break;
      for (size_t j = 0; j < nops; ++j) offs[j] -= strides[j][d] * sizes[d];
      counter[d] = 0;
    }
  }
}

// Strides that read `t` as if broadcast to `out` (0 on new or stretched dimensions).
IntList broadcast_strides(const Tensor& t, const IntList& out);

// Records a Node for `out` when grad mode is on and an input requires grad.
void record(Tensor& out, const char* name, std::vector<Tensor> inputs, BackwardFn fn,
            const std::vector<Tensor>& saved = {});

// ---- helpers shared by the op files ----

// t's impl; throws TensorError for an undefined tensor (None).
const TensorImpl& I(const Tensor& t);
// A view sharing t's storage (no autograd fields).
Tensor alias(const Tensor& t, IntList sizes, IntList strides, int64_t offset);
// A C++ scalar as a 0-dim tensor flagged wrapped_number (it then promotes as a Python number).
Tensor wrap_scalar(const Scalar& s);
// Throws unless t may be written in place (grad mode off, or t does not require grad).
void check_inplace(const Tensor& t);
// Bumps the version of t's storage (after an in-place write).
void bump(const Tensor& t);
// Copies src (broadcast to dst's shape) into dst element by element, converting to dst's dtype,
// then bumps dst's version. src may overlap dst. No autograd.
void copy_into(const Tensor& dst, const Tensor& src);

enum class Bin { Add, Sub, Mul, Div, Pow, Eq, Ne, Lt, Le, Gt, Ge };

// The element-wise kernel: broadcast, promote, compute, store. No autograd. (elementwise.cpp)
Tensor binary_raw(const Tensor& a, const Tensor& b, Bin op);

// ---- the device side (device.cpp) ----

// The GPU module's tensor ops; throws TensorError naming why when no GPU is usable.
DeviceOps& device_ops();
// Tests only: sends cuda tensors to `ops` (a stand-in in host memory, tests/tensor) instead of the
// GPU module, and makes cuda::is_available() true; nullptr restores the module. Every cuda tensor
// made while a stand-in is set must be gone before it is unset.
void set_device_ops_for_testing(DeviceOps* ops);
// t's storage as a device view (t on cuda), or as a scalar operand (t a 0-dim CPU tensor).
DeviceView device_view(const Tensor& t);
// The same view read as if broadcast to `shape`.
DeviceView device_view(const Tensor& t, const IntList& shape);
ElemType elem_type(Dtype t);
// The device an op on these operands runs on: cuda when any is there. A CPU operand beside a
// cuda one must be 0-dim (it then passes as a scalar, as in PyTorch); anything else throws
// PyTorch's "Expected all tensors to be on the same device, ..." naming `op`.
Device common_device(const std::vector<Tensor>& ts, const char* op);
// The raw copy of t's elements onto `d`, contiguous, no autograd (t itself when already there).
Tensor to_device_raw(const Tensor& t, const Device& d);
// copy_into for a cuda destination or source (device.cpp).
void copy_into_device(const Tensor& dst, const Tensor& src);
// Device twins of the host kernels. Output on the device, shapes as their host twins.
Tensor device_binary(const Tensor& a, const Tensor& b, Bin op, const IntList& out_shape, Dtype compute,
                     Dtype out_dtype);
Tensor device_unary(const Tensor& a, UnaryOp op, Dtype out_dtype);
Tensor device_masked_zero(const Tensor& t, const Tensor& mask);
Tensor device_sum(const Tensor& a, const std::vector<bool>& reduce, bool keepdim, bool squares, Dtype out_dtype);
Tensor device_mm(const Tensor& a, const Tensor& b, const Tensor& bias);
void device_fill(const Tensor& t, const Scalar& v);

}  // namespace linreg::tensor::detail
