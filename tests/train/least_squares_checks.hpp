// Shared by the exact solver's tests that compare two ways of computing one fit (a device's
// reduction, a data-parallel job's) with the CPU's single-process fit: noisy test data, and the
// comparison to bounds derived from the condition number.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/data/prep.hpp"
#include "host/train/least_squares.hpp"

namespace linreg::test {

// Rows [r0, r0 + m) of ds.
inline HostDataset slice_rows(const HostDataset& ds, int64_t r0, int64_t m) {
  std::vector<int64_t> idx(static_cast<size_t>(m));
  std::iota(idx.begin(), idx.end(), r0);
  return data::take_rows(ds, idx);
}

// ds's rows [r0, r0 + rows) in parts of `part` rows; counts the passes.
struct RowsInParts {
  LeastSquaresParts p;
  int passes = 0;
  RowsInParts(const HostDataset& ds, int64_t part, int64_t r0 = 0, int64_t rows = -1) {
    if (rows < 0) rows = ds.n;
    p.rows = rows;
    p.features = ds.d;
    p.wide = !ds.X64.empty();
    p.names = ds.feature_names;
    p.each = [this, &ds, part, r0, rows](const std::function<void(const HostDataset&, int64_t)>& f) {
      ++passes;
      for (int64_t i = 0; i < rows; i += part) f(slice_rows(ds, r0 + i, std::min(part, rows - i)), i);
    };
    p.head = [&ds, r0, rows](int64_t m) { return slice_rows(ds, r0, std::min(m, rows)); };
  }
};

// Noisy data with offsets and scales apart (double values, float copies beside them).
inline HostDataset noisy(int64_t n, int64_t d, uint64_t seed, bool wide = true) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  HostDataset ds;
  ds.n = n;
  ds.d = d;
  ds.X64.resize(static_cast<size_t>(n * d));
  ds.y64.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double y = 0.7;
    for (int64_t j = 0; j < d; ++j) {
      const double x = 3.0 * static_cast<double>(j % 3) + (1.0 + 0.5 * static_cast<double>(j)) * g(rng);
      ds.X64[i * d + j] = x;
      y += (j % 2 ? -1.0 : 1.0) * (1.0 + 0.1 * static_cast<double>(j)) * x;
    }
    ds.y64[i] = y + 0.3 * g(rng);
  }
  ds.X.assign(ds.X64.begin(), ds.X64.end());
  ds.y.assign(ds.y64.begin(), ds.y64.end());
  if (!wide) {  // float data only, as the synthetic problem's: the view carries float pointers
    ds.X64.clear();
    ds.y64.clear();
  }
  for (int64_t j = 0; j < d; ++j) ds.feature_names.push_back("f" + std::to_string(j));
  return ds;
}

// The two fits solve the same problem from reductions that differ by rounding only. Perturbation
// theory bounds each solution's relative error (in the scaled units where the design has unit
// columns) by about κ·ε for QR and κ²·ε for the Gram matrix; with a residual, κ²·ε·‖r‖/‖θ‖ for
// both. Unrefined fits may differ by the sum of two such errors; refined ones are closer. The
// data here have coefficients and columns of order one, so the bound is applied per coefficient
// relative to the largest: 64·κ²·ε·(1 + ‖r‖) covers every case with the constant of n-term sums.
inline void expect_same_fit(const LeastSquaresFit& dev, const LeastSquaresFit& cpu, const std::string& what) {
  ASSERT_EQ(dev.w.size(), cpu.w.size()) << what;
  EXPECT_EQ(dev.method, cpu.method) << what;
  EXPECT_EQ(dev.rank, cpu.rank) << what;
  EXPECT_EQ(dev.aliased, cpu.aliased) << what;
  EXPECT_EQ(dev.intercept_aliased, cpu.intercept_aliased) << what;
  const double kappa = std::isfinite(cpu.condition) ? cpu.condition : 1e3;
  double top = std::fabs(cpu.b);
  for (double w : cpu.w) top = std::max(top, std::fabs(w));
  const double bound = 64 * kappa * kappa * DBL_EPSILON * (1 + std::sqrt(cpu.rss)) * std::max(top, 1.0);
  for (size_t j = 0; j < cpu.w.size(); ++j) EXPECT_NEAR(dev.w[j], cpu.w[j], bound) << what << " w" << j;
  EXPECT_NEAR(dev.b, cpu.b, bound) << what << " b";
  if (cpu.condition < 1e12) {  // past that, σ_min is rounding, different on either side
    EXPECT_NEAR(dev.condition, cpu.condition, 1e-6 * cpu.condition) << what;
  }
  EXPECT_NEAR(dev.rss, cpu.rss, 1e-9 * (cpu.rss + cpu.tss)) << what;
  ASSERT_EQ(dev.unscaled_cov.size(), cpu.unscaled_cov.size()) << what;
  double cov_top = 0;
  for (double v : cpu.unscaled_cov) cov_top = std::max(cov_top, std::fabs(v));
  for (size_t t = 0; t < cpu.unscaled_cov.size(); ++t)
    EXPECT_NEAR(dev.unscaled_cov[t], cpu.unscaled_cov[t], 64 * kappa * kappa * DBL_EPSILON * cov_top) << what << " cov " << t;
}

}  // namespace linreg::test
