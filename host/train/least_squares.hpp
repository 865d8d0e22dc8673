// Exact (weighted, optionally ridge-penalised) linear least squares through LAPACK (and, for the
// pass over the data, optionally the GPU module):
//     minimise  Σ_i v_i (y_i − b − x_i·w)² + α ‖w‖²     (b = 0 without an intercept; v_i = 1
//                                                        without weights; b is never penalised)
// in double, on the double values of the data (HostDataset::x/label), with the factorisation the
// caller picks or `Auto`:
//   cholesky  normal equations: Gram matrix by dsyrk, dpotrf/dpotrs. One pass, fastest; its error
//             grows with cond(X)², so it is for well-conditioned designs.
//   qr        Householder QR (dgeqrf) of [X 1 y], streamed in row chunks (each chunk is factored
//             below the R of the rows before it: a tall-skinny QR); then R w = Qᵀy by dtrtrs.
//             Error grows with cond(X), not its square.
//   svd       the same R, then its SVD (dgesdd): rank-revealing; when columns are linearly
//             dependent, the solution with the smallest ‖w‖ (original units).
//   auto      the Gram matrix first; Cholesky when the scaled design's condition number is at most
//             kCholeskyMaxCondition, else QR. Dependent columns are treated as R's lm does: dropped
//             (weight 0, "not defined because of singularities"), the rest solved by QR.
// Columns are shifted by the mean of their first 4096 rows (intercept models) and scaled to unit norm before any
// factorisation (equilibration), and the solution is mapped back to original units.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"

namespace linreg {

enum class ExactMethod { Auto, Cholesky, Qr, Svd };

// Above this condition number of the scaled design, auto does not trust the normal equations:
// their relative error is about cond² · 1.1e-16, here ≤ 1e-10 (about 10 correct digits).
constexpr double kCholeskyMaxCondition = 1e3;

class GpuBackend;
class Communicator;

struct LeastSquaresOptions {
  ExactMethod method = ExactMethod::Auto;
  bool intercept = true;
  double ridge = 0;                      // α ≥ 0
  const std::vector<double>* weights = nullptr;  // v_i ≥ 0, one per row, not all zero; or null
  // Where the design is reduced to its (k+1)² Gram matrix or R factor, the one pass over the data
  // that costs n·k²: null for the CPU (LAPACK), or the GPU module (cuBLAS Dsyrk, cuSOLVER Dgeqrf;
  // host/train/scaled_design.hpp). Everything after it (the k×k factorisations, the SVD, the
  // rank test, refinement, the statistics) runs on the host either way, in double.
  const GpuBackend* gpu = nullptr;
  // A data-parallel job (host/cluster/communicator.hpp): `ds` is this rank's shard, rows
  // [first_row, first_row + ds.n) of the whole data (a shard may be empty). Each pass over the
  // rows ends with a sum across ranks in rank order, the small solves are repeated on every
  // rank, and every rank returns the same fit of the whole data. Null: ds is all the data.
  const Communicator* comm = nullptr;
  int64_t first_row = 0;
};

struct LeastSquaresFit {
  std::vector<double> w;  // original units; 0 for a column auto dropped
  double b = 0;
  ExactMethod method = ExactMethod::Cholesky;  // what ran (auto resolved)
  std::string why;        // for auto: why it chose that factorisation
  std::string warning;    // cholesky on a design it solves to only a few digits: how many, and what to use
  int64_t rank = 0;       // of the design, intercept column included
  std::vector<int64_t> aliased;  // feature columns that are linear combinations of earlier ones
  bool intercept_aliased = false;
  double condition = 0;   // 2-norm condition number of the column-scaled design (∞ when singular)
  int refinement_rounds = 0;  // rounds of iterative refinement with compensated residuals
  double rss = 0;         // weighted residual sum of squares (no penalty term)
  double tss = 0;         // weighted total sum of squares about the (weighted) mean, or about 0
                          // without an intercept
  int64_t observations = 0;  // rows with a non-zero weight
  // Unscaled covariance of the coefficients (w_0..w_{d-1}, then b when fitted) in original
  // units: Cov = σ² · this. Row-major, size p², p = d + intercept. Pseudo-inverse when rank
  // deficient under auto (dropped rows and columns are zero). Empty for ridge fits and for the
  // minimum-norm solution of a rank-deficient design.
  std::vector<double> unscaled_cov;
  double seconds = 0;
};

// Throws InputError: no rows, a non-finite value (names the column and row), a negative or
// all-zero weight, a negative or non-finite ridge, fewer observations than coefficients, and
// (cholesky, qr) a rank-deficient design, naming the dependent column.
LeastSquaresFit least_squares(const HostDataset& ds, const LeastSquaresOptions& opt);

// The rows of a problem read a part at a time (an .npy file larger than memory): each pass over
// the data calls each(f), which calls f(part, first) for every part in row order (`first`: the
// part's first row among `rows`); head(m) gives the first m rows. Parts hold X and y, and X64 and
// y64 when `wide`; no weights; the pass runs on the CPU. A fit this way costs one pass over the
// parts for the column norms, one for the reduction, one for the sums of squares and one per
// refinement round (refinement runs only where the condition number calls for it), and agrees
// with the fit of the rows held whole to rounding (the sums are grouped by part).
struct LeastSquaresParts {
  int64_t rows = 0, features = 0;
  bool wide = false;
  std::vector<std::string> names;
  std::function<void(const std::function<void(const HostDataset& part, int64_t first)>&)> each;
  std::function<HostDataset(int64_t m)> head;
};
LeastSquaresFit least_squares(const LeastSquaresParts& parts, const LeastSquaresOptions& opt);

const char* exact_method_name(ExactMethod m);  // "auto" | "cholesky" | "qr" | "svd"

}  // namespace linreg
