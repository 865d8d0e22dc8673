// Definitions of the internals declared in tensor_impl.hpp: Storage's typed access, shape and
// stride helpers, allocation, autograd recording, and the alias/copy/scalar helpers that all the
// op files (creation, elementwise, reductions, ...) share, kept here so that those hold only ops.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

// ================================ internals ================================

namespace detail {

Storage::Storage(Dtype t, int64_t n) : Storage(t, n, Device()) {}

Storage::Storage(Dtype t, int64_t n, const Device& d) : dtype(t), size(n), device(d) {
  if (d.is_cuda()) {
    block = device_ops().allocate(static_cast<size_t>(n) * elem_size(elem_type(t)));
    return;
  }
  const size_t m = static_cast<size_t>(n);
  switch (t) {
    case Dtype::Float32: f32.assign(m, 0.0f); break;
    case Dtype::Float64: f64.assign(m, 0.0); break;
    case Dtype::Int64: i64.assign(m, 0); break;
    case Dtype::Bool: b8.assign(m, 0); break;
  }
}

Storage::~Storage() {
  if (block.owner) device_ops().release(block);
}

namespace {
int64_t double_to_int64(double v) {
  if (std::isnan(v)) return 0;  // as the x86 conversion PyTorch relies on would, minus the UB
  if (v >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
  if (v < -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}
}  // namespace

int64_t Storage::get_int(int64_t i) const {
  switch (dtype) {
    case Dtype::Int64: return i64[static_cast<size_t>(i)];
    case Dtype::Bool: return b8[static_cast<size_t>(i)] ? 1 : 0;
    default: return double_to_int64(get(i));
  }
}

void Storage::set(int64_t i, double v) {
  const size_t k = static_cast<size_t>(i);
  switch (dtype) {
    case Dtype::Float32: f32[k] = static_cast<float>(v); break;
    case Dtype::Float64: f64[k] = v; break;
    case Dtype::Int64: i64[k] = double_to_int64(v); break;
    case Dtype::Bool: b8[k] = v != 0.0; break;
  }
}

void Storage::set_int(int64_t i, int64_t v) {
  const size_t k = static_cast<size_t>(i);
  switch (dtype) {
    case Dtype::Float32: f32[k] = static_cast<float>(v); break;
    case Dtype::Float64: f64[k] = static_cast<double>(v); break;
    case Dtype::Int64: i64[k] = v; break;
    case Dtype::Bool: b8[k] = v != 0; break;
  }
}

int64_t numel_of(const IntList& sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

IntList contiguous_strides(const IntList& sizes) {
  IntList st(sizes.size(), 1);
  int64_t acc = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    st[d] = acc;
    acc *= std::max<int64_t>(sizes[d], 1);
  }
  return st;
}

std::string shape_str(const IntList& sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

int64_t wrap_dim(int64_t d, int64_t ndim, const char* what) {
  const int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  if (d < lo || d > hi)
    throw TensorError(std::string(what) + ": dimension out of range (expected to be in range of [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "], but got " + std::to_string(d) + ")");
  return d < 0 ? d + std::max<int64_t>(ndim, 1) : d;
}

Tensor make_tensor(const IntList& sizes, Dtype t, const Device& d) {
  for (int64_t s : sizes)
    if (s < 0) throw TensorError("negative dimension in shape " + shape_str(sizes));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(t, numel_of(sizes), d);
  impl->sizes = sizes;
  impl->strides = contiguous_strides(sizes);
  return Tensor(std::move(impl));
}

std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(t.numel()));
  for_each_offset(t.sizes(), {t.strides()}, {t.unsafe_impl()->offset},
                  [&](const std::vector<int64_t>& o) { out.push_back(o[0]); });
  return out;
}

IntList broadcast_strides(const Tensor& t, const IntList& out) {
  IntList st(out.size(), 0);
  const size_t nd = t.sizes().size(), lead = out.size() - nd;
  for (size_t d = 0; d < nd; ++d)
    st[lead + d] = (t.sizes()[d] == 1 && out[lead + d] != 1) ? 0 : t.strides()[d];
  return st;
}

void record(Tensor& out, const char* name, std::vector<Tensor> inputs, BackwardFn fn, const std::vector<Tensor>& saved) {
  if (!is_grad_enabled()) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(fn);
  for (const Tensor& s : saved) node->saved.emplace_back(s.unsafe_impl()->storage, s.unsafe_impl()->storage->version);
  out.unsafe_impl()->grad_fn = std::move(node);
  out.unsafe_impl()->requires_grad = true;
}

// ---- helpers shared by the op files ----

const TensorImpl& I(const Tensor& t) {
  if (!t.defined()) throw TensorError("operation on an undefined tensor (None)");
  return *t.unsafe_impl();
}

// A view sharing t's storage (no autograd fields).
Tensor alias(const Tensor& t, IntList sizes, IntList strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = I(t).storage;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  return Tensor(std::move(impl));
}

Tensor wrap_scalar(const Scalar& s) {
  Tensor t = make_tensor({}, s.dtype());
  if (s.is_floating_point()) t.unsafe_impl()->storage->set(0, s.to_double());
  else t.unsafe_impl()->storage->set_int(0, s.to_int());
  t.unsafe_impl()->wrapped_number = true;
  return t;
}

void check_inplace(const Tensor& t) {
  if (is_grad_enabled() && t.requires_grad()) {
    if (t.is_leaf())
      throw TensorError("a leaf Variable that requires grad is being used in an in-place operation "
                        "(wrap it in torch::NoGradGuard, or modify t.data())");
    throw TensorError("in-place operations on tensors that require grad are not supported (use an "
                      "out-of-place op, or torch::NoGradGuard)");
  }
}

void bump(const Tensor& t) { ++I(t).storage->version; }

// Copies src (broadcast to dst's shape) into dst element by element, converting to dst's dtype.
void copy_into(const Tensor& dst, const Tensor& src) {
  const IntList b = broadcast_shapes(dst.sizes(), src.sizes());
  if (b != dst.sizes())
    throw TensorError("output with shape " + shape_str(dst.sizes()) + " doesn't match the broadcast shape " +
                      shape_str(b));
  if (dst.is_cuda() || src.is_cuda()) {
    copy_into_device(dst, src);
    bump(dst);
    return;
  }
  // Read everything first: src may overlap dst (x.copy_(x.t())).
  std::vector<double> vals_d;
  std::vector<int64_t> vals_i;
  const bool as_int = !is_floating_point(dst.dtype()) && !is_floating_point(src.dtype());
  const Storage& ss = *I(src).storage;
  for_each_offset(dst.sizes(), {detail::broadcast_strides(src, dst.sizes())}, {I(src).offset},
                  [&](const std::vector<int64_t>& o) {
                    if (as_int) vals_i.push_back(ss.get_int(o[0]));
                    else vals_d.push_back(ss.get(o[0]));
                  });
  Storage& sd = *I(dst).storage;
  size_t k = 0;
  for_each_offset(dst.sizes(), {dst.strides()}, {I(dst).offset}, [&](const std::vector<int64_t>& o) {
    if (as_int) sd.set_int(o[0], vals_i[k++]);
    else sd.set(o[0], vals_d[k++]);
  });
  bump(dst);
}

}  // namespace detail

}  // namespace linreg::tensor
