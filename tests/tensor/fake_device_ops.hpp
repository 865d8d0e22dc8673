// A stand-in for the GPU module's tensor ops that keeps "device" memory on the host, for testing
// the device path of the Tensor library on machines without a GPU (installed with
// detail::set_device_ops_for_testing). It runs the kernels' own per-element rules
// (kernels/tensor_elements.hpp) in plain loops, and the sums and products the way the host does
// (in order, in double), so everything the library does around a kernel (views, broadcast
// strides, dtype and device rules, autograd, printing, the tutorial's --device gpu) is exercised
// and must give the host's bits. What it cannot stand for: the CUDA code itself (launch geometry,
// the block reduction, cuBLAS); tests/gpu/test_gpu_tensor.cpp covers that on a GPU.
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "host/tensor/device_ops.hpp"
#include "kernels/tensor_elements.hpp"

namespace linreg::test {

namespace el = ::linreg::kern::tensor_elements;  // the per-element rules the kernels use

class FakeDeviceOps final : public tensor::DeviceOps {
 public:
  using DeviceView = tensor::DeviceView;
  using ElemType = tensor::ElemType;

  tensor::DeviceBlock allocate(size_t bytes) override {
    void* p = std::calloc(bytes ? bytes : 1, 1);
    if (!p) throw std::bad_alloc();
    ++live_blocks;
    return {p, p};
  }
  void release(tensor::DeviceBlock block) noexcept override {
    std::free(block.owner);
    --live_blocks;
  }
  void upload(void* d_dst, const void* h_src, size_t bytes) override {
    ++uploads;
    if (bytes) std::memcpy(d_dst, h_src, bytes);
  }
  void download(void* h_dst, const void* d_src, size_t bytes) override {
    ++downloads;
    if (bytes) std::memcpy(h_dst, d_src, bytes);
  }

  void copy(const DeviceView& dst, const DeviceView& src) override {
    ++kernels;
    if (src.data && src.data == dst.data) {  // same storage: through a temporary, as the module
      const int64_t n = el::numel_of(dst);
      std::vector<unsigned char> tmp(static_cast<size_t>(n > 0 ? n : 1) * tensor::elem_size(src.type));
      DeviceView staged = contiguous(tmp.data(), src.type, dst);
      each(dst, el::indexer_of(dst, {&staged, &src}), [&](const el::Indexer& ix, const int64_t* off) {
        el::copy_element(ix, off, staged.data);
      });
      each(dst, el::indexer_of(dst, {&dst, &staged}),
           [&](const el::Indexer& ix, const int64_t* off) { el::copy_element(ix, off, dst.data); });
      return;
    }
    each(dst, el::indexer_of(dst, {&dst, &src}),
         [&](const el::Indexer& ix, const int64_t* off) { el::copy_element(ix, off, dst.data); });
  }
  void binary(tensor::BinaryOp op, ElemType compute, const DeviceView& out, const DeviceView& a,
              const DeviceView& b) override {
    ++kernels;
    each(out, el::indexer_of(out, {&out, &a, &b}),
         [&](const el::Indexer& ix, const int64_t* off) { el::binary_element(op, compute, ix, off, out.data); });
  }
  void unary(tensor::UnaryOp op, const DeviceView& out, const DeviceView& a) override {
    ++kernels;
    each(out, el::indexer_of(out, {&out, &a}),
         [&](const el::Indexer& ix, const int64_t* off) { el::unary_element(op, ix, off, out.data); });
  }
  void masked_zero(const DeviceView& out, const DeviceView& a, const DeviceView& mask) override {
    ++kernels;
    each(out, el::indexer_of(out, {&out, &a, &mask}),
         [&](const el::Indexer& ix, const int64_t* off) { el::masked_zero_element(ix, off, out.data); });
  }
  void sum(const DeviceView& out, const DeviceView& a, uint32_t reduce_mask, bool squares) override {
    ++kernels;
    const el::SumPlan p = el::plan_sum(out, a, reduce_mask);
    if (p.nout == 0 || p.nred == 0) return;
    const el::Operand& src = p.kept.ops[1];
    const bool fl = el::is_float(src.type);
    for (int64_t j = 0; j < p.nout; ++j) {
      int64_t koff[el::kMaxOperands], roff[el::kMaxOperands];
      el::offsets_of(p.kept, j, koff);
      double acc_d = 0;
      uint64_t acc_i = 0;
      for (int64_t r = 0; r < p.nred; ++r) {
        el::offsets_of(p.red, r, roff);
        const int64_t i = koff[1] + roff[0];
        if (fl) {
          const double v = el::load_d(src, i);
          acc_d += squares ? v * v : v;
        } else {
          const uint64_t v = static_cast<uint64_t>(el::load_i(src, i));
          acc_i += squares ? v * v : v;
        }
      }
      if (fl) el::store_d(out.data, out.type, koff[0], acc_d);
      else el::store_i(out.data, out.type, koff[0], static_cast<int64_t>(acc_i));
    }
  }
  void matmul(const DeviceView& out, const DeviceView& a, const DeviceView& b, const DeviceView* bias) override {
    ++kernels;
    const int64_t n = a.sizes[0], k = a.sizes[1], m = b.sizes[1];
    const el::Operand A = el::operand_of(a), B = el::operand_of(b);
    const el::Operand C = bias ? el::operand_of(*bias) : el::Operand{};
    const bool fl = el::is_float(out.type);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        const int64_t cj = bias ? C.offset + j * C.strides[0] : 0;
        double acc = bias ? el::load_d(C, cj) : 0;
        uint64_t acc_i = bias ? static_cast<uint64_t>(el::load_i(C, cj)) : 0;
        for (int64_t p = 0; p < k; ++p) {
          const int64_t ia = A.offset + i * A.strides[0] + p * A.strides[1];
          const int64_t ib = B.offset + p * B.strides[0] + j * B.strides[1];
          if (fl) acc += el::load_d(A, ia) * el::load_d(B, ib);
          else acc_i += static_cast<uint64_t>(el::load_i(A, ia)) * static_cast<uint64_t>(el::load_i(B, ib));
        }
        if (fl) el::store_d(out.data, out.type, i * m + j, acc);
        else el::store_i(out.data, out.type, i * m + j, static_cast<int64_t>(acc_i));
      }
  }
  void synchronize() override {}
  std::string device_name() const override { return "host stand-in for cuda:0"; }

  long live_blocks = 0;  // allocated and not yet released
  long uploads = 0, downloads = 0, kernels = 0;

 private:
  template <class F>
  static void each(const DeviceView& shape, const el::Indexer& ix, F&& f) {
    const int64_t n = el::numel_of(shape);
    int64_t off[el::kMaxOperands];
    for (int64_t k = 0; k < n; ++k) {
      el::offsets_of(ix, k, off);
      f(ix, off);
    }
  }
  static DeviceView contiguous(void* data, ElemType type, const DeviceView& shape) {
    DeviceView v;
    v.data = data;
    v.type = type;
    v.ndim = shape.ndim;
    int64_t acc = 1;
    for (int d = shape.ndim - 1; d >= 0; --d) {
      v.sizes[d] = shape.sizes[d];
      v.strides[d] = acc;
      acc *= shape.sizes[d];
    }
    return v;
  }
};

}  // namespace linreg::test
