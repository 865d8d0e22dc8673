// Shape ops: the views (view / reshape / transpose / t / expand / unsqueeze / squeeze / select /
// slice / narrow, sharing storage), indexing (index_select, index, index_put_) and the copying
// joins cat / stack, each with its gradient.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace linreg::tensor {

using detail::alias;
using detail::check_inplace;
using detail::copy_into;
using detail::I;
using detail::make_tensor;
using detail::shape_str;

namespace {

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
    Tensor z = zeros(in, TensorOptions(dt).device(g.device()));
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
    Tensor z = zeros(in, TensorOptions(dt).device(g.device()));
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
  Tensor out = make_tensor(sz, self.dtype(), self.device());
  {
    NoGradGuard ng;
    for (size_t k = 0; k < wrapped.size(); ++k) copy_into(out.select(d, static_cast<int64_t>(k)), self.select(d, wrapped[k]));
    I(out).storage->version = 0;
  }
  const IntList in = self.sizes();
  const Dtype dt = self.dtype();
  detail::record(out, name, {self}, [in, d, wrapped, dt](const Tensor& g) {
    Tensor z = zeros(in, TensorOptions(dt).device(g.device()));
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
  for (const Tensor& t : ts)
    if (t.device() != ts[0].device())
      throw TensorError("Expected all tensors to be on the same device, but found at least two devices, " +
                        ts[0].device().str() + " and " + t.device().str() + "! (in cat)");
  Tensor out = make_tensor(out_shape, dt, ts[0].device());
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
