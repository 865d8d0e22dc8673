// In-place writes: fill_ / zero_ / copy_ / normal_ and add_ / sub_ / mul_ / div_ / += ... They
// share one set of rules: each checks that autograd allows the write and bumps the storage
// version that backward() verifies.
#include <cstdint>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

using detail::Bin;
using detail::binary_raw;
using detail::bump;
using detail::check_inplace;
using detail::copy_into;
using detail::for_each_offset;
using detail::I;
using detail::Storage;
using detail::wrap_scalar;

namespace {

bool can_cast(Dtype from, Dtype to) {
  if (is_floating_point(from) && !is_floating_point(to)) return false;
  if (from != Dtype::Bool && to == Dtype::Bool) return false;
  return true;
}

}  // namespace

// ================================ in-place ================================

Tensor& Tensor::fill_(const Scalar& v) {
  check_inplace(*this);
  if (is_cuda()) {
    detail::device_fill(*this, v);
    bump(*this);
    return *this;
  }
  Storage& s = *I(*this).storage;
  for_each_offset(sizes(), {strides()}, {I(*this).offset}, [&](const std::vector<int64_t>& o) {
    if (v.is_floating_point()) s.set(o[0], v.to_double());
    else s.set_int(o[0], v.to_int());
  });
  bump(*this);
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0); }

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this);
  copy_into(*this, src);
  return *this;
}

Tensor& Tensor::normal_(double mean, double std, Generator* gen) {
  check_inplace(*this);
  if (!is_floating_point()) throw TensorError("normal_ expects a floating point tensor, got " + dtype_name(dtype()));
  if (!(std >= 0)) throw TensorError("normal_ expects std >= 0.0, but found std " + python_float_repr(std));
  if (is_cuda()) {
    // Drawn on the host by the same generator and uploaded: a seed gives the same numbers on
    // either device.
    Tensor host = detail::make_tensor(sizes(), dtype());
    host.normal_(mean, std, gen);
    copy_into(*this, host);
    return *this;
  }
  Generator& g = gen ? *gen : default_generator();
  Storage& s = *I(*this).storage;
  for_each_offset(sizes(), {strides()}, {I(*this).offset},
                  [&](const std::vector<int64_t>& o) { s.set(o[0], mean + std * g.normal()); });
  bump(*this);
  return *this;
}

namespace {
Tensor& inplace_binary(Tensor& self, const Tensor& o, Bin op) {
  check_inplace(self);
  Tensor r;
  {
    NoGradGuard ng;
    r = binary_raw(self, o, op);
  }
  if (!can_cast(r.dtype(), self.dtype()))
    throw TensorError("result type " + dtype_name(r.dtype()) + " can't be cast to the desired output type " +
                      dtype_name(self.dtype()));
  copy_into(self, r);
  return self;
}
}  // namespace

Tensor& Tensor::add_(const Tensor& o) { return inplace_binary(*this, o, Bin::Add); }
Tensor& Tensor::sub_(const Tensor& o) { return inplace_binary(*this, o, Bin::Sub); }
Tensor& Tensor::mul_(const Tensor& o) { return inplace_binary(*this, o, Bin::Mul); }
Tensor& Tensor::div_(const Tensor& o) { return inplace_binary(*this, o, Bin::Div); }
Tensor& Tensor::operator+=(const Scalar& o) { return inplace_binary(*this, wrap_scalar(o), Bin::Add); }
Tensor& Tensor::operator-=(const Scalar& o) { return inplace_binary(*this, wrap_scalar(o), Bin::Sub); }
Tensor& Tensor::operator*=(const Scalar& o) { return inplace_binary(*this, wrap_scalar(o), Bin::Mul); }
Tensor& Tensor::operator/=(const Scalar& o) { return inplace_binary(*this, wrap_scalar(o), Bin::Div); }

}  // namespace linreg::tensor
