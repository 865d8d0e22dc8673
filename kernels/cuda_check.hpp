// LINREG_CHECK(expr): evaluates a CUDA runtime / cuBLAS / cuRAND / cuSOLVER call once and throws
// linreg::CudaError naming the expression, file:line and the library's own error string.
// Host-visible (no __global__): plain .cpp files of the CUDA build include it too.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <curand.h>
#include <cusolverDn.h>

#include <string>

#include "host/core/error.hpp"

namespace linreg::detail {

const char* status_string(cudaError_t s);
const char* status_string(cublasStatus_t s);
const char* status_string(curandStatus_t s);
const char* status_string(cusolverStatus_t s);

inline bool failed(cudaError_t s) { return s != cudaSuccess; }
inline bool failed(cublasStatus_t s) { return s != CUBLAS_STATUS_SUCCESS; }
inline bool failed(curandStatus_t s) { return s != CURAND_STATUS_SUCCESS; }
inline bool failed(cusolverStatus_t s) { return s != CUSOLVER_STATUS_SUCCESS; }

[[noreturn]] void throw_cuda_error(const char* expr, const char* file, int line, const char* what);

template <typename Status>
inline void check(Status s, const char* expr, const char* file, int line) {
  if (failed(s)) throw_cuda_error(expr, file, line, status_string(s));
}

}  // namespace linreg::detail

#define LINREG_CHECK(expr) ::linreg::detail::check((expr), #expr, __FILE__, __LINE__)

// After a kernel launch: reports launch-configuration errors at once (asynchronous faults
// surface at the next synchronising call, which is checked too).
#define LINREG_CHECK_LAUNCH() LINREG_CHECK(cudaGetLastError())
