// The Tensor library's device kernels (see tensor_kernels.hpp): strided copy with conversion,
// element-wise binary and unary ops, masked zero, sums over any set of dimensions, and the int64
// matrix product (floating products go to cuBLAS in host/gpu/tensor_module.cpp). Their host
// twins are the loops of host/tensor/elementwise.cpp, reductions.cpp and tensor_impl.cpp; each
// per-element rule here is written to give the same bits as the twin (the GPU tests bind them).
//
// Element types are read and written through a switch on the view's type rather than one kernel
// per type combination: these kernels serve a teaching library's small tensors, and one kernel per
// op keeps the pair with the host loops easy to read. Offsets are computed from the linear index
// by dividing through the sizes, innermost dimension last, as the host walks row-major order.
#include "kernels/tensor_kernels.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/cuda_check.hpp"
#include "kernels/launch.hpp"
#include "kernels/tensor_elements.hpp"

namespace linreg::kern {
namespace {

using namespace tensor_elements;  // NOLINT: the per-element rules shared with the host stand-in

int grid_for(int64_t n) {
  // Grid-stride loops: enough blocks to fill the device, never more than the work needs.
  return static_cast<int>(std::min<int64_t>(ceil_div(n, kBlockSize), 65535));
}

// One grid-stride loop per element-wise kernel; the rule for one element is shared with the host
// stand-in (tensor_elements.hpp).
__global__ void __launch_bounds__(kBlockSize) copy_kernel(int64_t n, Indexer ix, void* __restrict__ dst) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t off[kMaxOperands];
    offsets_of(ix, k, off);
    copy_element(ix, off, dst);
  }
}

__global__ void __launch_bounds__(kBlockSize)
    binary_kernel(int64_t n, BinaryOp op, ElemType compute, Indexer ix, void* __restrict__ out) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t off[kMaxOperands];
    offsets_of(ix, k, off);
    binary_element(op, compute, ix, off, out);
  }
}

__global__ void __launch_bounds__(kBlockSize) unary_kernel(int64_t n, UnaryOp op, Indexer ix, void* __restrict__ out) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t off[kMaxOperands];
    offsets_of(ix, k, off);
    unary_element(op, ix, off, out);
  }
}

__global__ void __launch_bounds__(kBlockSize) masked_zero_kernel(int64_t n, Indexer ix, void* __restrict__ out) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t off[kMaxOperands];
    offsets_of(ix, k, off);
    masked_zero_element(ix, off, out);
  }
}

// One block per output element (grid-stride over outputs): its threads stride over the reduced
// elements, each summing in double (or int64), then a shared-memory tree adds the threads' sums.
// `kept` iterates the output (operand 0: out, operand 1: a's kept strides); `red` the reduced
// dimensions of a (operand 0: a's reduced strides, offset 0).
__global__ void __launch_bounds__(kBlockSize)
    sum_kernel(int64_t nout, int64_t nred, Indexer kept, Indexer red, bool squares, void* __restrict__ out) {
  __shared__ double part_d[kBlockSize];
  __shared__ int64_t part_i[kBlockSize];
  const Operand& a = kept.ops[1];
  const bool fl = is_float(a.type);
  for (int64_t j = blockIdx.x; j < nout; j += gridDim.x) {
    int64_t koff[kMaxOperands];
    offsets_of(kept, j, koff);
    double acc_d = 0;
    uint64_t acc_i = 0;
    for (int64_t r = threadIdx.x; r < nred; r += blockDim.x) {
      int64_t roff[kMaxOperands];
      offsets_of(red, r, roff);
      const int64_t i = koff[1] + roff[0];
      if (fl) {
        const double v = load_d(a, i);
        acc_d += squares ? v * v : v;
      } else {
        const int64_t v = load_i(a, i);
        acc_i += squares ? static_cast<uint64_t>(v) * static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      }
    }
    part_d[threadIdx.x] = acc_d;
    part_i[threadIdx.x] = static_cast<int64_t>(acc_i);
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) {
        part_d[threadIdx.x] += part_d[threadIdx.x + s];
        part_i[threadIdx.x] = static_cast<int64_t>(static_cast<uint64_t>(part_i[threadIdx.x]) +
                                                   static_cast<uint64_t>(part_i[threadIdx.x + s]));
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      if (fl) store_d(out, kept.ops[0].type, koff[0], part_d[0]);
      else store_i(out, kept.ops[0].type, koff[0], part_i[0]);
    }
    __syncthreads();  // the next output reuses the shared sums
  }
}

__global__ void __launch_bounds__(kBlockSize)
    matmul_int_kernel(int64_t n, int64_t k, int64_t m, Operand a, Operand b, Operand bias, bool has_bias,
                      ElemType out_type, void* __restrict__ out) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < n * m;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = idx / m, j = idx % m;
    uint64_t acc = has_bias ? static_cast<uint64_t>(load_i(bias, bias.offset + j * bias.strides[0])) : 0;
    for (int64_t p = 0; p < k; ++p)
      acc += static_cast<uint64_t>(load_i(a, a.offset + i * a.strides[0] + p * a.strides[1])) *
             static_cast<uint64_t>(load_i(b, b.offset + p * b.strides[0] + j * b.strides[1]));
    store_i(out, out_type, idx, static_cast<int64_t>(acc));
  }
}

}  // namespace

void tensor_copy(const DeviceView& dst, const DeviceView& src, cudaStream_t stream) {
  const int64_t n = numel_of(dst);
  if (n == 0) return;
  const Indexer ix = indexer_of(dst, {&dst, &src});
  copy_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, ix, dst.data);
  LINREG_CHECK_LAUNCH();
}

void tensor_binary(BinaryOp op, ElemType compute, const DeviceView& out, const DeviceView& a, const DeviceView& b,
                   cudaStream_t stream) {
  const int64_t n = numel_of(out);
  if (n == 0) return;
  const Indexer ix = indexer_of(out, {&out, &a, &b});
  binary_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, op, compute, ix, out.data);
  LINREG_CHECK_LAUNCH();
}

void tensor_unary(UnaryOp op, const DeviceView& out, const DeviceView& a, cudaStream_t stream) {
  const int64_t n = numel_of(out);
  if (n == 0) return;
  const Indexer ix = indexer_of(out, {&out, &a});
  unary_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, op, ix, out.data);
  LINREG_CHECK_LAUNCH();
}

void tensor_masked_zero(const DeviceView& out, const DeviceView& a, const DeviceView& mask, cudaStream_t stream) {
  const int64_t n = numel_of(out);
  if (n == 0) return;
  const Indexer ix = indexer_of(out, {&out, &a, &mask});
  masked_zero_kernel<<<grid_for(n), kBlockSize, 0, stream>>>(n, ix, out.data);
  LINREG_CHECK_LAUNCH();
}

void tensor_sum(const DeviceView& out, const DeviceView& a, uint32_t reduce_mask, bool squares, cudaStream_t stream) {
  const SumPlan plan = plan_sum(out, a, reduce_mask);
  if (plan.nout == 0 || plan.nred == 0) return;  // nothing to write, or every sum empty (the output's zeros)
  const int64_t nout = plan.nout, nred = plan.nred;
  const Indexer& kept = plan.kept;
  const Indexer& red = plan.red;
  const int grid = static_cast<int>(std::min<int64_t>(nout, 65535));
  sum_kernel<<<grid, kBlockSize, 0, stream>>>(nout, nred, kept, red, squares, out.data);
  LINREG_CHECK_LAUNCH();
}

void tensor_matmul_int(const DeviceView& out, const DeviceView& a, const DeviceView& b, const DeviceView* bias,
                       cudaStream_t stream) {
  const int64_t n = a.sizes[0], k = a.sizes[1], m = b.sizes[1];
  if (n * m == 0) return;
  const Operand none{};
  matmul_int_kernel<<<grid_for(n * m), kBlockSize, 0, stream>>>(n, k, m, operand_of(a), operand_of(b),
                                                                 bias ? operand_of(*bias) : none, bias != nullptr,
                                                                 out.type, out.data);
  LINREG_CHECK_LAUNCH();
}

}  // namespace linreg::kern
