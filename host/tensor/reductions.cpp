// Reductions and products: sum / mean / norm, dot / mm / matmul, and the fused linear and
// mse_loss that nn.cpp builds on, each with its gradient.
#include <cmath>
#include <cstdint>
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
using detail::numel_of;
using detail::shape_str;
using detail::Storage;
using detail::wrap_scalar;

namespace {

// Products take no CPU scalars beside cuda tensors (PyTorch's mm neither).
void check_same_device(const std::vector<Tensor>& ts, const char* op) {
  bool cuda = false, cpu = false;
  for (const Tensor& t : ts) {
    if (!t.defined()) continue;
    (t.is_cuda() ? cuda : cpu) = true;
  }
  if (cuda && cpu)
    throw TensorError(std::string("Expected all tensors to be on the same device, but found at least two devices, "
                                  "cuda:0 and cpu! (in ") + op + ")");
}

// Sum over `dims` (already wrapped, unique) in double / int64; out dtype int64 for integers.
Tensor sum_raw(const Tensor& a, const std::vector<bool>& reduce, bool keepdim) {
  if (a.is_cuda())
    return detail::device_sum(a, reduce, keepdim, false, a.is_floating_point() ? a.dtype() : Dtype::Int64);
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
  if (a.is_cuda() || b.is_cuda()) {
    check_same_device({a, b}, "mm");
    return detail::device_mm(a, b, Tensor());
  }
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

}  // namespace

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
  Tensor out;
  if (is_cuda()) {
    // The sum of squares in double on the device, its square root rounded once, as on the host.
    const Tensor ss = detail::device_sum(*this, std::vector<bool>(sizes().size(), true), false, true, Dtype::Float64);
    out = detail::device_unary(ss, UnaryOp::Sqrt, Dtype::Float64).to(dtype());
    out.unsafe_impl()->storage->version = 0;
  } else {
    double acc = 0;
    const Storage& s = *I(*this).storage;
    for (int64_t o : detail::element_offsets(*this)) acc += s.get(o) * s.get(o);
    out = make_tensor({}, dtype());
    I(out).storage->set(0, std::sqrt(acc));
  }
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
  check_same_device({a, b}, "dot");
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
  check_same_device({a, b}, "mm");
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
    check_same_device({a, b}, "mv");
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
  check_same_device({x, weight, bias}, "linear");
  Tensor out;
  if (x.is_cuda()) {
    // One dgemm with the bias as C: x·wᵀ + b summed in double and rounded once, as on the host.
    NoGradGuard ng;
    out = detail::device_mm(x, weight.t(), bias);
  } else {
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
  check_same_device({input, target}, "mse_loss");
  {
    NoGradGuard ng;
    diff = input - target;
    if (diff.is_cuda()) {
      // Σ diff² in double on the device, divided in double, rounded once to diff's dtype.
      const Tensor ss = detail::device_sum(diff, std::vector<bool>(diff.sizes().size(), true), false, true, Dtype::Float64);
      out = binary_raw(ss, wrap_scalar(input.numel() ? static_cast<double>(input.numel()) : 0.0), Bin::Div)
                .to(diff.dtype());
      out.unsafe_impl()->storage->version = 0;
    } else {
      double acc = 0;
      for (double v : diff.to_vector<double>()) acc += v * v;
      out = make_tensor({}, diff.dtype());
      I(out).storage->set(0, input.numel() ? acc / static_cast<double>(input.numel()) : std::nan(""));
    }
  }
  const double n = static_cast<double>(input.numel());
  const Dtype di = input.dtype(), dt = target.dtype();
  detail::record(out, "MseLossBackward0", {input, target}, [diff, n, di, dt](const Tensor& g) {
    Tensor d = g * diff * (2.0 / n);
    return std::vector<Tensor>{d.to(di), is_floating_point(dt) ? (-d).to(dt) : Tensor()};
  }, {input, target});
  return out;
}

}  // namespace linreg::tensor
