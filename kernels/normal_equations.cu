// Normal equations on the GPU: ZᵀZ with cuBLAS Dsyrk over double chunks of Z, and the Cholesky
// solve with cuSOLVER (see normal_equations.hpp for shapes and the precision choice).
#include "kernels/normal_equations.hpp"

#include <algorithm>
#include <vector>

#include "kernels/cuda_check.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/launch.hpp"

namespace linreg {
namespace {

using kern::ceil_div;
constexpr int kBlock = kern::kBlockSize;
constexpr int64_t kZChunkBytes = int64_t{64} << 20;  // one chunk of Z in double: at most 64 MiB

// Z (rows, k) row-major (= column-major k × rows, ld k), k = d + 2:
//   Z[i, j] = X[i, j] − x0[j] (j < d),   Z[i, d] = 1,   Z[i, d + 1] = y[i] − y0[0].
// X: (rows, d) row-major; x0: the shift row (d); y0: the label shift (1 value).
// x0 and y0 point into X and y (row 0): read-only aliasing, which __restrict__ allows.
template <typename T>
__global__ void __launch_bounds__(kern::kBlockSize)
    build_z_kernel(int64_t total, int64_t d, const T* __restrict__ X, const T* __restrict__ y,
                   const T* __restrict__ x0, const T* __restrict__ y0, double* __restrict__ Z) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t k = d + 2;
  const int64_t i = idx / k;
  const int64_t j = idx - i * k;
  double v;
  if (j < d) v = static_cast<double>(X[i * d + j]) - static_cast<double>(x0[j]);
  else if (j == d) v = 1.0;
  else v = static_cast<double>(y[i]) - static_cast<double>(y0[0]);
  Z[idx] = v;
}

template <typename T>
void build_z(int64_t rows, int64_t d, const T* d_X, const T* d_y, const T* d_x0, const T* d_y0, double* d_Z,
             cudaStream_t stream) {
  const int64_t total = rows * (d + 2);
  if (total == 0) return;
  build_z_kernel<T><<<static_cast<unsigned>(ceil_div(total, kBlock)), kBlock, 0, stream>>>(total, d, d_X, d_y, d_x0,
                                                                                       d_y0, d_Z);
  LINREG_CHECK_LAUNCH();
}

int to_int(int64_t v, const char* what) {
  if (v < 0 || v > 0x7fffffff) throw CudaError(std::string("normal equations: ") + what + " does not fit an int");
  return static_cast<int>(v);
}

template <typename T>
void gram_augmented_impl(const T* h_X, const T* h_y, int64_t n, int64_t d, double* h_gram) {
  if (n <= 0 || d <= 0) throw CudaError("gram_augmented_gpu: empty data");
  const int64_t k = d + 2;
  const int ki = to_int(k, "d + 2");
  CudaStream stream;
  CublasHandle blas;
  LINREG_CHECK(cublasSetStream(blas.get(), stream.get()));

  // The data goes to the device once.
  DeviceBuffer<T> X(static_cast<size_t>(n * d)), y(static_cast<size_t>(n));
  X.upload(h_X, static_cast<size_t>(n * d), stream.get());
  y.upload(h_y, static_cast<size_t>(n), stream.get());

  const int64_t chunk_rows = std::max<int64_t>(1, std::min<int64_t>(n, kZChunkBytes / (k * 8)));
  DeviceBuffer<double> Z(static_cast<size_t>(chunk_rows * k)), C(static_cast<size_t>(k * k));
  LINREG_CHECK(cudaMemsetAsync(C.data(), 0, C.bytes(), stream.get()));
  const double one = 1.0;
  for (int64_t start = 0; start < n; start += chunk_rows) {
    const int64_t rows = std::min(chunk_rows, n - start);
    build_z(rows, d, X.data() + start * d, y.data() + start, X.data(), y.data(), Z.data(), stream.get());
    // C += Z_chunkᵀ Z_chunk: with Z column-major (k × rows), that is A·Aᵀ with op N. Lower part.
    LINREG_CHECK(cublasDsyrk(blas.get(), CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_N, ki, to_int(rows, "chunk rows"), &one,
                             Z.data(), ki, &one, C.data(), ki));
  }
  std::vector<double> c(static_cast<size_t>(k * k));
  C.download(c.data(), c.size(), stream.get());
  LINREG_CHECK(cudaStreamSynchronize(stream.get()));
  // Column-major lower triangle: element (r, col) with r ≥ col at c[r + col·k]. Mirror it.
  for (int64_t col = 0; col < k; ++col)
    for (int64_t r = col; r < k; ++r) {
      const double v = c[static_cast<size_t>(r + col * k)];
      h_gram[r * k + col] = v;
      h_gram[col * k + r] = v;
    }
}

}  // namespace

void gram_augmented_gpu(const float* h_X, const float* h_y, int64_t n, int64_t d, double* h_gram) {
  gram_augmented_impl(h_X, h_y, n, d, h_gram);
}
void gram_augmented_gpu(const double* h_X, const double* h_y, int64_t n, int64_t d, double* h_gram) {
  gram_augmented_impl(h_X, h_y, n, d, h_gram);
}

int cholesky_solve_gpu(const double* h_A, const double* h_rhs, int64_t d, double* h_x, double* h_ldiag) {
  if (d <= 0) throw CudaError("cholesky_solve_gpu: empty system");
  const int di = to_int(d, "d");
  CudaStream stream;
  CusolverHandle solver;
  LINREG_CHECK(cusolverDnSetStream(solver.get(), stream.get()));
  DeviceBuffer<double> A(static_cast<size_t>(d * d)), B(static_cast<size_t>(d));
  DeviceBuffer<int> info(1);
  A.upload(h_A, static_cast<size_t>(d * d), stream.get());
  B.upload(h_rhs, static_cast<size_t>(d), stream.get());

  int lwork = 0;
  LINREG_CHECK(cusolverDnDpotrf_bufferSize(solver.get(), CUBLAS_FILL_MODE_LOWER, di, A.data(), di, &lwork));
  DeviceBuffer<double> work(static_cast<size_t>(std::max(lwork, 1)));
  LINREG_CHECK(cusolverDnDpotrf(solver.get(), CUBLAS_FILL_MODE_LOWER, di, A.data(), di, work.data(), lwork,
                                info.data()));
  int h_info = 0;
  std::vector<double> factor(static_cast<size_t>(d * d));
  info.download(&h_info, 1, stream.get());
  A.download(factor.data(), factor.size(), stream.get());
  LINREG_CHECK(cudaStreamSynchronize(stream.get()));
  if (h_info < 0) throw CudaError("cusolverDnDpotrf: parameter " + std::to_string(-h_info) + " is invalid");
  for (int64_t j = 0; j < d; ++j) h_ldiag[j] = factor[static_cast<size_t>(j * d + j)];
  if (h_info > 0) return h_info;

  LINREG_CHECK(cusolverDnDpotrs(solver.get(), CUBLAS_FILL_MODE_LOWER, di, 1, A.data(), di, B.data(), di, info.data()));
  B.download(h_x, static_cast<size_t>(d), stream.get());
  info.download(&h_info, 1, stream.get());
  LINREG_CHECK(cudaStreamSynchronize(stream.get()));
  if (h_info != 0) throw CudaError("cusolverDnDpotrs: info " + std::to_string(h_info));
  return 0;
}

}  // namespace linreg
