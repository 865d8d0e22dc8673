// The GPU half of the normal-equation solver (host/train/normal_solver.hpp has the math).
// Launchers only, host pointers in and out; seen by plain .cpp files of CUDA builds.
//
// Precision: X and y stay in their type on the device (uploaded once: float32 for synthetic data,
// double for a CSV file's values as read); each chunk of rows is turned
// into Z = [x − s, 1, y − s_y] in double (s = row 0) and ZᵀZ is accumulated with cublasDsyrk, so
// every product and sum is in double (products of floats are exact in double). FP64 syrk costs
// n·k² flops, k = d + 2: about 13 ms for 10M×256 on an H100's FP64 tensor cores, far below the
// time to read the data from a file. Solving G w = c: cuSOLVER Dpotrf + Dpotrs in double.
#pragma once

#include <cstdint>

namespace linreg {

// ZᵀZ (k×k, k = d + 2, full symmetric, row-major) of X (n, d) row-major and y (n), with the shift
// s = X row 0, s_y = y[0] (the CPU's augmented_gram_cpu computes the same matrix).
void gram_augmented_gpu(const float* h_X, const float* h_y, int64_t n, int64_t d, double* h_gram);
void gram_augmented_gpu(const double* h_X, const double* h_y, int64_t n, int64_t d, double* h_gram);

// Solves A x = rhs (A: d×d symmetric positive definite, row-major = column-major) in double with
// cusolverDnDpotrf/Dpotrs. Returns potrf's info: 0 on success; i > 0 when the leading minor of
// order i is not positive definite (then h_x is not written). h_ldiag gets the diagonal of the
// Cholesky factor L (valid for the first i − 1 columns when info = i > 0).
int cholesky_solve_gpu(const double* h_A, const double* h_rhs, int64_t d, double* h_x, double* h_ldiag);

}  // namespace linreg
