// OpenBLAS, loaded on first use (see lapack.hpp). The entry points are the reference BLAS/LAPACK
// Fortran interfaces; with gfortran every CHARACTER argument has a trailing hidden length.
#include "host/train/lapack.hpp"

#include <dlfcn.h>

#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace linreg::lapack {
namespace {

using std::size_t;
struct Api {
  void (*dsyrk)(const char*, const char*, const int*, const int*, const double*, const double*, const int*,
                const double*, double*, const int*, size_t, size_t);
  void (*dgeqrf)(const int*, const int*, double*, const int*, double*, double*, const int*, int*);
  void (*dpotrf)(const char*, const int*, double*, const int*, int*, size_t);
  void (*dpotrs)(const char*, const int*, const int*, const double*, const int*, double*, const int*, int*, size_t);
  void (*dpotri)(const char*, const int*, double*, const int*, int*, size_t);
  void (*dposv)(const char*, const int*, const int*, double*, const int*, double*, const int*, int*, size_t);
  void (*dtrtrs)(const char*, const char*, const char*, const int*, const int*, const double*, const int*, double*,
                 const int*, int*, size_t, size_t, size_t);
  void (*dgesdd)(const char*, const int*, const int*, double*, const int*, double*, double*, const int*, double*,
                 const int*, double*, const int*, int*, int*, size_t);
  void (*dsyevd)(const char*, const char*, const int*, double*, const int*, double*, double*, const int*, int*,
                 const int*, int*, size_t, size_t);
};

const Api& api() {
  static Api a{};
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = nullptr;
    for (const char* name : {"libopenblas.so.0", "libopenblas.so"})
      if ((lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
    if (!lib) {
      error = "the exact solvers need OpenBLAS (libopenblas.so.0, Debian's libopenblas0): " +
              std::string(::dlerror() ? ::dlerror() : "not found");
      return;
    }
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
      if (!fn && error.empty()) error = std::string("OpenBLAS lacks ") + name;
    };
    sym(a.dsyrk, "dsyrk_");
    sym(a.dgeqrf, "dgeqrf_");
    sym(a.dpotrf, "dpotrf_");
    sym(a.dpotrs, "dpotrs_");
    sym(a.dpotri, "dpotri_");
    sym(a.dposv, "dposv_");
    sym(a.dtrtrs, "dtrtrs_");
    sym(a.dgesdd, "dgesdd_");
    sym(a.dsyevd, "dsyevd_");
  });
  if (!error.empty()) throw std::runtime_error(error);
  return a;
}

}  // namespace

void syrk_upper_t(int n, int k, double alpha, const double* a, int lda, double beta, double* c, int ldc) {
  const char uplo = 'U', trans = 'T';
  api().dsyrk(&uplo, &trans, &n, &k, &alpha, a, &lda, &beta, c, &ldc, 1, 1);
}

void syrk_upper_n(int n, int k, double alpha, const double* a, int lda, double beta, double* c, int ldc) {
  const char uplo = 'U', trans = 'N';
  api().dsyrk(&uplo, &trans, &n, &k, &alpha, a, &lda, &beta, c, &ldc, 1, 1);
}

int geqrf(int m, int n, double* a, int lda, double* tau) {
  int info = 0, lwork = -1;
  double query = 0;
  api().dgeqrf(&m, &n, a, &lda, tau, &query, &lwork, &info);
  if (info != 0) return info;
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<size_t>(lwork > 1 ? lwork : 1));
  api().dgeqrf(&m, &n, a, &lda, tau, work.data(), &lwork, &info);
  return info;
}

int potrf(char uplo, int n, double* a, int lda) {
  int info = 0;
  api().dpotrf(&uplo, &n, a, &lda, &info, 1);
  return info;
}

int potrs(char uplo, int n, int nrhs, const double* a, int lda, double* b, int ldb) {
  int info = 0;
  api().dpotrs(&uplo, &n, &nrhs, a, &lda, b, &ldb, &info, 1);
  return info;
}

int potri(char uplo, int n, double* a, int lda) {
  int info = 0;
  api().dpotri(&uplo, &n, a, &lda, &info, 1);
  return info;
}

int posv(char uplo, int n, int nrhs, double* a, int lda, double* b, int ldb) {
  int info = 0;
  api().dposv(&uplo, &n, &nrhs, a, &lda, b, &ldb, &info, 1);
  return info;
}

int trtrs(char uplo, char trans, char diag, int n, int nrhs, const double* a, int lda, double* b, int ldb) {
  int info = 0;
  api().dtrtrs(&uplo, &trans, &diag, &n, &nrhs, a, &lda, b, &ldb, &info, 1, 1, 1);
  return info;
}

int gesdd(char jobz, int m, int n, double* a, int lda, double* s, double* u, int ldu, double* vt, int ldvt) {
  int info = 0, lwork = -1;
  double query = 0;
  const int mn = m < n ? m : n;
  std::vector<int> iwork(static_cast<size_t>(8 * (mn > 0 ? mn : 1)));
  // LAPACK reads U and VT's leading dimensions even when jobz = 'N': keep them valid.
  double dummy = 0;
  if (!u) u = &dummy;
  if (!vt) vt = &dummy;
  api().dgesdd(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, &query, &lwork, iwork.data(), &info, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<size_t>(lwork > 1 ? lwork : 1));
  api().dgesdd(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work.data(), &lwork, iwork.data(), &info, 1);
  return info;
}

int syevd(char jobz, char uplo, int n, double* a, int lda, double* w) {
  int info = 0, lwork = -1, liwork = -1, iquery = 0;
  double query = 0;
  api().dsyevd(&jobz, &uplo, &n, a, &lda, w, &query, &lwork, &iquery, &liwork, &info, 1, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(query);
  liwork = iquery > 1 ? iquery : 1;
  std::vector<double> work(static_cast<size_t>(lwork > 1 ? lwork : 1));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  api().dsyevd(&jobz, &uplo, &n, a, &lda, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  return info;
}

}  // namespace linreg::lapack
