// The normal equations on the CPU (see normal_solver.hpp).
#include "host/train/normal_solver.hpp"

#include <algorithm>
#include <cmath>

#include "host/core/error.hpp"
#include "host/train/least_squares.hpp"

namespace linreg {
namespace {

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

}  // namespace linreg
