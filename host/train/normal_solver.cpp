// The normal-equation solver, CPU side and the host half of the GPU path (see normal_solver.hpp).
#include "host/train/normal_solver.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "host/core/error.hpp"
#include "host/train/device.hpp"
#include "host/train/least_squares.hpp"

namespace linreg {
namespace {

using Clock = std::chrono::steady_clock;

std::string column_name(const std::vector<std::string>& names, int64_t j) {
  if (j >= 0 && j < static_cast<int64_t>(names.size()) && !names[j].empty()) return "'" + names[j] + "'";
  return "x" + std::to_string(j);
}

std::vector<std::string> names_of(const HostDataset& ds) { return ds.feature_names; }

void check_shape(const HostDataset& ds) {
  if (ds.n <= 0 || ds.d <= 0) throw InputError("the normal solver needs a non-empty dataset");
  if (ds.X.size() != static_cast<size_t>(ds.n * ds.d) || ds.y.size() != static_cast<size_t>(ds.n))
    throw InputError("the normal solver needs labels for every row");
}

// A unique solution needs at least d + 1 rows (d weights and the bias).
void check_rows(const HostDataset& ds) {
  if (ds.n < ds.d + 1)
    throw InputError("the normal equations: " + std::to_string(ds.n) + " rows cannot determine " + std::to_string(ds.d) +
                     " weights and a bias (it needs at least " + std::to_string(ds.d + 1) +
                     " rows); use more data or fewer --columns");
}

// Column j is constant (to float32 precision): no spread around its mean.
bool is_constant(const CenteredSystem& sys, int64_t j) {
  const double var = sys.G[j * sys.d + j] / static_cast<double>(sys.n);
  return !(var > 1e-12 * sys.mean_x[j] * sys.mean_x[j]) || var == 0.0;
}

double intercept(const CenteredSystem& sys, const std::vector<double>& w) {
  double b = sys.mean_y;
  for (int64_t j = 0; j < sys.d; ++j) b -= sys.mean_x[j] * w[j];
  return b;
}

}  // namespace

std::vector<double> augmented_gram_cpu(const HostDataset& ds) {
  check_shape(ds);
  const int64_t n = ds.n, d = ds.d, k = d + 2;
  const double y0 = ds.label(0);
  std::vector<double> total(static_cast<size_t>(k * k), 0.0), block(static_cast<size_t>(k * k));
  std::vector<double> z(static_cast<size_t>(k));
  // Rows are summed in blocks, then the blocks: rounding grows with block + n/block, not n.
  constexpr int64_t kRowsPerBlock = 1024;
  for (int64_t start = 0; start < n; start += kRowsPerBlock) {
    std::fill(block.begin(), block.end(), 0.0);
    const int64_t stop = std::min(n, start + kRowsPerBlock);
    for (int64_t i = start; i < stop; ++i) {
      for (int64_t j = 0; j < d; ++j) z[j] = ds.x(i, j) - ds.x(0, j);
      z[d] = 1.0;
      z[d + 1] = ds.label(i) - y0;
      for (int64_t a = 0; a < k; ++a) {
        const double za = z[a];
        double* row = block.data() + a * k;
        const double* zp = z.data();
#pragma omp simd
        for (int64_t c = 0; c <= a; ++c) row[c] += za * zp[c];
      }
    }
    for (size_t t = 0; t < total.size(); ++t) total[t] += block[t];
  }
  for (int64_t a = 0; a < k; ++a)
    for (int64_t c = a + 1; c < k; ++c) total[a * k + c] = total[c * k + a];
  return total;
}

CenteredSystem center_system(const std::vector<double>& aug, const HostDataset& ds) {
  const int64_t d = ds.d, k = d + 2;
  if (static_cast<int64_t>(aug.size()) != k * k) throw InputError("center_system: Gram matrix of the wrong size");
  CenteredSystem sys;
  sys.n = ds.n;
  sys.d = d;
  const double n = aug[d * k + d];  // Σ 1·1
  const auto A = [&](int64_t r, int64_t c) { return aug[r * k + c]; };
  sys.G.resize(static_cast<size_t>(d * d));
  sys.c.resize(static_cast<size_t>(d));
  sys.mean_x.resize(static_cast<size_t>(d));
  for (int64_t a = 0; a < d; ++a) {
    for (int64_t c = 0; c < d; ++c) sys.G[a * d + c] = A(a, c) - A(a, d) * A(c, d) / n;
    sys.c[a] = A(a, d + 1) - A(a, d) * A(d, d + 1) / n;
    sys.mean_x[a] = ds.x(0, a) + A(a, d) / n;
  }
  sys.mean_y = ds.label(0) + A(d, d + 1) / n;
  return sys;
}

void check_system(const CenteredSystem& sys, const std::vector<std::string>& names) {
  for (int64_t j = 0; j < sys.d; ++j)
    if (is_constant(sys, j)) throw_singular(sys, j, names);
}


void throw_singular(const CenteredSystem& sys, int64_t k, const std::vector<std::string>& names) {
  const int64_t d = sys.d;
  const std::string tail = ": the least-squares weights are not unique; drop the column, or use the SVD solver for the "
                           "minimum-norm solution";
  if (is_constant(sys, k))
    throw InputError("column " + column_name(names, k) +
                     " is constant; with the intercept (bias) a constant column is collinear with it" + tail);
  for (int64_t j = 0; j < d; ++j) {
    if (j == k || is_constant(sys, j)) continue;
    const double corr = sys.G[k * d + j] / std::sqrt(sys.G[k * d + k] * sys.G[j * d + j]);
    if (std::fabs(corr) >= 1.0 - 1e-9)
      throw InputError("column " + column_name(names, k) + " duplicates column " +
                       column_name(names, j) + " (up to scale and offset: correlation " +
                       (corr > 0 ? "+1" : "-1") + ")" + tail);
  }
  throw InputError("column " + column_name(names, k) +
                   " is a linear combination of the columns before it" + tail);
}

// The CPU path is LAPACK's (least_squares.hpp, Cholesky of the column-scaled Gram matrix).
NormalSolution solve_normal_cpu(const HostDataset& ds) {
  check_shape(ds);
  check_rows(ds);
  LeastSquaresOptions opt;
  opt.method = ExactMethod::Cholesky;
  const LeastSquaresFit fit = least_squares(ds, opt);
  NormalSolution sol;
  sol.w = fit.w;
  sol.b = fit.b;
  sol.device = "cpu";
  sol.seconds = fit.seconds;
  return sol;
}

NormalSolution solve_normal_gpu(const HostDataset& ds) {
  const GpuBackend& gpu = gpu_backend();
  const auto t0 = Clock::now();
  check_shape(ds);
  check_rows(ds);
  const int64_t d = ds.d, k = d + 2;
  std::vector<double> aug(static_cast<size_t>(k * k));
  // The values as read: double where the source had more than float32 (a CSV file).
  if (!ds.X64.empty() && !ds.y64.empty()) gpu.gram_augmented64(ds.X64.data(), ds.y64.data(), ds.n, d, aug.data());
  else gpu.gram_augmented(ds.X.data(), ds.y.data(), ds.n, d, aug.data());
  const CenteredSystem sys = center_system(aug, ds);
  check_system(sys, names_of(ds));
  NormalSolution sol;
  sol.w.resize(static_cast<size_t>(d));
  std::vector<double> ldiag(static_cast<size_t>(d));
  const int info = gpu.cholesky_solve(sys.G.data(), sys.c.data(), d, sol.w.data(), ldiag.data());
  // The same pivot test as the CPU Cholesky (p_j = L_jj²), over the columns potrf factored; then
  // potrf's own failure (info = j + 1: the leading minor of order j + 1 is not positive definite).
  const int64_t factored = info > 0 ? info - 1 : d;
  for (int64_t j = 0; j < factored; ++j)
    if (!(ldiag[j] * ldiag[j] > kPivotTolerance * sys.G[j * d + j])) throw_singular(sys, j, names_of(ds));
  if (info > 0) throw_singular(sys, info - 1, names_of(ds));
  sol.b = intercept(sys, sol.w);
  sol.device = probe_gpu().name;
  sol.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return sol;
}

}  // namespace linreg
