// The Tensor core's small, self-contained parts: dtypes and scalars, the random number
// generator, grad mode, and the Tensor class's own accessors, conversions and copies. The ops
// are in creation/elementwise/reductions/shape_ops/inplace.cpp, the internals in tensor_impl.cpp.
#include "host/tensor/tensor.hpp"

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

using detail::alias;
using detail::copy_into;
using detail::I;
using detail::make_tensor;
using detail::numel_of;
using detail::shape_str;
using detail::Storage;

// ================================ dtypes and scalars ================================

bool is_floating_point(Dtype t) { return t == Dtype::Float32 || t == Dtype::Float64; }

Dtype promote_types(Dtype a, Dtype b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

std::string dtype_name(Dtype t) {
  switch (t) {
    case Dtype::Bool: return "torch.bool";
    case Dtype::Int64: return "torch.int64";
    case Dtype::Float32: return "torch.float32";
    case Dtype::Float64: return "torch.float64";
  }
  return "?";
}

int64_t Scalar::to_int() const {
  if (kind_ != Kind::Float) return i_;
  if (!std::isfinite(d_) || d_ >= 9.2233720368547758e18 || d_ < -9.2233720368547758e18)
    throw TensorError("cannot convert float " + python_float_repr(d_) + " to integer");
  return static_cast<int64_t>(d_);
}

Dtype Scalar::dtype() const {
  switch (kind_) {
    case Kind::Bool: return Dtype::Bool;
    case Kind::Int: return Dtype::Int64;
    case Kind::Float: return Dtype::Float64;
  }
  return Dtype::Float64;
}

int64_t Size::operator[](int64_t i) const {
  const int64_t n = static_cast<int64_t>(dims.size());
  if (i < -n || i >= n)
    throw TensorError("tuple index " + std::to_string(i) + " out of range for torch.Size of " + std::to_string(n) +
                      " dimensions");
  return dims[static_cast<size_t>(i < 0 ? i + n : i)];
}

// ================================ random numbers ================================

double Generator::uniform() { return static_cast<double>((eng_() >> 11) + 1) * (1.0 / 9007199254740992.0); }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double u1 = uniform(), u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double th = 6.283185307179586476925286766559 * u2;
  spare_ = r * std::sin(th);
  has_spare_ = true;
  return r * std::cos(th);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

// ================================ grad mode ================================

namespace {
thread_local bool g_grad_enabled = true;
}
bool is_grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

// ================================ Tensor basics ================================

Tensor::operator bool() const {
  if (numel() != 1) throw TensorError("Boolean value of Tensor with more than one value is ambiguous (shape " +
                                      shape_str(sizes()) + ")");
  return item().to_bool();
}

int64_t Tensor::dim() const { return static_cast<int64_t>(I(*this).sizes.size()); }
int64_t Tensor::numel() const { return numel_of(I(*this).sizes); }
const IntList& Tensor::sizes() const { return I(*this).sizes; }
const IntList& Tensor::strides() const { return I(*this).strides; }
int64_t Tensor::size(int64_t d) const { return sizes()[static_cast<size_t>(detail::wrap_dim(d, dim(), "size"))]; }
Dtype Tensor::dtype() const { return I(*this).storage->dtype; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t d = sizes().size(); d-- > 0;) {
    if (sizes()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= sizes()[d];
  }
  return true;
}

bool Tensor::requires_grad() const { return I(*this).requires_grad; }

Tensor& Tensor::requires_grad_(bool r) {
  if (!r && !is_leaf())
    throw TensorError("you can only change requires_grad flags of leaf variables.");
  if (r && !is_floating_point())
    throw TensorError("only Tensors of floating point dtype can require gradients (got " + dtype_name(dtype()) + ")");
  impl_->requires_grad = r;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(I(*this).grad); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined() && g.sizes() != sizes())
    throw TensorError("assigned grad has shape " + shape_str(g.sizes()) + " but the tensor has shape " + shape_str(sizes()));
  impl_->grad = g.impl();
}

bool Tensor::is_leaf() const { return I(*this).grad_fn == nullptr; }

std::string Tensor::grad_fn_name() const { return I(*this).grad_fn ? I(*this).grad_fn->name : std::string(); }

Tensor Tensor::detach() const { return alias(*this, sizes(), strides(), I(*this).offset); }

Tensor Tensor::clone() const {
  Tensor out = make_tensor(sizes(), dtype(), device());
  copy_into(out, *this);
  I(out).storage->version = 0;
  detail::record(out, "CloneBackward0", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::to(Dtype t) const { return to(device(), t); }

Tensor Tensor::to(const Device& d) const { return to(d, dtype()); }

// One copy (and one ToCopyBackward0, as PyTorch records) for a change of device, dtype or both.
Tensor Tensor::to(const Device& d, Dtype t) const {
  if (t == dtype() && d == device()) return *this;
  Tensor out = make_tensor(sizes(), t, d);
  copy_into(out, *this);
  I(out).storage->version = 0;
  if (is_floating_point() && tensor::is_floating_point(t)) {
    const Dtype from = dtype();
    const Device from_dev = device();
    detail::record(out, "ToCopyBackward0", {*this},
                   [from, from_dev](const Tensor& g) { return std::vector<Tensor>{g.to(from_dev, from)}; });
  }
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Scalar Tensor::item() const {
  if (numel() != 1)
    throw TensorError("a Tensor with " + std::to_string(numel()) + " elements cannot be converted to Scalar (shape " +
                      shape_str(sizes()) + ")");
  if (is_cuda()) return detail::to_device_raw(*this, Device()).item();
  const Storage& s = *I(*this).storage;
  const int64_t off = I(*this).offset;
  switch (dtype()) {
    case Dtype::Bool: return Scalar(s.get_int(off) != 0);
    case Dtype::Int64: return Scalar(static_cast<long long>(s.get_int(off)));
    default: return Scalar(s.get(off));
  }
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  if (is_cuda()) return detail::to_device_raw(*this, Device()).to_vector<T>();
  std::vector<T> out;
  out.reserve(static_cast<size_t>(numel()));
  const Storage& s = *I(*this).storage;
  for (int64_t o : detail::element_offsets(*this)) {
    if constexpr (std::is_same_v<T, bool>) out.push_back(s.get_int(o) != 0);
    else if constexpr (std::is_integral_v<T>) out.push_back(static_cast<T>(s.get_int(o)));
    else out.push_back(static_cast<T>(s.get(o)));
  }
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

template <class T>
T* Tensor::data_ptr() const {
  if (!is_contiguous()) throw TensorError("data_ptr() needs a contiguous tensor (shape " + shape_str(sizes()) + ")");
  if (is_cuda()) throw TensorError("data_ptr(): the tensor is on cuda:0; copy it with .cpu() first");
  Storage& s = *I(*this).storage;
  const size_t off = static_cast<size_t>(I(*this).offset);
  if constexpr (std::is_same_v<T, float>) {
    if (dtype() == Dtype::Float32) return s.f32.data() + off;
  } else if constexpr (std::is_same_v<T, double>) {
    if (dtype() == Dtype::Float64) return s.f64.data() + off;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (dtype() == Dtype::Int64) return s.i64.data() + off;
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    if (dtype() == Dtype::Bool) return s.b8.data() + off;
  }
  throw TensorError("data_ptr(): the element type does not match the tensor's dtype " + dtype_name(dtype()));
}
template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template int64_t* Tensor::data_ptr<int64_t>() const;
template uint8_t* Tensor::data_ptr<uint8_t>() const;

bool Tensor::equal(const Tensor& o) const {
  detail::common_device({*this, o}, "equal");
  if (sizes() != o.sizes()) return false;
  NoGradGuard ng;
  return numel() == 0 || eq(o).to_vector<bool>() == std::vector<bool>(static_cast<size_t>(numel()), true);
}

}  // namespace linreg::tensor
