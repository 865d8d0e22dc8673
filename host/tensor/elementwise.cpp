// Broadcasting and the element-wise ops: PyTorch's type promotion (result_type), the binary and
// unary kernels, the arithmetic / comparison operators and exp / log / sqrt / abs / neg, each
// with its gradient. detail::binary_raw is also used by reductions.cpp (mean) and inplace.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

using detail::Bin;
using detail::binary_raw;
using detail::for_each_offset;
using detail::I;
using detail::make_tensor;
using detail::shape_str;
using detail::Storage;
using detail::wrap_scalar;

namespace {

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

// Value of operand element at storage index i, converted to the compute dtype.
inline double load_as(const Storage& s, int64_t i, Dtype compute) {
  const double v = s.get(i);
  return compute == Dtype::Float32 ? static_cast<double>(static_cast<float>(v)) : v;
}

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

}  // namespace

namespace detail {

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
  if (detail::common_device({a, b}, "an element-wise op").is_cuda()) {
    if (op == Bin::Pow && !is_floating_point(compute)) {
      // The host refuses an integer power with a negative exponent (unless the base is ±1), and
      // so does the device: bad = (b < 0) and not (a == 1 or a == -1), counted on the device.
      const Tensor neg = device_binary(b, wrap_scalar(0), Bin::Lt, b.sizes(), Dtype::Int64, Dtype::Bool);
      const Tensor one = device_binary(a, wrap_scalar(1), Bin::Eq, a.sizes(), Dtype::Int64, Dtype::Bool);
      const Tensor minus_one = device_binary(a, wrap_scalar(-1), Bin::Eq, a.sizes(), Dtype::Int64, Dtype::Bool);
      const Tensor unit = device_binary(one, minus_one, Bin::Add, a.sizes(), Dtype::Bool, Dtype::Bool);  // or
      const Tensor bad = device_binary(neg, unit, Bin::Gt, out_shape, Dtype::Int64, Dtype::Bool);
      if (bad.numel() > 0 &&
          device_sum(bad, std::vector<bool>(out_shape.size(), true), false, false, Dtype::Int64).item<int64_t>() > 0)
        throw TensorError("Integers to negative integer powers are not allowed.");
    }
    return device_binary(a, b, op, out_shape, compute, out_dtype);
  }
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

}  // namespace detail

namespace {

// Keep in sync with device_ops.hpp's UnaryOp (the device twin is picked by the same number).
enum class Un { Exp, Log, Neg, Abs, Sqrt };

Tensor unary_raw(const Tensor& a, Un op) {
  const bool needs_float = op == Un::Exp || op == Un::Log || op == Un::Sqrt;
  if (op == Un::Neg && a.dtype() == Dtype::Bool)
    throw TensorError("Negation, the `-` operator, on a bool tensor is not supported.");
  const Dtype out_dtype = (needs_float && !is_floating_point(a.dtype())) ? kDefaultFloat : a.dtype();
  if (a.is_cuda()) return detail::device_unary(a, static_cast<UnaryOp>(static_cast<int>(op)), out_dtype);
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

}  // namespace

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
  if (t.is_cuda() || mask.is_cuda()) return detail::device_masked_zero(t, mask);
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

}  // namespace linreg::tensor
