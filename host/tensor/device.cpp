// Tensors on the GPU, host side: torch.device, the default device, cuda::is_available, and the
// bridge from the Tensor library to the GPU module's kernels (device_ops.hpp). This file decides
// nothing numeric: it checks devices, turns tensors into strided device views and calls the
// module; the op files keep their shape and dtype rules and call the device_* functions below
// for cuda tensors. linreg_core links no CUDA: the module is found through host/train/device.cpp
// the first time a cuda tensor is made.
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/tensor/device_ops.hpp"
#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"
#include "host/train/device.hpp"

namespace linreg::tensor {

static_assert(static_cast<int>(ElemType::Bool) == static_cast<int>(Dtype::Bool) &&
                  static_cast<int>(ElemType::Int64) == static_cast<int>(Dtype::Int64) &&
                  static_cast<int>(ElemType::Float32) == static_cast<int>(Dtype::Float32) &&
                  static_cast<int>(ElemType::Float64) == static_cast<int>(Dtype::Float64),
              "device_ops.hpp's ElemType must list tensor.hpp's Dtype in the same order");
static_assert(static_cast<int>(BinaryOp::Ge) == static_cast<int>(detail::Bin::Ge) &&
                  static_cast<int>(BinaryOp::Pow) == static_cast<int>(detail::Bin::Pow),
              "device_ops.hpp's BinaryOp must list tensor_impl.hpp's Bin in the same order");

// ================================ devices ================================

Device::Device(DeviceType type, int index) : type_(type) {
  if (index > 0 || index < -1)
    throw TensorError("Invalid device index " + std::to_string(index) + ": linreg drives one GPU, cuda:0");
}

Device::Device(const std::string& spec) : type_(DeviceType::CPU) {
  if (spec == "cpu") return;
  if (spec == "cuda" || spec == "cuda:0") {
    type_ = DeviceType::CUDA;
    return;
  }
  if (spec.rfind("cuda:", 0) == 0)
    throw TensorError("Invalid device " + spec + ": linreg drives one GPU, cuda:0");
  throw TensorError("Expected one of cpu, cuda device type at start of device string: " + spec);
}

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

namespace detail {
namespace {
DeviceOps* g_test_ops = nullptr;  // set_device_ops_for_testing
}
}  // namespace detail

namespace cuda {
bool is_available() { return detail::g_test_ops != nullptr || probe_gpu().usable; }
std::string unavailable_reason() {
  if (detail::g_test_ops) return std::string();
  const GpuProbe p = probe_gpu();
  return p.usable ? std::string() : p.reason;
}
}  // namespace cuda

namespace {
thread_local Device g_default_device;
}
Device default_device() { return g_default_device; }
void set_default_device(const Device& d) { g_default_device = d; }
DefaultDeviceGuard::DefaultDeviceGuard(const Device& d) : prev_(g_default_device) { g_default_device = d; }
DefaultDeviceGuard::~DefaultDeviceGuard() { g_default_device = prev_; }

Device Tensor::device() const { return detail::I(*this).storage->device; }

namespace detail {

namespace {

DeviceOps* load_ops() {
  if (!cuda::is_available())
    throw TensorError("cannot use cuda:0: no usable GPU (" + cuda::unavailable_reason() + ")");
  void* sym = gpu_module_symbol(kGpuTensorOpsSymbol);
  DeviceOps* ops = sym ? reinterpret_cast<LinregGpuTensorOpsFn>(sym)(kTensorOpsAbi) : nullptr;
  if (!ops)
    throw TensorError("cannot use cuda:0: the GPU module " + gpu_module_path() +
                      " has no tensor ops of this version of linreg");
  return ops;
}

std::mutex g_ops_mutex;
DeviceOps* g_ops = nullptr;

// Host pointer to a CPU storage's elements.
void* host_data(Storage& s) {
  switch (s.dtype) {
    case Dtype::Float32: return s.f32.data();
    case Dtype::Float64: return s.f64.data();
    case Dtype::Int64: return s.i64.data();
    case Dtype::Bool: return s.b8.data();
  }
  return nullptr;
}

size_t bytes_of(const Tensor& t) { return static_cast<size_t>(t.numel()) * elem_size(elem_type(t.dtype())); }

DeviceView scalar_view(const Tensor& t) {
  DeviceView v;
  v.type = elem_type(t.dtype());
  const Storage& s = *I(t).storage;
  const int64_t off = I(t).offset;
  v.scalar_is_int = !t.is_floating_point();
  if (v.scalar_is_int) {
    v.scalar_int = s.get_int(off);
    v.scalar = static_cast<double>(v.scalar_int);
  } else {
    v.scalar = s.get(off);
  }
  return v;
}

void check_dims(size_t nd) {
  if (nd > static_cast<size_t>(kMaxDims))
    throw TensorError("tensors on cuda:0 have at most " + std::to_string(kMaxDims) + " dimensions here (got " +
                      std::to_string(nd) + ")");
}

DeviceView view_with(const Tensor& t, const IntList& sizes, const IntList& strides) {
  check_dims(sizes.size());
  if (!t.is_cuda()) {
    if (t.numel() != 1 || t.dim() != 0)
      throw TensorError("internal error: a CPU tensor of shape " + shape_str(t.sizes()) + " passed to a cuda kernel");
    DeviceView v = scalar_view(t);
    v.ndim = static_cast<int32_t>(sizes.size());
    for (size_t d = 0; d < sizes.size(); ++d) v.sizes[d] = sizes[d];
    return v;
  }
  DeviceView v;
  v.data = I(t).storage->block.data;
  v.type = elem_type(t.dtype());
  v.ndim = static_cast<int32_t>(sizes.size());
  v.offset = I(t).offset;
  for (size_t d = 0; d < sizes.size(); ++d) {
    v.sizes[d] = sizes[d];
    v.strides[d] = strides[d];
  }
  return v;
}

Tensor cuda_out(const IntList& shape, Dtype t) { return make_tensor(shape, t, Device(DeviceType::CUDA)); }

}  // namespace

DeviceOps& device_ops() {
  std::lock_guard<std::mutex> lock(g_ops_mutex);
  if (g_test_ops) return *g_test_ops;
  if (!g_ops) g_ops = load_ops();
  return *g_ops;
}

void set_device_ops_for_testing(DeviceOps* ops) {
  std::lock_guard<std::mutex> lock(g_ops_mutex);
  g_test_ops = ops;
}

ElemType elem_type(Dtype t) { return static_cast<ElemType>(static_cast<int>(t)); }

DeviceView device_view(const Tensor& t) { return view_with(t, t.sizes(), t.strides()); }

DeviceView device_view(const Tensor& t, const IntList& shape) {
  if (!t.is_cuda()) return view_with(t, shape, IntList(shape.size(), 0));
  return view_with(t, shape, broadcast_strides(t, shape));
}

Device common_device(const std::vector<Tensor>& ts, const char* op) {
  bool any_cuda = false;
  for (const Tensor& t : ts) any_cuda = any_cuda || (t.defined() && t.is_cuda());
  if (!any_cuda) return Device();
  for (const Tensor& t : ts)
    if (t.defined() && !t.is_cuda() && t.dim() != 0)
      throw TensorError(std::string("Expected all tensors to be on the same device, but found at least two devices, "
                                    "cuda:0 and cpu! (in ") + op + ")");
  return Device(DeviceType::CUDA);
}

Tensor to_device_raw(const Tensor& t, const Device& d) {
  if (t.device() == d) return t;
  Tensor out = make_tensor(t.sizes(), t.dtype(), d);
  copy_into_device(out, t);
  I(out).storage->version = 0;
  return out;
}

void copy_into_device(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  DeviceOps& ops = device_ops();
  if (dst.is_cuda() && (src.is_cuda() || src.dim() == 0)) {
    ops.copy(device_view(dst), device_view(src, dst.sizes()));
    return;
  }
  if (dst.is_cuda()) {
    // From the host: src broadcast and made contiguous there, one upload, then a typed copy.
    Tensor host = make_tensor(dst.sizes(), src.dtype());
    copy_into(host, src);
    Tensor staged = cuda_out(dst.sizes(), src.dtype());
    ops.upload(I(staged).storage->block.data, host_data(*I(host).storage), bytes_of(host));
    ops.copy(device_view(dst), device_view(staged));
    return;
  }
  // To the host: gathered into a contiguous device buffer of dst's shape, one download.
  Tensor staged = cuda_out(dst.sizes(), src.dtype());
  ops.copy(device_view(staged), device_view(src, dst.sizes()));
  Tensor host = make_tensor(dst.sizes(), src.dtype());
  ops.download(host_data(*I(host).storage), I(staged).storage->block.data, bytes_of(host));
  copy_into(dst, host);
}

Tensor device_binary(const Tensor& a, const Tensor& b, Bin op, const IntList& out_shape, Dtype compute,
                     Dtype out_dtype) {
  Tensor out = cuda_out(out_shape, out_dtype);
  if (out.numel() == 0) return out;
  device_ops().binary(static_cast<BinaryOp>(static_cast<int>(op)), elem_type(compute), device_view(out),
                      device_view(a, out_shape), device_view(b, out_shape));
  return out;
}

Tensor device_unary(const Tensor& a, UnaryOp op, Dtype out_dtype) {
  Tensor out = cuda_out(a.sizes(), out_dtype);
  if (out.numel() == 0) return out;
  device_ops().unary(op, device_view(out), device_view(a));
  return out;
}

Tensor device_masked_zero(const Tensor& t, const Tensor& mask) {
  const IntList shape = broadcast_shapes(t.sizes(), mask.sizes());
  common_device({t, mask}, "masked_fill");
  Tensor out = cuda_out(shape, t.dtype());
  if (out.numel() == 0) return out;
  device_ops().masked_zero(device_view(out), device_view(t, shape), device_view(mask, shape));
  return out;
}

Tensor device_sum(const Tensor& a, const std::vector<bool>& reduce, bool keepdim, bool squares, Dtype out_dtype) {
  const IntList& in = a.sizes();
  check_dims(in.size());
  IntList out_shape;
  uint32_t bits = 0;
  for (size_t d = 0; d < in.size(); ++d) {
    if (reduce[d]) bits |= 1u << d;
    if (!reduce[d]) out_shape.push_back(in[d]);
    else if (keepdim) out_shape.push_back(1);
  }
  Tensor out = cuda_out(out_shape, out_dtype);
  if (out.numel() == 0) return out;
  // An empty reduction is a sum of nothing: the fresh output's zeros.
  if (a.numel() == 0) return out;
  device_ops().sum(device_view(out), device_view(a), bits, squares);
  return out;
}

Tensor device_mm(const Tensor& a, const Tensor& b, const Tensor& bias) {
  Tensor out = cuda_out({a.size(0), b.size(1)}, a.dtype());
  if (out.numel() == 0) return out;
  DeviceView bv;
  if (bias.defined()) bv = device_view(bias);
  device_ops().matmul(device_view(out), device_view(a), device_view(b), bias.defined() ? &bv : nullptr);
  return out;
}

void device_fill(const Tensor& t, const Scalar& v) {
  if (t.numel() == 0) return;
  check_dims(t.sizes().size());
  DeviceView s;
  s.ndim = static_cast<int32_t>(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) s.sizes[d] = t.sizes()[static_cast<size_t>(d)];
  s.scalar_is_int = !v.is_floating_point();
  s.scalar = v.to_double();
  s.scalar_int = s.scalar_is_int ? v.to_int() : 0;
  s.type = s.scalar_is_int ? ElemType::Int64 : ElemType::Float64;
  device_ops().copy(device_view(t), s);
}

}  // namespace detail

}  // namespace linreg::tensor
