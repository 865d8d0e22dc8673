// The Tensor core: storage, creation, views, element-wise ops with broadcasting and PyTorch's
// type promotion, reductions, products, indexing and in-place writes. Gradients of each op are
// recorded here too (the engine that runs them is autograd.cpp).
#include "host/tensor/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

using detail::for_each_offset;
using detail::make_tensor;
using detail::numel_of;
using detail::shape_str;
using detail::Storage;
using detail::TensorImpl;

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

// ================================ internals ================================

namespace detail {

Storage::Storage(Dtype t, int64_t n) : dtype(t), size(n) {
  const size_t m = static_cast<size_t>(n);
  switch (t) {
    case Dtype::Float32: f32.assign(m, 0.0f); break;
    case Dtype::Float64: f64.assign(m, 0.0); break;
    case Dtype::Int64: i64.assign(m, 0); break;
    case Dtype::Bool: b8.assign(m, 0); break;
  }
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

Tensor make_tensor(const IntList& sizes, Dtype t) {
  for (int64_t s : sizes)
    if (s < 0) throw TensorError("negative dimension in shape " + shape_str(sizes));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(t, numel_of(sizes));
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

}  // namespace detail

namespace {

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

// PyTorch's result_type over tensors with dimensions, 0-dim tensors and wrapped numbers.
std::optional<Dtype> promote_opt(std::optional<Dtype> a, std::optional<Dtype> b) {
  if (!a) return b;
  if (!b) return a;
  return promote_types(*a, *b);
}
std::optional<Dtype> combine_categories(std::optional<Dtype> higher, std::optional<Dtype> lower) {
  if (higher && is_floating_point(*higher)) return higher;
  if ((higher && *higher == Dtype::Bool) || (lower && is_floating_point(*lower))) return promote_opt(higher, lower);
  if (higher) return higher;
  return lower;
}
Dtype result_type(const std::vector<Tensor>& ts) {
  std::optional<Dtype> dim_r, zero_r, wrapped_r;
  for (const Tensor& t : ts) {
    Dtype cur = t.dtype();
    if (I(t).wrapped_number) {
      if (is_floating_point(cur)) cur = kDefaultFloat;
      wrapped_r = promote_opt(wrapped_r, cur);
    } else if (t.dim() == 0) {
      zero_r = promote_opt(zero_r, cur);
    } else {
      dim_r = promote_opt(dim_r, cur);
    }
  }
  return *combine_categories(dim_r, combine_categories(zero_r, wrapped_r));
}

bool can_cast(Dtype from, Dtype to) {
  if (is_floating_point(from) && !is_floating_point(to)) return false;
  if (from != Dtype::Bool && to == Dtype::Bool) return false;
  return true;
}

// Value of operand element at storage index i, converted to the compute dtype.
inline double load_as(const Storage& s, int64_t i, Dtype compute) {
  const double v = s.get(i);
  return compute == Dtype::Float32 ? static_cast<double>(static_cast<float>(v)) : v;
}

enum class Bin { Add, Sub, Mul, Div, Pow, Eq, Ne, Lt, Le, Gt, Ge };


bool is_comparison(Bin op) { return op >= Bin::Eq; }

int64_t int_pow(int64_t base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if (base == -1) return (e % 2 == 0) ? 1 : -1;
    throw TensorError("Integers to negative integer powers are not allowed.");
  }
  uint64_t r = 1, b = static_cast<uint64_t>(base);
  uint64_t k = static_cast<uint64_t>(e);
  while (k) {  // wraps like PyTorch's int64 arithmetic, without signed overflow
    if (k & 1) r *= b;
    b *= b;
    k >>= 1;
  }
  return static_cast<int64_t>(r);
}

// The element-wise kernel: broadcast, promote, compute, store. No autograd.
Tensor binary_raw(const Tensor& a, const Tensor& b, Bin op) {
  const IntList out_shape = broadcast_shapes(a.sizes(), b.sizes());
  const Dtype common = result_type({a, b});
  Dtype compute = common, out_dtype = common;
  if (op == Bin::Div && !is_floating_point(common)) compute = out_dtype = kDefaultFloat;
  if (is_comparison(op)) out_dtype = Dtype::Bool;
  if (common == Dtype::Bool && (op == Bin::Sub))
    throw TensorError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                      "Use the `^` or `logical_xor()` operator instead.");
  Tensor out = make_tensor(out_shape, out_dtype);
  const Storage& sa = *I(a).storage;
  const Storage& sb = *I(b).storage;
  Storage& so = *I(out).storage;
  int64_t k = 0;
  const std::vector<IntList> strides = {detail::broadcast_strides(a, out_shape), detail::broadcast_strides(b, out_shape)};
  if (is_floating_point(compute)) {
    for_each_offset(out_shape, strides, {I(a).offset, I(b).offset}, [&](const std::vector<int64_t>& o) {
      const double x = load_as(sa, o[0], compute), y = load_as(sb, o[1], compute);
      double r = 0;
      switch (op) {
        case Bin::Add: r = x + y; break;
        case Bin::Sub: r = x - y; break;
        case Bin::Mul: r = x * y; break;
        case Bin::Div: r = x / y; break;
        case Bin::Pow: r = std::pow(x, y); break;
        case Bin::Eq: r = x == y; break;
        case Bin::Ne: r = x != y; break;
        case Bin::Lt: r = x < y; break;
        case Bin::Le: r = x <= y; break;
        case Bin::Gt: r = x > y; break;
        case Bin::Ge: r = x >= y; break;
      }
      so.set(k++, r);
    });
  } else {
    for_each_offset(out_shape, strides, {I(a).offset, I(b).offset}, [&](const std::vector<int64_t>& o) {
      const int64_t x = sa.get_int(o[0]), y = sb.get_int(o[1]);
      const uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
      int64_t r = 0;
      switch (op) {
        case Bin::Add: r = compute == Dtype::Bool ? (x || y) : static_cast<int64_t>(ux + uy); break;
        case Bin::Sub: r = static_cast<int64_t>(ux - uy); break;
        case Bin::Mul: r = compute == Dtype::Bool ? (x && y) : static_cast<int64_t>(ux * uy); break;
        case Bin::Div: break;  // never: true division computes in floating point
        case Bin::Pow: r = int_pow(x, y); break;
        case Bin::Eq: r = x == y; break;
        case Bin::Ne: r = x != y; break;
        case Bin::Lt: r = x < y; break;
        case Bin::Le: r = x <= y; break;
        case Bin::Gt: r = x > y; break;
        case Bin::Ge: r = x >= y; break;
      }
      so.set_int(k++, r);
    });
  }
  return out;
}

enum class Un { Exp, Log, Neg, Abs, Sqrt };

Tensor unary_raw(const Tensor& a, Un op) {
  const bool needs_float = op == Un::Exp || op == Un::Log || op == Un::Sqrt;
  if (op == Un::Neg && a.dtype() == Dtype::Bool)
    throw TensorError("Negation, the `-` operator, on a bool tensor is not supported.");
  const Dtype out_dtype = (needs_float && !is_floating_point(a.dtype())) ? kDefaultFloat : a.dtype();
  Tensor out = make_tensor(a.sizes(), out_dtype);
  const Storage& sa = *I(a).storage;
  Storage& so = *I(out).storage;
  int64_t k = 0;
  for_each_offset(a.sizes(), {a.strides()}, {I(a).offset}, [&](const std::vector<int64_t>& o) {
    if (is_floating_point(out_dtype)) {
      const double x = sa.get(o[0]);
      double r = 0;
      switch (op) {
        case Un::Exp: r = std::exp(x); break;
        case Un::Log: r = std::log(x); break;
        case Un::Neg: r = -x; break;
        case Un::Abs: r = std::fabs(x); break;
        case Un::Sqrt: r = std::sqrt(x); break;
      }
      so.set(k++, r);
    } else {
      const int64_t x = sa.get_int(o[0]);
      const int64_t r = op == Un::Neg ? static_cast<int64_t>(0 - static_cast<uint64_t>(x))
                                      : (x < 0 ? static_cast<int64_t>(0 - static_cast<uint64_t>(x)) : x);
      so.set_int(k++, r);
    }
  });
  return out;
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

// Sum over `dims` (already wrapped, unique) in double / int64; out dtype int64 for integers.
Tensor sum_raw(const Tensor& a, const std::vector<bool>& reduce, bool keepdim) {
  const IntList& in = a.sizes();
  IntList out_keep(in.size());
  for (size_t d = 0; d < in.size(); ++d) out_keep[d] = reduce[d] ? 1 : in[d];
  const bool fl = a.is_floating_point();
  const int64_t m = numel_of(out_keep);
  std::vector<double> acc_d(fl ? static_cast<size_t>(m) : 0, 0.0);
  std::vector<int64_t> acc_i(fl ? 0 : static_cast<size_t>(m), 0);
  const IntList ostr = detail::contiguous_strides(out_keep);
  IntList red_str(in.size());
  for (size_t d = 0; d < in.size(); ++d) red_str[d] = reduce[d] ? 0 : ostr[d];
  const Storage& sa = *I(a).storage;
  for_each_offset(in, {a.strides(), red_str}, {I(a).offset, 0}, [&](const std::vector<int64_t>& o) {
    if (fl) acc_d[static_cast<size_t>(o[1])] += sa.get(o[0]);
    else acc_i[static_cast<size_t>(o[1])] = static_cast<int64_t>(static_cast<uint64_t>(acc_i[static_cast<size_t>(o[1])]) +
                                                                 static_cast<uint64_t>(sa.get_int(o[0])));
  });
  IntList out_shape;
  for (size_t d = 0; d < in.size(); ++d)
    if (!reduce[d] || keepdim) out_shape.push_back(out_keep[d]);
  Tensor out = make_tensor(out_shape, fl ? a.dtype() : Dtype::Int64);
  Storage& so = *I(out).storage;
  for (int64_t i = 0; i < m; ++i) {
    if (fl) so.set(i, acc_d[static_cast<size_t>(i)]);
    else so.set_int(i, acc_i[static_cast<size_t>(i)]);
  }
  return out;
}

std::vector<bool> reduce_mask(const IntList& dims, int64_t ndim, const char* what) {
  std::vector<bool> mask(static_cast<size_t>(ndim), dims.empty());
  for (int64_t d : dims) {
    const int64_t w = detail::wrap_dim(d, ndim, what);
    if (ndim == 0) continue;
    if (mask[static_cast<size_t>(w)] && !dims.empty())
      throw TensorError(std::string(what) + ": dim " + std::to_string(w) + " appears multiple times in the list of dims");
    mask[static_cast<size_t>(w)] = true;
  }
  return mask;
}

// (n, k) @ (k, m) for 2-D tensors of one dtype, accumulated in double / int64.
Tensor mm_raw(const Tensor& a, const Tensor& b) {
  const int64_t n = a.size(0), k = a.size(1), m = b.size(1);
  Tensor out = make_tensor({n, m}, a.dtype());
  const Storage& sa = *I(a).storage;
  const Storage& sb = *I(b).storage;
  Storage& so = *I(out).storage;
  const int64_t as0 = a.strides()[0], as1 = a.strides()[1], bs0 = b.strides()[0], bs1 = b.strides()[1];
  const bool fl = a.is_floating_point();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double acc = 0;
      uint64_t acc_i = 0;
      for (int64_t p = 0; p < k; ++p) {
        const int64_t ia = I(a).offset + i * as0 + p * as1, ib = I(b).offset + p * bs0 + j * bs1;
        if (fl) acc += sa.get(ia) * sb.get(ib);
        else acc_i += static_cast<uint64_t>(sa.get_int(ia)) * static_cast<uint64_t>(sb.get_int(ib));
      }
      if (fl) so.set(i * m + j, acc);
      else so.set_int(i * m + j, static_cast<int64_t>(acc_i));
    }
  return out;
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* what) {
  if (a.dtype() != b.dtype())
    throw TensorError(std::string(what) + ": expected both tensors to have the same dtype, but got " +
                      dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()));
}

Tensor reshape_alias(const Tensor& t, const IntList& shape) {
  return alias(t, shape, detail::contiguous_strides(shape), I(t).offset);
}

IntList infer_shape(IntList shape, int64_t numel) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw TensorError("only one dimension can be inferred (shape " + shape_str(shape) + ")");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw TensorError("invalid shape dimension " + std::to_string(shape[i]) + " in shape " + shape_str(shape));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      throw TensorError("shape '" + shape_str(shape) + "' is invalid for input of size " + std::to_string(numel));
    shape[static_cast<size_t>(infer)] = numel / known;
  } else if (known != numel) {
    throw TensorError("shape '" + shape_str(shape) + "' is invalid for input of size " + std::to_string(numel));
  }
  return shape;
}

}  // namespace

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
  Tensor out = make_tensor(sizes(), dtype());
  copy_into(out, *this);
  I(out).storage->version = 0;
  detail::record(out, "CloneBackward0", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::to(Dtype t) const {
  if (t == dtype()) return *this;
  Tensor out = make_tensor(sizes(), t);
  copy_into(out, *this);
  I(out).storage->version = 0;
  if (is_floating_point() && tensor::is_floating_point(t)) {
    const Dtype from = dtype();
    detail::record(out, "ToCopyBackward0", {*this}, [from](const Tensor& g) { return std::vector<Tensor>{g.to(from)}; });
  }
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Scalar Tensor::item() const {
  if (numel() != 1)
    throw TensorError("a Tensor with " + std::to_string(numel()) + " elements cannot be converted to Scalar (shape " +
                      shape_str(sizes()) + ")");
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
  if (sizes() != o.sizes()) return false;
  NoGradGuard ng;
  return numel() == 0 || eq(o).to_vector<bool>() == std::vector<bool>(static_cast<size_t>(numel()), true);
}

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

Tensor finish(Tensor t, const TensorOptions& opts) {
  if (opts.requires_grad_) t.requires_grad_(true);
  return t;
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
  return finish(make_tensor(shape, opts.dtype_.value_or(kDefaultFloat)), opts);
}
Tensor zeros(const IntList& shape, const TensorOptions& opts) { return empty(shape, opts); }
Tensor ones(const IntList& shape, const TensorOptions& opts) {
  return full(shape, 1, TensorOptions(opts.dtype_.value_or(kDefaultFloat)).requires_grad(opts.requires_grad_));
}

Tensor full(const IntList& shape, const Scalar& v, const TensorOptions& opts) {
  const Dtype t = opts.dtype_.value_or(v.is_floating_point() ? kDefaultFloat : v.dtype());
  Tensor out = make_tensor(shape, t);
  out.fill_(v);
  I(out).storage->version = 0;
  return finish(out, opts);
}

Tensor zeros_like(const Tensor& t, const TensorOptions& opts) { return zeros(t.sizes(), TensorOptions(opts.dtype_.value_or(t.dtype())).requires_grad(opts.requires_grad_)); }
Tensor ones_like(const Tensor& t, const TensorOptions& opts) { return ones(t.sizes(), TensorOptions(opts.dtype_.value_or(t.dtype())).requires_grad(opts.requires_grad_)); }
Tensor full_like(const Tensor& t, const Scalar& v, const TensorOptions& opts) {
  return full(t.sizes(), v, TensorOptions(opts.dtype_.value_or(t.dtype())).requires_grad(opts.requires_grad_));
}

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

// ================================ broadcasting and element-wise ops ================================

IntList broadcast_shapes(const IntList& a, const IntList& b) {
  const size_t n = std::max(a.size(), b.size());
  IntList out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw TensorError("The size of tensor a (" + std::to_string(da) + ") must match the size of tensor b (" +
                        std::to_string(db) + ") at non-singleton dimension " + std::to_string(i) + " (shapes " +
                        shape_str(a) + " and " + shape_str(b) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor sum_to(const Tensor& g, const IntList& shape) {
  if (g.sizes() == shape) return g;
  const size_t nd = g.sizes().size();
  if (shape.size() > nd) throw TensorError("sum_to: cannot reduce " + shape_str(g.sizes()) + " to " + shape_str(shape));
  std::vector<bool> mask(nd, false);
  const size_t lead = nd - shape.size();
  for (size_t d = 0; d < nd; ++d) {
    if (d < lead) mask[d] = true;
    else if (shape[d - lead] == 1 && g.sizes()[d] != 1) mask[d] = true;
    else if (shape[d - lead] != g.sizes()[d])
      throw TensorError("sum_to: cannot reduce " + shape_str(g.sizes()) + " to " + shape_str(shape));
  }
  IntList dims;
  for (size_t d = 0; d < nd; ++d)
    if (mask[d]) dims.push_back(static_cast<int64_t>(d));
  Tensor s = dims.empty() ? g : g.sum(dims, true);
  return s.reshape(shape);
}

namespace {

// t with the elements where mask (broadcast to t) is true replaced by 0 (not multiplied: 0·nan).
Tensor masked_zero(const Tensor& t, const Tensor& mask) {
  const IntList shape = broadcast_shapes(t.sizes(), mask.sizes());
  Tensor out = make_tensor(shape, t.dtype());
  const Storage& st = *I(t).storage;
  const Storage& sm = *I(mask).storage;
  Storage& so = *I(out).storage;
  int64_t k = 0;
  for_each_offset(shape, {detail::broadcast_strides(t, shape), detail::broadcast_strides(mask, shape)},
                  {I(t).offset, I(mask).offset},
                  [&](const std::vector<int64_t>& o) { so.set(k++, sm.get_int(o[1]) ? 0.0 : st.get(o[0])); });
  return out;
}

Tensor binary_op(const Tensor& a, const Tensor& b, Bin op) {
  Tensor out = binary_raw(a, b, op);
  if (is_comparison(op) || !out.is_floating_point()) return out;
  const IntList sa = a.sizes(), sb = b.sizes();
  const Dtype da = a.dtype(), db = b.dtype();
  auto cast = [](const Tensor& g, Dtype t) { return g.dtype() == t || !is_floating_point(t) ? g : g.to(t); };
  // PyTorch names a op with a wrapped scalar on the left (2 - x, 2 ** x) after the reversed op.
  const bool left_scalar = I(a).wrapped_number;
  switch (op) {
    case Bin::Add:
      detail::record(out, "AddBackward0", {a, b}, [sa, sb, da, db, cast](const Tensor& g) {
        return std::vector<Tensor>{cast(sum_to(g, sa), da), cast(sum_to(g, sb), db)};
      });
      break;
    case Bin::Sub:
      detail::record(out, left_scalar ? "RsubBackward1" : "SubBackward0", {a, b}, [sa, sb, da, db, cast](const Tensor& g) {
        return std::vector<Tensor>{cast(sum_to(g, sa), da), cast(sum_to(-g, sb), db)};
      });
      break;
    case Bin::Mul: {
      const Tensor ad = a.detach(), bd = b.detach();
      detail::record(out, "MulBackward0", {a, b}, [=](const Tensor& g) {
        return std::vector<Tensor>{a.requires_grad() ? cast(sum_to(g * bd, sa), da) : Tensor(),
                                   b.requires_grad() ? cast(sum_to(g * ad, sb), db) : Tensor()};
      }, {a, b});
      break;
    }
    case Bin::Div: {
      const Tensor ad = a.detach(), bd = b.detach();
      detail::record(out, left_scalar ? "MulBackward0" : "DivBackward0", {a, b}, [=](const Tensor& g) {
        return std::vector<Tensor>{
            a.requires_grad() ? cast(sum_to(g / bd, sa), da) : Tensor(),
            b.requires_grad() ? cast(sum_to(-g * ad / (bd * bd), sb), db) : Tensor()};
      }, {a, b});
      break;
    }
    case Bin::Pow: {
      const Tensor ad = a.detach(), bd = b.detach(), od = out.detach();
      const char* name = I(b).wrapped_number ? "PowBackward0" : left_scalar ? "PowBackward2" : "PowBackward1";
      detail::record(out, name, {a, b}, [=](const Tensor& g) {
        const Dtype ot = od.dtype();
        Tensor ga, gb;
        if (a.requires_grad()) {
          // d/da a^b = b·a^(b−1), replaced by 0 where b == 0 (PyTorch's pow_backward).
          Tensor d = masked_zero((bd * pow(ad.to(ot), bd - 1)).to(ot), bd == 0);
          ga = cast(sum_to(g * d, sa), da);
        }
        if (b.requires_grad()) {
          // d/db a^b = a^b·log(a), replaced by 0 where a == 0 and b >= 0.
          Tensor d = masked_zero(od * log(ad.to(ot)), (ad == 0) * (bd >= 0));
          gb = cast(sum_to(g * d, sb), db);
        }
        return std::vector<Tensor>{ga, gb};
      }, {a, b, out});
      break;
    }
    default: break;
  }
  return out;
}

Tensor scalar_op(const Tensor& a, const Scalar& s, Bin op) { return binary_op(a, wrap_scalar(s), op); }
Tensor rscalar_op(const Scalar& s, const Tensor& a, Bin op) { return binary_op(wrap_scalar(s), a, op); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(a, b, Bin::Add); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(a, b, Bin::Sub); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(a, b, Bin::Mul); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(a, b, Bin::Div); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary_op(a, b, Bin::Pow); }
Tensor pow(const Tensor& a, const Scalar& b) { return scalar_op(a, b, Bin::Pow); }
Tensor pow(const Scalar& a, const Tensor& b) { return rscalar_op(a, b, Bin::Pow); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, const Scalar& b) { return scalar_op(a, b, Bin::Add); }
Tensor operator-(const Tensor& a, const Scalar& b) { return scalar_op(a, b, Bin::Sub); }
Tensor operator*(const Tensor& a, const Scalar& b) { return scalar_op(a, b, Bin::Mul); }
Tensor operator/(const Tensor& a, const Scalar& b) { return scalar_op(a, b, Bin::Div); }
Tensor operator+(const Scalar& a, const Tensor& b) { return scalar_op(b, a, Bin::Add); }
Tensor operator-(const Scalar& a, const Tensor& b) { return rscalar_op(a, b, Bin::Sub); }
Tensor operator*(const Scalar& a, const Tensor& b) { return scalar_op(b, a, Bin::Mul); }
Tensor operator/(const Scalar& a, const Tensor& b) { return rscalar_op(a, b, Bin::Div); }
Tensor operator==(const Tensor& a, const Tensor& b) { return binary_raw(a, b, Bin::Eq); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return binary_raw(a, b, Bin::Ne); }
Tensor operator<(const Tensor& a, const Tensor& b) { return binary_raw(a, b, Bin::Lt); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return binary_raw(a, b, Bin::Le); }
Tensor operator>(const Tensor& a, const Tensor& b) { return binary_raw(a, b, Bin::Gt); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return binary_raw(a, b, Bin::Ge); }
Tensor operator==(const Tensor& a, const Scalar& b) { return binary_raw(a, wrap_scalar(b), Bin::Eq); }
Tensor operator!=(const Tensor& a, const Scalar& b) { return binary_raw(a, wrap_scalar(b), Bin::Ne); }
Tensor operator<(const Tensor& a, const Scalar& b) { return binary_raw(a, wrap_scalar(b), Bin::Lt); }
Tensor operator<=(const Tensor& a, const Scalar& b) { return binary_raw(a, wrap_scalar(b), Bin::Le); }
Tensor operator>(const Tensor& a, const Scalar& b) { return binary_raw(a, wrap_scalar(b), Bin::Gt); }
Tensor operator>=(const Tensor& a, const Scalar& b) { return binary_raw(a, wrap_scalar(b), Bin::Ge); }

Tensor Tensor::eq(const Tensor& o) const { return *this == o; }
Tensor Tensor::ne(const Tensor& o) const { return *this != o; }
Tensor Tensor::lt(const Tensor& o) const { return *this < o; }
Tensor Tensor::le(const Tensor& o) const { return *this <= o; }
Tensor Tensor::gt(const Tensor& o) const { return *this > o; }
Tensor Tensor::ge(const Tensor& o) const { return *this >= o; }
Tensor Tensor::pow(const Tensor& e) const { return tensor::pow(*this, e); }
Tensor Tensor::pow(const Scalar& e) const { return tensor::pow(*this, e); }

Tensor exp(const Tensor& a) {
  Tensor out = unary_raw(a, Un::Exp);
  const Tensor od = out.detach();
  detail::record(out, "ExpBackward0", {a}, [od](const Tensor& g) { return std::vector<Tensor>{g * od}; }, {out});
  return out;
}
Tensor log(const Tensor& a) {
  Tensor out = unary_raw(a, Un::Log);
  const Tensor ad = a.detach();
  detail::record(out, "LogBackward0", {a}, [ad](const Tensor& g) { return std::vector<Tensor>{g / ad}; }, {a});
  return out;
}
Tensor sqrt(const Tensor& a) {
  Tensor out = unary_raw(a, Un::Sqrt);
  const Tensor od = out.detach();
  detail::record(out, "SqrtBackward0", {a}, [od](const Tensor& g) { return std::vector<Tensor>{g / (2 * od)}; }, {out});
  return out;
}
Tensor abs(const Tensor& a) {
  Tensor out = unary_raw(a, Un::Abs);
  const Tensor ad = a.detach();
  detail::record(out, "AbsBackward0", {a}, [ad](const Tensor& g) {
    // sign(a), 0 at 0
    Tensor sgn = (ad > 0).to(g.dtype()) - (ad < 0).to(g.dtype());
    return std::vector<Tensor>{g * sgn};
  }, {a});
  return out;
}
Tensor neg(const Tensor& a) {
  Tensor out = unary_raw(a, Un::Neg);
  detail::record(out, "NegBackward0", {a}, [](const Tensor& g) { return std::vector<Tensor>{-g}; });
  return out;
}
Tensor Tensor::exp() const { return tensor::exp(*this); }
Tensor Tensor::log() const { return tensor::log(*this); }
Tensor Tensor::neg() const { return tensor::neg(*this); }
Tensor Tensor::abs() const { return tensor::abs(*this); }
Tensor Tensor::sqrt() const { return tensor::sqrt(*this); }

// ================================ reductions and products ================================

Tensor Tensor::sum() const { return sum(IntList{}, false); }
Tensor Tensor::sum(int64_t d, bool keepdim) const { return sum(IntList{d}, keepdim); }

Tensor Tensor::sum(const IntList& dims, bool keepdim) const {
  const std::vector<bool> mask = reduce_mask(dims, dim(), "sum");
  Tensor out = sum_raw(*this, mask, keepdim);
  const IntList in = sizes();
  const Dtype dt = dtype();
  detail::record(out, dims.empty() ? "SumBackward0" : "SumBackward1", {*this}, [in, mask, dt](const Tensor& g) {
    IntList keep = in;
    for (size_t d = 0; d < in.size(); ++d)
      if (mask[d]) keep[d] = 1;
    return std::vector<Tensor>{g.reshape(keep).expand(in).to(dt)};
  });
  return out;
}

Tensor Tensor::mean() const { return mean(IntList{}, false); }
Tensor Tensor::mean(int64_t d, bool keepdim) const { return mean(IntList{d}, keepdim); }

Tensor Tensor::mean(const IntList& dims, bool keepdim) const {
  if (!is_floating_point())
    throw TensorError("mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
                      "dtype. Got: " + dtype_name(dtype()));
  const std::vector<bool> mask = reduce_mask(dims, dim(), "mean");
  int64_t count = 1;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) count *= sizes()[d];
  Tensor s = sum_raw(*this, mask, keepdim);
  Tensor out = binary_raw(s, wrap_scalar(static_cast<double>(count)), Bin::Div);
  const IntList in = sizes();
  detail::record(out, dims.empty() ? "MeanBackward0" : "MeanBackward1", {*this}, [in, mask, count](const Tensor& g) {
    IntList keep = in;
    for (size_t d = 0; d < in.size(); ++d)
      if (mask[d]) keep[d] = 1;
    return std::vector<Tensor>{g.reshape(keep).expand(in) / static_cast<double>(count)};
  });
  return out;
}

Tensor Tensor::norm() const {
  if (!is_floating_point())
    throw TensorError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got " + dtype_name(dtype()));
  double acc = 0;
  const Storage& s = *I(*this).storage;
  for (int64_t o : detail::element_offsets(*this)) acc += s.get(o) * s.get(o);
  Tensor out = make_tensor({}, dtype());
  I(out).storage->set(0, std::sqrt(acc));
  const Tensor ad = detach(), od = out.detach();
  detail::record(out, "LinalgVectorNormBackward0", {*this}, [ad, od](const Tensor& g) {
    if (od.item<double>() == 0) return std::vector<Tensor>{zeros_like(ad)};
    return std::vector<Tensor>{g * ad / od};
  }, {*this, out});
  return out;
}

Tensor dot(const Tensor& a, const Tensor& b) {
  if (a.dim() != 1 || b.dim() != 1)
    throw TensorError("1D tensors expected, but got " + std::to_string(a.dim()) + "D and " + std::to_string(b.dim()) +
                      "D tensors (shapes " + shape_str(a.sizes()) + " and " + shape_str(b.sizes()) + ")");
  if (a.numel() != b.numel())
    throw TensorError("inconsistent tensor size, expected tensor " + shape_str(a.sizes()) + " and src " +
                      shape_str(b.sizes()) + " to have the same number of elements, but got " +
                      std::to_string(a.numel()) + " and " + std::to_string(b.numel()) + " elements respectively");
  check_same_dtype(a, b, "dot");
  Tensor out = mm_raw(a.detach().unsqueeze(0), b.detach().unsqueeze(1)).reshape({});
  const Tensor ad = a.detach(), bd = b.detach();
  detail::record(out, "DotBackward0", {a, b}, [ad, bd](const Tensor& g) {
    return std::vector<Tensor>{g * bd, g * ad};
  }, {a, b});
  return out;
}

Tensor mm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2)
    throw TensorError("mm: expected 2-D tensors, got shapes " + shape_str(a.sizes()) + " and " + shape_str(b.sizes()));
  if (a.size(1) != b.size(0))
    throw TensorError("mat1 and mat2 shapes cannot be multiplied (" + std::to_string(a.size(0)) + "x" +
                      std::to_string(a.size(1)) + " and " + std::to_string(b.size(0)) + "x" + std::to_string(b.size(1)) + ")");
  check_same_dtype(a, b, "mm");
  Tensor out = mm_raw(a, b);
  const Tensor ad = a.detach(), bd = b.detach();
  detail::record(out, "MmBackward0", {a, b}, [ad, bd, a, b](const Tensor& g) {
    return std::vector<Tensor>{a.requires_grad() ? mm_raw(g, bd.t()) : Tensor(),
                               b.requires_grad() ? mm_raw(ad.t(), g) : Tensor()};
  }, {a, b});
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() == 1 && b.dim() == 1) return dot(a, b);
  if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
  if (a.dim() == 2 && b.dim() == 1) {
    if (a.size(1) != b.size(0))
      throw TensorError("size mismatch, got input (" + std::to_string(a.size(0)) + "), mat (" + std::to_string(a.size(0)) +
                        "x" + std::to_string(a.size(1)) + "), vec (" + std::to_string(b.size(0)) + ")");
    check_same_dtype(a, b, "mv");
    Tensor out = mm_raw(a, b.detach().unsqueeze(1)).reshape({a.size(0)});
    const Tensor ad = a.detach(), bd = b.detach();
    detail::record(out, "MvBackward0", {a, b}, [ad, bd](const Tensor& g) {
      return std::vector<Tensor>{mm_raw(g.unsqueeze(1), bd.unsqueeze(0)), mm_raw(ad.t(), g.unsqueeze(1)).reshape({ad.size(1)})};
    }, {a, b});
    return out;
  }
  if (a.dim() == 1 && b.dim() == 2) {
    if (a.size(0) != b.size(0))
      throw TensorError("mat1 and mat2 shapes cannot be multiplied (1x" + std::to_string(a.size(0)) + " and " +
                        std::to_string(b.size(0)) + "x" + std::to_string(b.size(1)) + ")");
    return mm(a.unsqueeze(0), b).squeeze(0);
  }
  throw TensorError("matmul: only 1-D and 2-D tensors are supported, got shapes " + shape_str(a.sizes()) + " and " +
                    shape_str(b.sizes()));
}

Tensor Tensor::dot(const Tensor& o) const { return tensor::dot(*this, o); }
Tensor Tensor::matmul(const Tensor& o) const { return tensor::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return tensor::mm(*this, o); }

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (x.dim() != 2 || weight.dim() != 2 || (bias.defined() && bias.dim() != 1))
    throw TensorError("linear: expected input (n, in), weight (out, in), bias (out); got " + shape_str(x.sizes()) +
                      ", " + shape_str(weight.sizes()) + ", " + (bias.defined() ? shape_str(bias.sizes()) : "None"));
  if (x.size(1) != weight.size(1))
    throw TensorError("mat1 and mat2 shapes cannot be multiplied (" + std::to_string(x.size(0)) + "x" +
                      std::to_string(x.size(1)) + " and " + std::to_string(weight.size(1)) + "x" +
                      std::to_string(weight.size(0)) + ")");
  if (bias.defined() && bias.size(0) != weight.size(0))
    throw TensorError("linear: bias has shape " + shape_str(bias.sizes()) + " but weight has " +
                      std::to_string(weight.size(0)) + " outputs");
  check_same_dtype(x, weight, "linear");
  Tensor out;
  {
    NoGradGuard ng;
    out = mm_raw(x, weight.t());
    if (bias.defined()) {
      // Accumulate x·wᵀ and the bias in double, rounding once (as a fused addmm would).
      const std::vector<double> acc_x = x.to_vector<double>(), acc_w = weight.to_vector<double>();
      const std::vector<double> acc_b = bias.to_vector<double>();
      const int64_t n = x.size(0), k = x.size(1), m = weight.size(0);
      Storage& so = *I(out).storage;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < m; ++j) {
          double acc = acc_b[static_cast<size_t>(j)];
          for (int64_t p = 0; p < k; ++p) acc += acc_x[static_cast<size_t>(i * k + p)] * acc_w[static_cast<size_t>(j * k + p)];
          so.set(i * m + j, acc);
        }
    }
  }
  const Tensor xd = x.detach(), wd = weight.detach();
  std::vector<Tensor> inputs = {x, weight};
  if (bias.defined()) inputs.push_back(bias);
  const bool has_bias = bias.defined();
  detail::record(out, has_bias ? "AddmmBackward0" : "MmBackward0", inputs, [xd, wd, has_bias, x](const Tensor& g) {
    std::vector<Tensor> r = {x.requires_grad() ? mm_raw(g, wd) : Tensor(), mm_raw(g.t(), xd)};
    if (has_bias) r.push_back(g.sum(0));
    return r;
  }, {x, weight});
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  if (input.sizes() != target.sizes())
    throw TensorError("mse_loss: input shape " + shape_str(input.sizes()) + " and target shape " +
                      shape_str(target.sizes()) + " differ (PyTorch would broadcast them with a warning; that is "
                      "almost always a bug, so this library refuses)");
  Tensor out;
  Tensor diff;
  {
    NoGradGuard ng;
    diff = input - target;
    double acc = 0;
    for (double v : diff.to_vector<double>()) acc += v * v;
    out = make_tensor({}, diff.dtype());
    I(out).storage->set(0, input.numel() ? acc / static_cast<double>(input.numel()) : std::nan(""));
  }
  const double n = static_cast<double>(input.numel());
  const Dtype di = input.dtype(), dt = target.dtype();
  detail::record(out, "MseLossBackward0", {input, target}, [diff, n, di, dt](const Tensor& g) {
    Tensor d = g * diff * (2.0 / n);
    return std::vector<Tensor>{d.to(di), is_floating_point(dt) ? (-d).to(dt) : Tensor()};
  }, {input, target});
  return out;
}

// ================================ shape ops and views ================================

Tensor Tensor::view(IntList shape) const {
  shape = infer_shape(std::move(shape), numel());
  if (!is_contiguous())
    throw TensorError("view size is not compatible with input tensor's size and stride (shape " + shape_str(sizes()) +
                      " is not contiguous). Use .reshape(...) instead.");
  Tensor out = reshape_alias(*this, shape);
  const IntList in = sizes();
  detail::record(out, "ViewBackward0", {*this}, [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
  return out;
}

Tensor Tensor::reshape(IntList shape) const {
  shape = infer_shape(std::move(shape), numel());
  if (is_contiguous()) return view(shape);
  Tensor c;
  {
    NoGradGuard ng;
    c = clone();
  }
  Tensor out = reshape_alias(c, shape);
  const IntList in = sizes();
  detail::record(out, "UnsafeViewBackward0", {*this}, [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
  return out;
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  d0 = detail::wrap_dim(d0, dim(), "transpose");
  d1 = detail::wrap_dim(d1, dim(), "transpose");
  IntList sz = sizes(), st = strides();
  if (dim() > 0) {
    std::swap(sz[static_cast<size_t>(d0)], sz[static_cast<size_t>(d1)]);
    std::swap(st[static_cast<size_t>(d0)], st[static_cast<size_t>(d1)]);
  }
  Tensor out = alias(*this, sz, st, I(*this).offset);
  detail::record(out, "TransposeBackward0", {*this}, [d0, d1](const Tensor& g) { return std::vector<Tensor>{g.transpose(d0, d1)}; });
  return out;
}

Tensor Tensor::t() const {
  if (dim() > 2) throw TensorError("t() expects a tensor with <= 2 dimensions, but self is " + std::to_string(dim()) + "D");
  Tensor out = dim() < 2 ? alias(*this, sizes(), strides(), I(*this).offset)
                         : alias(*this, {size(1), size(0)}, {strides()[1], strides()[0]}, I(*this).offset);
  detail::record(out, "TBackward0", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g.t()}; });
  return out;
}

Tensor Tensor::expand(IntList shape) const {
  if (shape.size() < sizes().size())
    throw TensorError("expand: the number of sizes provided (" + std::to_string(shape.size()) +
                      ") must be greater or equal to the number of dimensions in the tensor (" + std::to_string(dim()) + ")");
  const size_t lead = shape.size() - sizes().size();
  IntList st(shape.size(), 0);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d < lead) {
      if (shape[d] < 0) throw TensorError("expand: -1 is not allowed in a leading, non-existing dimension");
      continue;
    }
    const int64_t have = sizes()[d - lead];
    if (shape[d] == -1) shape[d] = have;
    if (have == shape[d]) st[d] = strides()[d - lead];
    else if (have != 1)
      throw TensorError("The expanded size of the tensor (" + std::to_string(shape[d]) +
                        ") must match the existing size (" + std::to_string(have) + ") at non-singleton dimension " +
                        std::to_string(d) + ".  Target sizes: " + shape_str(shape) + ".  Tensor sizes: " + shape_str(sizes()));
  }
  Tensor out = alias(*this, shape, st, I(*this).offset);
  const IntList in = sizes();
  detail::record(out, "ExpandBackward0", {*this}, [in](const Tensor& g) { return std::vector<Tensor>{sum_to(g, in)}; });
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = detail::wrap_dim(d, dim() + 1, "unsqueeze");
  IntList sz = sizes(), st = strides();
  const int64_t new_stride = static_cast<size_t>(d) < sz.size() ? sz[static_cast<size_t>(d)] * st[static_cast<size_t>(d)] : 1;
  sz.insert(sz.begin() + d, 1);
  st.insert(st.begin() + d, new_stride);
  Tensor out = alias(*this, sz, st, I(*this).offset);
  detail::record(out, "UnsqueezeBackward0", {*this}, [d](const Tensor& g) { return std::vector<Tensor>{g.squeeze(d)}; });
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  d = detail::wrap_dim(d, dim(), "squeeze");
  IntList sz = sizes(), st = strides();
  const bool drop = dim() > 0 && sz[static_cast<size_t>(d)] == 1;
  if (drop) {
    sz.erase(sz.begin() + d);
    st.erase(st.begin() + d);
  }
  Tensor out = alias(*this, sz, st, I(*this).offset);
  const IntList in = sizes();
  detail::record(out, "SqueezeBackward1", {*this}, [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
  return out;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  if (dim() == 0) throw TensorError("select() cannot be applied to a 0-dim tensor.");
  d = detail::wrap_dim(d, dim(), "select");
  const int64_t n = sizes()[static_cast<size_t>(d)];
  if (index < -n || index >= n)
    throw TensorError("index " + std::to_string(index) + " is out of bounds for dimension " + std::to_string(d) +
                      " with size " + std::to_string(n) + " (shape " + shape_str(sizes()) + ")");
  if (index < 0) index += n;
  IntList sz = sizes(), st = strides();
  const int64_t off = I(*this).offset + index * st[static_cast<size_t>(d)];
  sz.erase(sz.begin() + d);
  st.erase(st.begin() + d);
  Tensor out = alias(*this, sz, st, off);
  const IntList in = sizes();
  const Dtype dt = dtype();
  detail::record(out, "SelectBackward0", {*this}, [in, d, index, dt](const Tensor& g) {
    Tensor z = zeros(in, dt);
    copy_into(z.select(d, index), g);
    return std::vector<Tensor>{z};
  });
  return out;
}

Tensor Tensor::slice(int64_t d, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) const {
  if (dim() == 0) throw TensorError("slice() cannot be applied to a 0-dim tensor.");
  d = detail::wrap_dim(d, dim(), "slice");
  if (step <= 0) throw TensorError("slice step must be positive, got " + std::to_string(step));
  const int64_t n = sizes()[static_cast<size_t>(d)];
  // Python's clamping of start/stop.
  auto clamp = [n](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) x += n;
    return std::min(std::max<int64_t>(x, 0), n);
  };
  const int64_t s = clamp(start, 0), e = std::max(clamp(stop, n), s);
  const int64_t len = (e - s + step - 1) / step;
  IntList sz = sizes(), st = strides();
  const int64_t off = I(*this).offset + (len > 0 ? s * st[static_cast<size_t>(d)] : 0);
  sz[static_cast<size_t>(d)] = len;
  st[static_cast<size_t>(d)] *= step;
  Tensor out = alias(*this, sz, st, off);
  const IntList in = sizes();
  const Dtype dt = dtype();
  detail::record(out, "SliceBackward0", {*this}, [in, d, s, e, step, dt](const Tensor& g) {
    Tensor z = zeros(in, dt);
    copy_into(z.slice(d, s, e, step), g);
    return std::vector<Tensor>{z};
  });
  return out;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  if (dim() == 0) throw TensorError("narrow() cannot be applied to a 0-dim tensor.");
  d = detail::wrap_dim(d, dim(), "narrow");
  const int64_t n = sizes()[static_cast<size_t>(d)];
  if (start < -n || start > n)
    throw TensorError("start out of range (expected to be in range of [" + std::to_string(-n) + ", " + std::to_string(n) +
                      "], but got " + std::to_string(start) + ")");
  if (start < 0) start += n;
  if (length < 0 || start + length > n)
    throw TensorError("start (" + std::to_string(start) + ") + length (" + std::to_string(length) +
                      ") exceeds dimension size (" + std::to_string(n) + ") of dimension " + std::to_string(d));
  return slice(d, start, start + length, 1);
}

namespace {
Tensor index_select_named(const Tensor& self, int64_t d, const Tensor& index, const char* name) {
  d = detail::wrap_dim(d, self.dim(), "index_select");
  if (self.dim() == 0) throw TensorError("index_select() cannot be applied to a 0-dim tensor.");
  if (index.dtype() != Dtype::Int64 || index.dim() > 1)
    throw TensorError("index_select(): the index must be a 0-D or 1-D int64 tensor, got " + dtype_name(index.dtype()) +
                      " of shape " + shape_str(index.sizes()));
  const std::vector<int64_t> idx = index.to_vector<int64_t>();
  const int64_t n = self.size(d);
  std::vector<int64_t> wrapped;
  for (int64_t i : idx) {
    if (i < -n || i >= n)
      throw TensorError("index " + std::to_string(i) + " is out of bounds for dimension " + std::to_string(d) +
                        " with size " + std::to_string(n));
    wrapped.push_back(i < 0 ? i + n : i);
  }
  IntList sz = self.sizes();
  sz[static_cast<size_t>(d)] = static_cast<int64_t>(wrapped.size());
  Tensor out = make_tensor(sz, self.dtype());
  {
    NoGradGuard ng;
    for (size_t k = 0; k < wrapped.size(); ++k) copy_into(out.select(d, static_cast<int64_t>(k)), self.select(d, wrapped[k]));
    I(out).storage->version = 0;
  }
  const IntList in = self.sizes();
  const Dtype dt = self.dtype();
  detail::record(out, name, {self}, [in, d, wrapped, dt](const Tensor& g) {
    Tensor z = zeros(in, dt);
    for (size_t k = 0; k < wrapped.size(); ++k) {  // duplicates accumulate
      Tensor dst = z.select(d, wrapped[k]);
      copy_into(dst, dst + g.select(d, static_cast<int64_t>(k)));
    }
    return std::vector<Tensor>{z};
  });
  return out;
}
}  // namespace

Tensor Tensor::index_select(int64_t d, const Tensor& index) const {
  return index_select_named(*this, d, index, "IndexSelectBackward0");
}

Tensor Tensor::index(const std::vector<TensorIndex>& indices) const {
  const int64_t consumed = static_cast<int64_t>(indices.size());
  if (consumed > dim())
    throw TensorError("too many indices for tensor of dimension " + std::to_string(dim()) + " (got " +
                      std::to_string(consumed) + " indices for shape " + shape_str(sizes()) + ")");
  Tensor cur = *this;
  int64_t d = 0;
  for (size_t k = 0; k < indices.size(); ++k) {
    const TensorIndex& ix = indices[k];
    switch (ix.kind()) {
      case TensorIndex::Kind::Int: cur = cur.select(d, ix.integer()); break;
      case TensorIndex::Kind::Slice: cur = cur.slice(d, ix.slice().start, ix.slice().stop, ix.slice().step); ++d; break;
      case TensorIndex::Kind::Tensor:
        if (k != 0) throw TensorError("index(): a tensor index is supported only as the first index");
        cur = index_select_named(cur, d, ix.tensor(), "IndexBackward0");
        d += ix.tensor().dim() == 0 ? 0 : 1;
        if (ix.tensor().dim() == 0) cur = cur.squeeze(0);
        break;
    }
  }
  return cur;
}

Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Scalar& v) {
  check_inplace(*this);
  for (const TensorIndex& ix : indices)
    if (ix.kind() == TensorIndex::Kind::Tensor) throw TensorError("index_put_: tensor indices are not supported");
  Tensor view;
  {
    NoGradGuard ng;
    view = index(indices);
    view.fill_(v);
  }
  return *this;
}

Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Tensor& v) {
  check_inplace(*this);
  if (is_grad_enabled() && v.requires_grad())
    throw TensorError("index_put_: assigning a tensor that requires grad is not supported (detach() it)");
  for (const TensorIndex& ix : indices)
    if (ix.kind() == TensorIndex::Kind::Tensor) throw TensorError("index_put_: tensor indices are not supported");
  NoGradGuard ng;
  Tensor view = index(indices);
  view.copy_(v);
  return *this;
}

// ================================ in-place ================================

Tensor& Tensor::fill_(const Scalar& v) {
  check_inplace(*this);
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

// ================================ cat / stack ================================

Tensor cat(const std::vector<Tensor>& ts, int64_t dim) {
  if (ts.empty()) throw TensorError("torch.cat(): expected a non-empty list of Tensors");
  const int64_t nd = ts[0].dim();
  if (nd == 0) throw TensorError("zero-dimensional tensor (at position 0) cannot be concatenated");
  dim = detail::wrap_dim(dim, nd, "cat");
  Dtype dt = ts[0].dtype();
  IntList out_shape = ts[0].sizes();
  out_shape[static_cast<size_t>(dim)] = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    const Tensor& t = ts[i];
    if (t.dim() != nd)
      throw TensorError("Tensors must have same number of dimensions: got " + std::to_string(nd) + " and " +
                        std::to_string(t.dim()) + " (shapes " + shape_str(ts[0].sizes()) + " and " + shape_str(t.sizes()) +
                        " at position " + std::to_string(i) + ")");
    for (int64_t d = 0; d < nd; ++d)
      if (d != dim && t.size(d) != ts[0].size(d))
        throw TensorError("Sizes of tensors must match except in dimension " + std::to_string(dim) + ". Expected size " +
                          std::to_string(ts[0].size(d)) + " but got size " + std::to_string(t.size(d)) +
                          " for tensor number " + std::to_string(i) + " in the list (shapes " +
                          shape_str(ts[0].sizes()) + " and " + shape_str(t.sizes()) + ")");
    out_shape[static_cast<size_t>(dim)] += t.size(dim);
    dt = promote_types(dt, t.dtype());
  }
  Tensor out = make_tensor(out_shape, dt);
  std::vector<int64_t> starts;
  {
    NoGradGuard ng;
    int64_t pos = 0;
    for (const Tensor& t : ts) {
      starts.push_back(pos);
      copy_into(out.slice(dim, pos, pos + t.size(dim)), t);
      pos += t.size(dim);
    }
    I(out).storage->version = 0;
  }
  std::vector<int64_t> lens;
  std::vector<Dtype> dts;
  for (const Tensor& t : ts) {
    lens.push_back(t.size(dim));
    dts.push_back(t.dtype());
  }
  detail::record(out, "CatBackward0", ts, [dim, starts, lens, dts](const Tensor& g) {
    std::vector<Tensor> r;
    for (size_t i = 0; i < starts.size(); ++i) {
      Tensor gi = g.slice(dim, starts[i], starts[i] + lens[i]);
      r.push_back(is_floating_point(dts[i]) ? gi.to(dts[i]) : Tensor());
    }
    return r;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& ts, int64_t dim) {
  if (ts.empty()) throw TensorError("stack expects a non-empty TensorList");
  std::vector<Tensor> u;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i].sizes() != ts[0].sizes())
      throw TensorError("stack expects each tensor to be equal size, but got " + shape_str(ts[0].sizes()) +
                        " at entry 0 and " + shape_str(ts[i].sizes()) + " at entry " + std::to_string(i));
    u.push_back(ts[i].unsqueeze(detail::wrap_dim(dim, ts[0].dim() + 1, "stack")));
  }
  return cat(u, dim);
}

}  // namespace linreg::tensor
