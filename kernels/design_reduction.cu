// The exact solver's pass over the data on the GPU (see design_reduction.hpp): a kernel builds
// each chunk of the scaled design from the raw rows with the cell formulas the CPU uses
// (host/train/scaled_design.hpp), then cuBLAS Dsyrk accumulates its Gram matrix, or cuSOLVER
// Dgeqrf factors it below the R carried from the chunks before.
#include "kernels/design_reduction.hpp"

#include <algorithm>
#include <string>

#include "kernels/cuda_check.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/launch.hpp"

namespace linreg {
namespace {

using kern::ceil_div;
constexpr int kBlock = kern::kBlockSize;
// One chunk of the design in double: at most 64 MiB (plus its raw rows): enough rows that each
// cuBLAS/cuSOLVER call is large, small enough for any device.
constexpr int64_t kChunkBytes = int64_t{64} << 20;

int to_int(int64_t v, const char* what) {
  if (v < 0 || v > 0x7fffffff) throw CudaError(std::string("exact solver on the GPU: ") + what + " does not fit an int");
  return static_cast<int>(v);
}

// Cells (i, col) of one chunk's `rows` rows (X, y, v already offset to the chunk) at
// out[i·row_stride + col·col_stride]. rows_fastest picks which index consecutive threads walk,
// so that the writes are the coalesced side: columns for the Gram buffer (row after row), rows
// for the column-major QR buffer.
template <typename TX, typename TY>
__global__ void __launch_bounds__(kern::kBlockSize)
    scaled_design_kernel(int64_t rows, int64_t d, bool intercept, const TX* __restrict__ X,
                         const TY* __restrict__ y, const double* __restrict__ v, const double* __restrict__ shift,
                         double shift_y, const double* __restrict__ scale, double* __restrict__ out,
                         int64_t row_stride, int64_t col_stride, bool rows_fastest) {
  const int64_t o = intercept ? 1 : 0;
  const int64_t c = d + o + 1;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= rows * c) return;
  int64_t i, col;
  if (rows_fastest) {
    col = idx / rows;
    i = idx - col * rows;
  } else {
    i = idx / c;
    col = idx - i * c;
  }
  const double sv = v ? sqrt(v[i]) : 1.0;
  double cell;
  if (col < o) cell = design_intercept_cell(scale[0], sv);
  else if (col == c - 1) cell = design_label_cell(static_cast<double>(y[i]), shift_y, sv);
  else cell = design_feature_cell(static_cast<double>(X[i * d + (col - o)]), shift[col - o], scale[col], sv);
  out[i * row_stride + col * col_stride] = cell;
}

// Zeroes the strict lower triangle of the leading c × c block of A (leading dimension lda): what
// Dgeqrf left there are Householder vectors; the next chunk is stacked below the R alone.
__global__ void __launch_bounds__(kern::kBlockSize) keep_upper_kernel(int64_t c, int64_t lda, double* __restrict__ A) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= c * c) return;
  const int64_t col = idx / c, r = idx - col * c;
  if (r > col) A[col * lda + r] = 0.0;
}

// The rows of the view, a chunk at a time, to the device, and their cells into a buffer.
template <typename TX, typename TY>
class ChunkBuilder {
 public:
  ChunkBuilder(const ScaledDesignView& z, const TX* X, const TY* y, int64_t chunk_rows, cudaStream_t stream)
      : z_(z), X_(X), y_(y), stream_(stream),
        dX_(static_cast<size_t>(chunk_rows * z.d)), dy_(static_cast<size_t>(chunk_rows)),
        shift_(static_cast<size_t>(z.d)), scale_(static_cast<size_t>(z.coefficients())) {
    if (z.weights) dv_.resize(static_cast<size_t>(chunk_rows));
    shift_.upload(z.shift, shift_.size(), stream_);
    scale_.upload(z.scale, scale_.size(), stream_);
  }

  // Rows [i0, i0 + rows) to the device, their cells to out (see scaled_design_kernel).
  // The copies come from pageable memory, in stream order: the buffers are reused only after
  // the kernels before have read them.
  void build(int64_t i0, int64_t rows, double* out, int64_t row_stride, int64_t col_stride, bool rows_fastest) {
    const int64_t d = z_.d;
    dX_.upload(X_ + i0 * d, static_cast<size_t>(rows * d), stream_);
    dy_.upload(y_ + i0, static_cast<size_t>(rows), stream_);
    if (z_.weights) dv_.upload(z_.weights + i0, static_cast<size_t>(rows), stream_);
    const int64_t cells = rows * z_.columns();
    scaled_design_kernel<TX, TY><<<static_cast<unsigned>(ceil_div(cells, kBlock)), kBlock, 0, stream_>>>(
        rows, d, z_.intercept, dX_.data(), dy_.data(), z_.weights ? dv_.data() : nullptr, shift_.data(), z_.shift_y,
        scale_.data(), out, row_stride, col_stride, rows_fastest);
    LINREG_CHECK_LAUNCH();
  }

 private:
  const ScaledDesignView& z_;
  const TX* X_;
  const TY* y_;
  cudaStream_t stream_;
  DeviceBuffer<TX> dX_;
  DeviceBuffer<TY> dy_;
  DeviceBuffer<double> dv_, shift_, scale_;
};

void check_view(const ScaledDesignView& z) {
  if (z.n <= 0 || z.d <= 0) throw CudaError("exact solver on the GPU: an empty design");
  if (!(z.X64 || z.X32) || !(z.y64 || z.y32) || !z.shift || !z.scale)
    throw CudaError("exact solver on the GPU: the design has no data");
}

// f(X, y) with the view's data in their own types.
template <typename F>
void with_data(const ScaledDesignView& z, const F& f) {
  if (z.X64 && z.y64) f(z.X64, z.y64);
  else if (z.X64) f(z.X64, z.y32);
  else if (z.y64) f(z.X32, z.y64);
  else f(z.X32, z.y32);
}

// Rows per chunk: the design chunk within kChunkBytes, at least one row, at most n.
int64_t chunk_rows_for(const ScaledDesignView& z) {
  return std::clamp<int64_t>(kChunkBytes / (z.columns() * 8), 1, z.n);
}

}  // namespace

void design_gram_gpu(const ScaledDesignView& z, double* h_gram) {
  check_view(z);
  const int64_t c = z.columns(), m = chunk_rows_for(z);
  const int ci = to_int(c, "the column count");
  CudaStream stream;
  CublasHandle blas;
  LINREG_CHECK(cublasSetStream(blas.get(), stream.get()));
  DeviceBuffer<double> D(static_cast<size_t>(m * c)), G(static_cast<size_t>(c * c));
  LINREG_CHECK(cudaMemsetAsync(G.data(), 0, G.bytes(), stream.get()));
  const double one = 1.0;
  with_data(z, [&](const auto* X, const auto* y) {
    ChunkBuilder chunk(z, X, y, m, stream.get());
    for (int64_t i0 = 0; i0 < z.n; i0 += m) {
      const int64_t rows = std::min(m, z.n - i0);
      // Row after row: the buffer is the column-major c × rows matrix Dᵀ, so DᵀD = A·Aᵀ (op N).
      chunk.build(i0, rows, D.data(), c, 1, /*rows_fastest=*/false);
      LINREG_CHECK(cublasDsyrk(blas.get(), CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, ci, to_int(rows, "the chunk rows"),
                               &one, D.data(), ci, &one, G.data(), ci));
    }
    G.download(h_gram, G.size(), stream.get());
    LINREG_CHECK(cudaStreamSynchronize(stream.get()));  // before the chunk's buffers go
  });
}

void design_qr_gpu(const ScaledDesignView& z, double* h_r) {
  check_view(z);
  const int64_t c = z.columns(), m = chunk_rows_for(z), lda = c + m;
  const int ci = to_int(c, "the column count"), ldi = to_int(lda, "the chunk height");
  CudaStream stream;
  CusolverHandle solver;
  LINREG_CHECK(cusolverDnSetStream(solver.get(), stream.get()));
  // [R; chunk]: the top c rows carry R (zero before the first chunk), the chunk's rows below.
  DeviceBuffer<double> A(static_cast<size_t>(lda * c)), tau(static_cast<size_t>(c));
  DeviceBuffer<int> info(1);
  LINREG_CHECK(cudaMemsetAsync(A.data(), 0, A.bytes(), stream.get()));
  int lwork = 0;
  LINREG_CHECK(cusolverDnDgeqrf_bufferSize(solver.get(), ldi, ci, A.data(), ldi, &lwork));
  DeviceBuffer<double> work(static_cast<size_t>(std::max(lwork, 1)));
  with_data(z, [&](const auto* X, const auto* y) {
    ChunkBuilder chunk(z, X, y, m, stream.get());
    for (int64_t i0 = 0; i0 < z.n; i0 += m) {
      const int64_t rows = std::min(m, z.n - i0);
      chunk.build(i0, rows, A.data() + c, 1, lda, /*rows_fastest=*/true);
      LINREG_CHECK(cusolverDnDgeqrf(solver.get(), to_int(c + rows, "the chunk height"), ci, A.data(), ldi, tau.data(),
                                    work.data(), lwork, info.data()));
      keep_upper_kernel<<<static_cast<unsigned>(ceil_div(c * c, kBlock)), kBlock, 0, stream.get()>>>(c, lda, A.data());
      LINREG_CHECK_LAUNCH();
    }
    // The leading c × c block, column by column (pitch lda on the device, c on the host).
    LINREG_CHECK(cudaMemcpy2DAsync(h_r, static_cast<size_t>(c) * sizeof(double), A.data(),
                                   static_cast<size_t>(lda) * sizeof(double), static_cast<size_t>(c) * sizeof(double),
                                   static_cast<size_t>(c), cudaMemcpyDeviceToHost, stream.get()));
    int h_info = 0;
    info.download(&h_info, 1, stream.get());
    LINREG_CHECK(cudaStreamSynchronize(stream.get()));
    // Dgeqrf's info reports only an invalid argument (< 0), never the data; every call had the
    // same arguments but the height, so the last call's info speaks for all.
    if (h_info != 0) throw CudaError("cusolverDnDgeqrf: argument " + std::to_string(-h_info) + " is invalid");
  });
}

}  // namespace linreg
