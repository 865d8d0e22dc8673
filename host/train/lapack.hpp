// The BLAS and LAPACK routines the exact solvers call, column-major, with their workspace queries
// done here. They are OpenBLAS's (BLAS and LAPACK in one library), loaded with dlopen the first
// time an exact solver runs (lapack.cpp): OpenBLAS starts its thread pool when it is loaded,
// which would double the start-up time of every other command (`--version`, SGD, predict).
// LAPACKE is not used: it would pull in Debian's separate liblapack.so.3 and libblas.so.3, two
// more copies of OpenBLAS. Each function returns LAPACK's info (0 on success, < 0 for an invalid
// argument, > 0 as LAPACK documents) and throws std::runtime_error when OpenBLAS is missing.
#pragma once


namespace linreg::lapack {

// C = alpha·AᵀA + beta·C (upper triangle), A: k×n column-major (dsyrk 'U', 'T').
void syrk_upper_t(int n, int k, double alpha, const double* a, int lda, double beta, double* c, int ldc);
// C = alpha·AAᵀ + beta·C (upper triangle), A: n×k column-major (dsyrk 'U', 'N').
void syrk_upper_n(int n, int k, double alpha, const double* a, int lda, double beta, double* c, int ldc);
int geqrf(int m, int n, double* a, int lda, double* tau);
int potrf(char uplo, int n, double* a, int lda);
int potrs(char uplo, int n, int nrhs, const double* a, int lda, double* b, int ldb);
int potri(char uplo, int n, double* a, int lda);
int posv(char uplo, int n, int nrhs, double* a, int lda, double* b, int ldb);
int trtrs(char uplo, char trans, char diag, int n, int nrhs, const double* a, int lda, double* b, int ldb);
// jobz 'N': singular values only (u, vt unused); 'A': all of U and Vᵀ.
int gesdd(char jobz, int m, int n, double* a, int lda, double* s, double* u, int ldu, double* vt, int ldvt);
// Eigenvalues (jobz 'N') of a symmetric matrix, ascending in w.
int syevd(char jobz, char uplo, int n, double* a, int lda, double* w);

}  // namespace linreg::lapack
