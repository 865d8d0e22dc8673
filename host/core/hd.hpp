// LINREG_HD marks functions that both the CPU loops and the CUDA kernels call, so each
// per-element formula is written once (cf. tiny-cuda-nn's TCNN_HOST_DEVICE).
// Empty when the file is compiled by a plain C++ compiler.
#pragma once

#if defined(__CUDACC__)
#define LINREG_HD __host__ __device__ __forceinline__
#else
#define LINREG_HD inline
#endif
