// Launchers of the Tensor library's device kernels (kernels/tensor_kernels.cu), host types only.
// Each takes strided views (host/tensor/device_ops.hpp) whose shapes the caller has checked and
// broadcast, and follows the host library's number rule: floating results computed in double and
// rounded once to the output type, integers in int64 with wrap-around, bools as 0/1.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "host/tensor/device_ops.hpp"

namespace linreg::kern {

using tensor::BinaryOp;
using tensor::DeviceView;
using tensor::ElemType;
using tensor::UnaryOp;

// dst = src converted to dst's type (src has dst's shape; it must not overlap dst).
void tensor_copy(const DeviceView& dst, const DeviceView& src, cudaStream_t stream);
// out (contiguous) = a op b, computed in `compute`.
void tensor_binary(BinaryOp op, ElemType compute, const DeviceView& out, const DeviceView& a, const DeviceView& b,
                   cudaStream_t stream);
// out (contiguous) = op(a).
void tensor_unary(UnaryOp op, const DeviceView& out, const DeviceView& a, cudaStream_t stream);
// out (contiguous) = mask ? 0 : a.
void tensor_masked_zero(const DeviceView& out, const DeviceView& a, const DeviceView& mask, cudaStream_t stream);
// out (contiguous, a's kept dimensions) = Σ over the dimensions in reduce_mask of a (or a²).
void tensor_sum(const DeviceView& out, const DeviceView& a, uint32_t reduce_mask, bool squares, cudaStream_t stream);
// out (n, m) int64 or bool, contiguous = a (n, k) @ b (k, m) (+ bias (m)), summed in int64 with
// wrap-around (bool: as the host, the int64 sum stored as its truth).
void tensor_matmul_int(const DeviceView& out, const DeviceView& a, const DeviceView& b, const DeviceView* bias,
                       cudaStream_t stream);

}  // namespace linreg::kern
