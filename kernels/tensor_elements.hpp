// The per-element rules of the Tensor library's device kernels, written once for the kernels
// (kernels/tensor_kernels.cu) and for the host-memory stand-in that tests the device path of the
// library without a GPU (tests/tensor/fake_device_ops.hpp). Each mirrors a host twin in
// host/tensor: load_d / load_i / store_d / store_i are Storage::get / get_int / set / set_int,
// binary_element and unary_element the loops of elementwise.cpp, copy_element copy_into's.
#pragma once

#include <climits>
#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "host/core/hd.hpp"
#include "host/tensor/device_ops.hpp"

namespace linreg::kern::tensor_elements {

using tensor::BinaryOp;
using tensor::DeviceView;
using tensor::ElemType;
using tensor::UnaryOp;

constexpr int kMaxOperands = 3;

// One strided operand on the device: a typed pointer or a scalar.
struct Operand {
  const void* data;
  ElemType type;
  int64_t offset;
  int64_t strides[tensor::kMaxDims];
  double scalar;
  int64_t scalar_int;
  bool scalar_is_int;
};

// The iteration space (the output's shape) and its operands (operand 0 is the output).
struct Indexer {
  int ndim;
  int64_t sizes[tensor::kMaxDims];
  int nops;
  Operand ops[kMaxOperands];
};

// Storage indices of every operand for linear index k of the iteration space.
LINREG_HD void offsets_of(const Indexer& ix, int64_t k, int64_t* off) {
  for (int j = 0; j < ix.nops; ++j) off[j] = ix.ops[j].offset;
  for (int d = ix.ndim - 1; d >= 0; --d) {
    const int64_t c = k % ix.sizes[d];
    k /= ix.sizes[d];
    for (int j = 0; j < ix.nops; ++j) off[j] += c * ix.ops[j].strides[d];
  }
}

// As the host's detail::double_to_int64: NaN → 0, saturating outside int64.
LINREG_HD int64_t double_to_int64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return LLONG_MAX;
  if (v < -9.2233720368547758e18) return LLONG_MIN;
  return static_cast<int64_t>(v);
}

LINREG_HD bool is_float(ElemType t) { return t == ElemType::Float32 || t == ElemType::Float64; }

// Storage::get: the element as double.
LINREG_HD double load_d(const Operand& o, int64_t i) {
  if (!o.data) return o.scalar_is_int ? static_cast<double>(o.scalar_int) : o.scalar;
  switch (o.type) {
    case ElemType::Float32: return static_cast<double>(static_cast<const float*>(o.data)[i]);
    case ElemType::Float64: return static_cast<const double*>(o.data)[i];
    case ElemType::Int64: return static_cast<double>(static_cast<const int64_t*>(o.data)[i]);
    case ElemType::Bool: return static_cast<const uint8_t*>(o.data)[i] ? 1.0 : 0.0;
  }
  return 0;
}

// Storage::get_int: the element as int64 (floats truncate toward zero).
LINREG_HD int64_t load_i(const Operand& o, int64_t i) {
  if (!o.data) return o.scalar_is_int ? o.scalar_int : double_to_int64(o.scalar);
  switch (o.type) {
    case ElemType::Int64: return static_cast<const int64_t*>(o.data)[i];
    case ElemType::Bool: return static_cast<const uint8_t*>(o.data)[i] ? 1 : 0;
    default: return double_to_int64(load_d(o, i));
  }
}

// Storage::set: v rounded once to the type.
LINREG_HD void store_d(void* p, ElemType t, int64_t i, double v) {
  switch (t) {
    case ElemType::Float32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case ElemType::Float64: static_cast<double*>(p)[i] = v; break;
    case ElemType::Int64: static_cast<int64_t*>(p)[i] = double_to_int64(v); break;
    case ElemType::Bool: static_cast<uint8_t*>(p)[i] = v != 0.0; break;
  }
}

// Storage::set_int.
LINREG_HD void store_i(void* p, ElemType t, int64_t i, int64_t v) {
  switch (t) {
    case ElemType::Float32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case ElemType::Float64: static_cast<double*>(p)[i] = static_cast<double>(v); break;
    case ElemType::Int64: static_cast<int64_t*>(p)[i] = v; break;
    case ElemType::Bool: static_cast<uint8_t*>(p)[i] = v != 0; break;
  }
}

// The host's int_pow, wrapping; a negative exponent (refused by the host side before launch
// unless the base is ±1) gives base ±1's value, else 0.
LINREG_HD int64_t int_pow(int64_t base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if (base == -1) return (e % 2 == 0) ? 1 : -1;
    return 0;
  }
  uint64_t r = 1, b = static_cast<uint64_t>(base), k = static_cast<uint64_t>(e);
  while (k) {
    if (k & 1) r *= b;
    b *= b;
    k >>= 1;
  }
  return static_cast<int64_t>(r);
}


// out[off0] = a[off1] op b[off2] computed in `compute` (operands 1 and 2 of ix).
LINREG_HD void binary_element(BinaryOp op, ElemType compute, const Indexer& ix, const int64_t* off, void* out) {
  const ElemType ot = ix.ops[0].type;
  if (is_float(compute)) {
    double x = load_d(ix.ops[1], off[1]), y = load_d(ix.ops[2], off[2]);
    if (compute == ElemType::Float32) {  // the host's load_as: each operand rounded to float
      x = static_cast<double>(static_cast<float>(x));
      y = static_cast<double>(static_cast<float>(y));
    }
    double r = 0;
    switch (op) {
      case BinaryOp::Add: r = x + y; break;
      case BinaryOp::Sub: r = x - y; break;
      case BinaryOp::Mul: r = x * y; break;
      case BinaryOp::Div: r = x / y; break;
      case BinaryOp::Pow: r = pow(x, y); break;
      case BinaryOp::Eq: r = x == y; break;
      case BinaryOp::Ne: r = x != y; break;
      case BinaryOp::Lt: r = x < y; break;
      case BinaryOp::Le: r = x <= y; break;
      case BinaryOp::Gt: r = x > y; break;
      case BinaryOp::Ge: r = x >= y; break;
    }
    store_d(out, ot, off[0], r);
  } else {
    const int64_t x = load_i(ix.ops[1], off[1]), y = load_i(ix.ops[2], off[2]);
    const uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
    int64_t r = 0;
    switch (op) {
      case BinaryOp::Add: r = compute == ElemType::Bool ? (x || y) : static_cast<int64_t>(ux + uy); break;
      case BinaryOp::Sub: r = static_cast<int64_t>(ux - uy); break;
      case BinaryOp::Mul: r = compute == ElemType::Bool ? (x && y) : static_cast<int64_t>(ux * uy); break;
      case BinaryOp::Div: break;  // never: true division computes in floating point
      case BinaryOp::Pow: r = int_pow(x, y); break;
      case BinaryOp::Eq: r = x == y; break;
      case BinaryOp::Ne: r = x != y; break;
      case BinaryOp::Lt: r = x < y; break;
      case BinaryOp::Le: r = x <= y; break;
      case BinaryOp::Gt: r = x > y; break;
      case BinaryOp::Ge: r = x >= y; break;
    }
    store_i(out, ot, off[0], r);
  }
}

// out[off0] = op(a[off1]).
LINREG_HD void unary_element(UnaryOp op, const Indexer& ix, const int64_t* off, void* out) {
  const ElemType ot = ix.ops[0].type;
  if (is_float(ot)) {
    const double x = load_d(ix.ops[1], off[1]);
    double r = 0;
    switch (op) {
      case UnaryOp::Exp: r = exp(x); break;
      case UnaryOp::Log: r = log(x); break;
      case UnaryOp::Neg: r = -x; break;
      case UnaryOp::Abs: r = fabs(x); break;
      case UnaryOp::Sqrt: r = sqrt(x); break;
    }
    store_d(out, ot, off[0], r);
  } else {
    const int64_t x = load_i(ix.ops[1], off[1]);
    const int64_t neg = static_cast<int64_t>(0 - static_cast<uint64_t>(x));
    store_i(out, ot, off[0], op == UnaryOp::Neg ? neg : (x < 0 ? neg : x));
  }
}

// dst[off0] = src[off1] converted (copy_into's rule: integer to integer exactly, else via double).
LINREG_HD void copy_element(const Indexer& ix, const int64_t* off, void* dst) {
  const ElemType dt = ix.ops[0].type;
  const bool src_float = ix.ops[1].data ? is_float(ix.ops[1].type) : !ix.ops[1].scalar_is_int;
  if (!is_float(dt) && !src_float) store_i(dst, dt, off[0], load_i(ix.ops[1], off[1]));
  else store_d(dst, dt, off[0], load_d(ix.ops[1], off[1]));
}

// out[off0] = mask[off2] ? 0 : a[off1].
LINREG_HD void masked_zero_element(const Indexer& ix, const int64_t* off, void* out) {
  store_d(out, ix.ops[0].type, off[0], load_i(ix.ops[2], off[2]) ? 0.0 : load_d(ix.ops[1], off[1]));
}

// ---- host side: views to operands ----

inline Operand operand_of(const DeviceView& v) {
  Operand o{};
  o.data = v.data;
  o.type = v.type;
  o.offset = v.offset;
  for (int d = 0; d < v.ndim; ++d) o.strides[d] = v.strides[d];
  o.scalar = v.scalar;
  o.scalar_int = v.scalar_int;
  o.scalar_is_int = v.scalar_is_int;
  return o;
}

inline int64_t numel_of(const DeviceView& v) {
  int64_t n = 1;
  for (int d = 0; d < v.ndim; ++d) n *= v.sizes[d];
  return n;
}

inline Indexer indexer_of(const DeviceView& shape, std::initializer_list<const DeviceView*> views) {
  Indexer ix{};
  ix.ndim = shape.ndim;
  for (int d = 0; d < shape.ndim; ++d) ix.sizes[d] = shape.sizes[d];
  ix.nops = 0;
  for (const DeviceView* v : views) ix.ops[ix.nops++] = operand_of(*v);
  return ix;
}


// A sum over the dimensions in reduce_mask: `kept` walks the output (operand 0: out, contiguous;
// operand 1: a's strides along the kept dimensions), `red` the reduced dimensions (operand 0:
// a's strides along them, offset 0), so that element r of output j is a[koff[1] + roff[0]].
struct SumPlan {
  int64_t nout = 1, nred = 1;
  Indexer kept{}, red{};
};

inline SumPlan plan_sum(const DeviceView& out, const DeviceView& a, uint32_t reduce_mask) {
  DeviceView kept_shape, a_kept = a, red_shape, a_red = a;
  a_red.offset = 0;
  kept_shape.ndim = 0;
  red_shape.ndim = 0;
  SumPlan p;
  for (int d = 0; d < a.ndim; ++d) {
    if (reduce_mask & (1u << d)) {
      red_shape.sizes[red_shape.ndim] = a.sizes[d];
      a_red.strides[red_shape.ndim++] = a.strides[d];
      p.nred *= a.sizes[d];
    } else {
      kept_shape.sizes[kept_shape.ndim] = a.sizes[d];
      a_kept.strides[kept_shape.ndim++] = a.strides[d];
      p.nout *= a.sizes[d];
    }
  }
  DeviceView o = out;  // contiguous over the kept dimensions: row-major strides
  o.ndim = kept_shape.ndim;
  int64_t acc = 1;
  for (int d = kept_shape.ndim - 1; d >= 0; --d) {
    o.strides[d] = acc;
    acc *= kept_shape.sizes[d];
  }
  a_kept.ndim = kept_shape.ndim;
  a_red.ndim = red_shape.ndim;
  p.kept = indexer_of(kept_shape, {&o, &a_kept});
  p.red = indexer_of(red_shape, {&a_red});
  return p;
}

}  // namespace linreg::kern::tensor_elements
