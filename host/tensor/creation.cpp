// Factory functions: torch::tensor from nested literals, scalar_tensor, arange, empty / zeros /
// ones / full (and the _like forms), randn / normal, and from_vector. They make new leaf
// tensors and record no gradients, unlike the op files. Each puts its tensor on the options'
// device, else the default device; values are made on the host and uploaded once, and random
// numbers come from the same host generator on either device, so a seed means the same tensor.
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

using detail::I;
using detail::make_tensor;
using detail::numel_of;
using detail::shape_str;
using detail::Storage;

// ================================ creation ================================

namespace {

void infer_data(const TensorData& d, size_t depth, IntList& shape, bool& any_float, bool& any_int) {
  if (d.is_scalar()) {
    if (depth != shape.size())
      throw TensorError("expected a sequence at dim " + std::to_string(depth) + " but got a number");
    any_float = any_float || d.scalar().kind() == Scalar::Kind::Float;
    any_int = any_int || d.scalar().kind() == Scalar::Kind::Int;
    return;
  }
  const int64_t n = static_cast<int64_t>(d.list().size());
  if (depth == shape.size()) {
    // First time at this depth: the shape is decided by the first element of each level.
    shape.push_back(n);
    if (n > 0 && !d.list()[0].is_scalar()) {
      // extended when recursing below
    }
  } else if (shape[depth] != n) {
    throw TensorError("expected sequence of length " + std::to_string(shape[depth]) + " at dim " +
                      std::to_string(depth) + " (got " + std::to_string(n) + ")");
  }
  for (const TensorData& e : d.list()) infer_data(e, depth + 1, shape, any_float, any_int);
}

void fill_data(const TensorData& d, Storage& s, int64_t& k) {
  if (d.is_scalar()) {
    if (d.scalar().is_floating_point()) s.set(k++, d.scalar().to_double());
    else s.set_int(k++, d.scalar().to_int());
    return;
  }
  for (const TensorData& e : d.list()) fill_data(e, s, k);
}

Device where(const TensorOptions& opts) { return opts.device_.value_or(default_device()); }

// Moves a tensor built on the host to the asked device (one upload), then sets requires_grad.
Tensor finish(Tensor t, const TensorOptions& opts) {
  t = detail::to_device_raw(t, where(opts));
  if (opts.requires_grad_) t.requires_grad_(true);
  return t;
}

TensorOptions like(const Tensor& t, const TensorOptions& opts) {
  TensorOptions o = opts;
  if (!o.dtype_) o.dtype_ = t.dtype();
  if (!o.device_) o.device_ = t.device();
  return o;
}

}  // namespace

Tensor tensor(const TensorData& data, const TensorOptions& opts) {
  IntList shape;
  bool any_float = false, any_int = false;
  infer_data(data, 0, shape, any_float, any_int);
  const Dtype inferred = any_float ? kDefaultFloat : any_int ? Dtype::Int64 : Dtype::Bool;
  Tensor out = make_tensor(shape, opts.dtype_.value_or(inferred));
  int64_t k = 0;
  fill_data(data, *I(out).storage, k);
  return finish(out, opts);
}

Tensor scalar_tensor(const Scalar& v, const TensorOptions& opts) {
  Tensor t = make_tensor({}, opts.dtype_.value_or(v.is_floating_point() ? kDefaultFloat : v.dtype()));
  if (v.is_floating_point()) I(t).storage->set(0, v.to_double());
  else I(t).storage->set_int(0, v.to_int());
  return finish(t, opts);
}

Tensor arange(const Scalar& end, const TensorOptions& opts) { return arange(0, end, 1, opts); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, const TensorOptions& opts) {
  const bool fl = start.is_floating_point() || end.is_floating_point() || step.is_floating_point();
  const Dtype t = opts.dtype_.value_or(fl ? kDefaultFloat : Dtype::Int64);
  const double s = start.to_double(), e = end.to_double(), st = step.to_double();
  if (st == 0) throw TensorError("arange: step must be nonzero");
  if (!std::isfinite(s) || !std::isfinite(e)) throw TensorError("arange: unsupported range " + python_float_repr(s) + " -> " + python_float_repr(e));
  if ((st > 0 && e < s) || (st < 0 && e > s))
    throw TensorError("arange: upper bound and larger bound inconsistent with step sign");
  const int64_t n = static_cast<int64_t>(std::ceil((e - s) / st));
  Tensor out = make_tensor({n}, t);
  Storage& so = *I(out).storage;
  for (int64_t i = 0; i < n; ++i) {
    if (!fl && !is_floating_point(t)) so.set_int(i, start.to_int() + i * step.to_int());
    else so.set(i, s + static_cast<double>(i) * st);
  }
  return finish(out, opts);
}

Tensor empty(const IntList& shape, const TensorOptions& opts) {
  return finish(make_tensor(shape, opts.dtype_.value_or(kDefaultFloat), where(opts)), opts);
}
Tensor zeros(const IntList& shape, const TensorOptions& opts) { return empty(shape, opts); }
Tensor ones(const IntList& shape, const TensorOptions& opts) {
  TensorOptions o = opts;
  o.dtype_ = opts.dtype_.value_or(kDefaultFloat);
  return full(shape, 1, o);
}

Tensor full(const IntList& shape, const Scalar& v, const TensorOptions& opts) {
  const Dtype t = opts.dtype_.value_or(v.is_floating_point() ? kDefaultFloat : v.dtype());
  Tensor out = make_tensor(shape, t, where(opts));
  out.fill_(v);
  I(out).storage->version = 0;
  return finish(out, opts);
}

// The _like forms take t's dtype and device unless opts name others (ones_like(x, device=...)).
Tensor zeros_like(const Tensor& t, const TensorOptions& opts) { return zeros(t.sizes(), like(t, opts)); }
Tensor ones_like(const Tensor& t, const TensorOptions& opts) { return ones(t.sizes(), like(t, opts)); }
Tensor full_like(const Tensor& t, const Scalar& v, const TensorOptions& opts) { return full(t.sizes(), v, like(t, opts)); }

Tensor randn(const IntList& shape, const TensorOptions& opts, Generator* gen) { return normal(0, 1, shape, opts, gen); }

Tensor normal(double mean, double std, const IntList& shape, const TensorOptions& opts, Generator* gen) {
  Tensor out = make_tensor(shape, opts.dtype_.value_or(kDefaultFloat));
  if (!out.is_floating_point()) throw TensorError("normal: expected a floating point dtype, got " + dtype_name(out.dtype()));
  out.normal_(mean, std, gen);
  I(out).storage->version = 0;
  return finish(out, opts);
}

namespace {
template <class V>
Tensor from_values(const V& values, const IntList& shape, Dtype natural, const TensorOptions& opts) {
  if (numel_of(shape) != static_cast<int64_t>(values.size()))
    throw TensorError("from_vector: " + std::to_string(values.size()) + " values do not fill shape " + shape_str(shape));
  Tensor out = make_tensor(shape, opts.dtype_.value_or(natural));
  Storage& s = *I(out).storage;
  for (size_t i = 0; i < values.size(); ++i) {
    if constexpr (std::is_integral_v<typename V::value_type>) s.set_int(static_cast<int64_t>(i), values[i]);
    else s.set(static_cast<int64_t>(i), static_cast<double>(values[i]));
  }
  return finish(out, opts);
}
}  // namespace

Tensor from_vector(const std::vector<float>& v, const IntList& shape, const TensorOptions& opts) {
  return from_values(v, shape, Dtype::Float32, opts);
}
Tensor from_vector(const std::vector<double>& v, const IntList& shape, const TensorOptions& opts) {
  return from_values(v, shape, Dtype::Float64, opts);
}
Tensor from_vector(const std::vector<int64_t>& v, const IntList& shape, const TensorOptions& opts) {
  return from_values(v, shape, Dtype::Int64, opts);
}

}  // namespace linreg::tensor
