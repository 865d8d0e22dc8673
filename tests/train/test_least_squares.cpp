// The LAPACK least-squares solvers against independent references: exact solutions of designs
// built here, a long-double Gram-Schmidt reference, replicated rows for weights, the closed form
// for ridge, and the textbook formulas of simple regression for the inference table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <functional>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/train/inference.hpp"
#include "host/train/least_squares.hpp"

namespace linreg {
namespace {

constexpr ExactMethod kAll[] = {ExactMethod::Auto, ExactMethod::Cholesky, ExactMethod::Qr, ExactMethod::Svd};

// A double-precision dataset (X64, y64 filled; the float copies too).
HostDataset make(int64_t n, int64_t d, const std::function<double(int64_t, int64_t)>& x,
                 const std::function<double(int64_t, const std::vector<double>&)>& y) {
  HostDataset ds;
  ds.n = n;
  ds.d = d;
  ds.X64.resize(static_cast<size_t>(n * d));
  ds.y64.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> row(static_cast<size_t>(d));
    for (int64_t j = 0; j < d; ++j) row[j] = ds.X64[i * d + j] = x(i, j);
    ds.y64[i] = y(i, row);
  }
  ds.X.assign(ds.X64.begin(), ds.X64.end());
  ds.y.assign(ds.y64.begin(), ds.y64.end());
  for (int64_t j = 0; j < d; ++j) ds.feature_names.push_back("f" + std::to_string(j));
  return ds;
}

LeastSquaresFit fit_with(const HostDataset& ds, ExactMethod m, bool intercept = true, double ridge = 0,
                         const std::vector<double>* weights = nullptr) {
  LeastSquaresOptions o;
  o.method = m;
  o.intercept = intercept;
  o.ridge = ridge;
  o.weights = weights;
  return least_squares(ds, o);
}

// Least squares by modified Gram-Schmidt in long double on the raw design [X 1] (independent of
// the code under test: no scaling, no LAPACK).
std::vector<long double> reference(const HostDataset& ds, bool intercept) {
  const int64_t n = ds.n, d = ds.d, k = d + (intercept ? 1 : 0);
  std::vector<std::vector<long double>> Q(static_cast<size_t>(k), std::vector<long double>(static_cast<size_t>(n)));
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < n; ++i) Q[j][i] = j < d ? ds.X64[i * d + j] : 1.0L;
  std::vector<std::vector<long double>> R(static_cast<size_t>(k), std::vector<long double>(static_cast<size_t>(k), 0));
  std::vector<long double> qy(static_cast<size_t>(k));
  std::vector<long double> r(ds.y64.begin(), ds.y64.end());
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t i = 0; i < j; ++i) {
      long double dot = 0;
      for (int64_t t = 0; t < n; ++t) dot += Q[i][t] * Q[j][t];
      R[i][j] = dot;
      for (int64_t t = 0; t < n; ++t) Q[j][t] -= dot * Q[i][t];
    }
    long double nrm = 0;
    for (int64_t t = 0; t < n; ++t) nrm += Q[j][t] * Q[j][t];
    R[j][j] = std::sqrt(nrm);
    for (int64_t t = 0; t < n; ++t) Q[j][t] /= R[j][j];
    long double dot = 0;
    for (int64_t t = 0; t < n; ++t) dot += Q[j][t] * r[t];
    qy[j] = dot;
    for (int64_t t = 0; t < n; ++t) r[t] -= dot * Q[j][t];
  }
  std::vector<long double> th(static_cast<size_t>(k));
  for (int64_t j = k - 1; j >= 0; --j) {
    long double s = qy[j];
    for (int64_t i = j + 1; i < k; ++i) s -= R[j][i] * th[i];
    th[j] = s / R[j][j];
  }
  return th;
}

TEST(LeastSquares, ExactSolutionsOfIntegerDesigns) {
  // y = 3 − 2·x0 + 0.5·x1 + 7·x2 exactly (small integers: every product and sum is exact in
  // double), so every method must land on the coefficients up to its own rounding: cond(scaled X)
  // is small here, so a few ulps of the coefficients' size.
  const HostDataset ds = make(
      200, 3, [](int64_t i, int64_t j) { return static_cast<double>((i * (j + 3) + 7 * j) % 17) - 8; },
      [](int64_t, const std::vector<double>& x) { return 3 - 2 * x[0] + 0.5 * x[1] + 7 * x[2]; });
  for (ExactMethod m : kAll) {
    const LeastSquaresFit f = fit_with(ds, m);
    const double bound = 64 * f.condition * DBL_EPSILON * 7;
    EXPECT_NEAR(f.w[0], -2, bound) << exact_method_name(m);
    EXPECT_NEAR(f.w[1], 0.5, bound) << exact_method_name(m);
    EXPECT_NEAR(f.w[2], 7, bound) << exact_method_name(m);
    EXPECT_NEAR(f.b, 3, bound) << exact_method_name(m);
    EXPECT_LT(f.rss, 1e-20) << exact_method_name(m);
    EXPECT_EQ(f.rank, 4);
  }
  EXPECT_EQ(fit_with(ds, ExactMethod::Auto).method, ExactMethod::Cholesky) << "a well-conditioned design";
}

TEST(LeastSquares, MatchesLongDoubleReferenceOnNoisyData) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> g(0, 1);
  // Offsets and scales far apart: raw cond([X 1]) is large, the scaled one is not.
  const double off[] = {1e4, -3, 0.001, 250}, sc[] = {10, 1e-3, 1, 50};
  std::vector<double> noise(1000);
  for (double& e : noise) e = g(rng);
  std::vector<double> xs(4000);
  for (double& v : xs) v = g(rng);
  const HostDataset ds = make(
      1000, 4, [&](int64_t i, int64_t j) { return off[j] + sc[j] * xs[i * 4 + j]; },
      [&](int64_t i, const std::vector<double>& x) { return 1.5 + 0.2 * x[0] - 40 * x[1] + 3 * x[2] + 0.01 * x[3] + noise[i]; });
  const std::vector<long double> ref = reference(ds, true);
  // The solvers work on unit-norm columns shifted by the mean of the first 4096 rows (here all
  // 1000: the column mean): θ_j = w_j / c_j with c_j = 1/‖x_j − s_j‖, and the intercept column
  // 1/√n. Perturbation bounds hold norm-wise in that space, so each w_j is bounded by c_j · (the
  // bound on ‖δθ‖).
  std::vector<double> c(4), s0(4);
  double theta2 = 0;
  for (int64_t j = 0; j < 4; ++j) {
    long double mean = 0;
    for (int64_t i = 0; i < ds.n; ++i) mean += ds.X64[i * 4 + j];
    s0[j] = static_cast<double>(mean / ds.n);
    long double ss = 0;
    for (int64_t i = 0; i < ds.n; ++i) ss += (ds.X64[i * 4 + j] - s0[j]) * (ds.X64[i * 4 + j] - s0[j]);
    c[j] = static_cast<double>(1 / std::sqrt(ss));
    theta2 += std::pow(static_cast<double>(ref[j]) / c[j], 2);
  }
  const double c_int = 1 / std::sqrt(1000.0);
  long double ymean = 0;
  for (double v : ds.y64) ymean += v;
  long double th_int = ref[4] - ymean / ds.n;
  for (int64_t j = 0; j < 4; ++j) th_int += s0[j] * ref[j];
  theta2 += std::pow(static_cast<double>(th_int) / c_int, 2);
  for (ExactMethod m : kAll) {
    const LeastSquaresFit f = fit_with(ds, m);
    // With a non-zero residual the least-squares solution itself moves by up to cond² · eps ·
    // tan(angle between y and the column space) (Golub & Van Loan 5.3.8), for QR too; the normal
    // equations add cond² · eps on their own. Both: ‖δθ‖ ≲ 100 · cond² · eps · ‖θ‖ (100: the
    // modest constant of the backward error of 1000-term sums).
    const double dtheta = 100 * f.condition * f.condition * DBL_EPSILON * std::sqrt(theta2);
    double b_bound = c_int * dtheta;
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_NEAR(f.w[j], static_cast<double>(ref[j]), c[j] * dtheta) << exact_method_name(m) << " w" << j;
      b_bound += std::fabs(s0[j]) * c[j] * dtheta;
    }
    EXPECT_NEAR(f.b, static_cast<double>(ref[4]), b_bound) << exact_method_name(m);
    EXPECT_LT(f.condition, 100) << "equilibration should leave this design well-conditioned";
  }
}

TEST(LeastSquares, IllConditionedPolynomialNeedsQr) {
  // Degree-10 polynomial in x ∈ [-1, 1]: monomials are nearly collinear (cond of the scaled
  // design ≈ 1e4), past the normal equations' reach for 9 digits. y = 1 + Σ x^k computed from the
  // stored design values, so the true solution of the stored problem is all ones (y's rounding,
  // a few ulps, enters like any perturbation of the data).
  const int64_t d = 10;
  const HostDataset ds = make(
      400, d, [](int64_t i, int64_t j) { return std::pow(-1.0 + 2.0 * static_cast<double>(i) / 399.0, static_cast<double>(j + 1)); },
      [](int64_t, const std::vector<double>& x) {
        double s = 1;
        for (double v : x) s += v;
        return s;
      });
  const LeastSquaresFit f = fit_with(ds, ExactMethod::Auto);
  EXPECT_NE(f.method, ExactMethod::Cholesky) << f.why;
  EXPECT_GT(f.condition, 1e3);
  // Zero residual: QR's error ≲ cond · eps · (a modest constant: 100 here, for the 11-term sums).
  const double bound = 100 * f.condition * DBL_EPSILON;
  ASSERT_LT(bound, 1.0) << "the test needs a design QR can solve";
  double worst = 0;
  for (double w : f.w) worst = std::max(worst, std::fabs(w - 1));
  worst = std::max(worst, std::fabs(f.b - 1));
  EXPECT_LT(worst, bound) << "condition " << f.condition;
  // The normal equations cannot promise that: their bound is the square.
  EXPECT_GT(f.condition * f.condition * DBL_EPSILON, bound);
}

TEST(LeastSquares, NarrowRangePolynomialIsIllConditionedNotSingular) {
  // Degree 10 on x ∈ [-9, -3] (the shape of NIST's Filippelli problem): cond ≈ 1e15 raw, ≈ 8e9
  // after column scaling. The normal equations square that past 1/ε: asked for by name they must
  // refuse and say why, not call a column a linear combination of the others (it is not: QR
  // factors it with full rank). QR, auto and SVD solve it. True weights w_j = 7^-(j+1), b = 1,
  // y computed from the stored design: every term of y has a similar size, so the normwise
  // backward-stability bound of QR, ‖δθ‖ ≲ c·κ·ε·‖θ‖ in scaled units, holds for each weight
  // relative to itself up to a factor of a few; c = 100 covers the 11-term sums.
  const int64_t d = 10;
  std::vector<double> truth(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) truth[j] = std::pow(7.0, -static_cast<double>(j + 1));
  const HostDataset ds = make(
      82, d, [](int64_t i, int64_t j) { return std::pow(-9.0 + 6.0 * static_cast<double>(i) / 81.0, static_cast<double>(j + 1)); },
      [&](int64_t, const std::vector<double>& x) {
        double s = 1;
        for (int64_t j = 0; j < d; ++j) s += truth[j] * x[j];
        return s;
      });
  try {
    fit_with(ds, ExactMethod::Cholesky);
    ADD_FAILURE() << "the normal equations solved a design with cond² > 1/eps";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("not dependent"), std::string::npos) << m;
    EXPECT_NE(m.find("qr or auto"), std::string::npos) << m;
    EXPECT_EQ(m.find("linear combination"), std::string::npos) << m;
  }
  for (ExactMethod m : {ExactMethod::Qr, ExactMethod::Auto, ExactMethod::Svd}) {
    const LeastSquaresFit f = fit_with(ds, m);
    EXPECT_GT(f.condition, 1e8) << exact_method_name(m);
    EXPECT_EQ(f.rank, d + 1) << exact_method_name(m);
    const double bound = 100 * f.condition * DBL_EPSILON;
    double worst = std::fabs(f.b - 1);
    for (int64_t j = 0; j < d; ++j) worst = std::max(worst, std::fabs(f.w[j] - truth[j]) / truth[j]);
    EXPECT_LT(worst, bound) << exact_method_name(m) << " condition " << f.condition;
  }
}

TEST(LeastSquares, CholeskyWarnsWhereItLosesDigits) {
  // Degree 4 on [-1, 1]: scaled cond ≈ 1e1 to 1e2, the normal equations keep ≥ 12 digits: no
  // warning. Degree 6 on [2, 4]: cond ≈ 1e6 scaled, cond² · ε ≈ 1e-4: solved, with a warning
  // that names the digits (about 4) and QR's (about 10).
  const auto poly = [](int64_t degree, double lo, double hi) {
    return make(
        60, degree,
        [=](int64_t i, int64_t j) { return std::pow(lo + (hi - lo) * static_cast<double>(i) / 59.0, static_cast<double>(j + 1)); },
        [](int64_t, const std::vector<double>& x) {
          double s = 1;
          for (double v : x) s += v;
          return s;
        });
  };
  const LeastSquaresFit good = fit_with(poly(4, -1, 1), ExactMethod::Cholesky);
  EXPECT_TRUE(good.warning.empty()) << good.warning;
  const LeastSquaresFit poor = fit_with(poly(6, 2, 4), ExactMethod::Cholesky);
  ASSERT_GT(poor.condition * poor.condition * DBL_EPSILON, 1e-8) << "the design must cost digits";
  EXPECT_NE(poor.warning.find("correct digits"), std::string::npos) << poor.warning;
  EXPECT_NE(poor.warning.find("qr or auto"), std::string::npos) << poor.warning;
}

TEST(LeastSquares, LargeResidualDataExactInDoubleKeepNineDigits) {
  // The hard case for a plain solve: a large residual (R² ≈ 0.002, as NIST's Wampler5). Degree 5
  // in x = 0..20; y = 1 + x + ... + x⁵ + 200·e with e_i = (−1)^i·C(20, i): e is the 20th finite
  // difference, orthogonal to every polynomial of degree < 20 on these points, so the exact
  // least-squares solution is all ones and the residual is 200·e (up to 3.7e7). Every value is an
  // integer below 2^53: the data are exact in double. A backward-stable QR alone is off by
  // about cond²·ε·‖r‖/(‖X‖‖θ‖) here (5 to 6 digits); refinement with compensated residuals must
  // keep at least 9, whichever factorisation solved it.
  const int64_t d = 5;
  std::vector<double> binom(21, 1.0);
  for (int i = 1; i <= 20; ++i) binom[i] = binom[i - 1] * (21 - i) / i;  // exact integers
  const HostDataset ds = make(
      21, d, [](int64_t i, int64_t j) { return std::pow(static_cast<double>(i), static_cast<double>(j + 1)); },
      [&](int64_t i, const std::vector<double>& x) {
        double s = 1;
        for (double v : x) s += v;
        return s + 200.0 * (i % 2 ? -binom[i] : binom[i]);
      });
  for (ExactMethod m : kAll) {
    const LeastSquaresFit f = fit_with(ds, m);
    ASSERT_LE(f.condition, 1e10) << exact_method_name(m);
    double worst = std::fabs(f.b - 1);
    for (double w : f.w) worst = std::max(worst, std::fabs(w - 1));
    EXPECT_LT(worst, 1e-9) << exact_method_name(m) << ": condition " << f.condition << ", refinement rounds "
                           << f.refinement_rounds;
    EXPECT_GT(f.refinement_rounds, 0) << exact_method_name(m);
    // R² about the mean is tiny, as Wampler5's: the residual dominates.
    EXPECT_LT(1 - f.rss / f.tss, 0.01) << exact_method_name(m);
  }
}

TEST(LeastSquares, DependentColumnsAreNamedOrSolvedByMinimumNorm) {
  const HostDataset base = make(
      50, 3, [](int64_t i, int64_t j) { return std::sin(static_cast<double>(i * (j + 1))) * 10; },
      [](int64_t, const std::vector<double>& x) { return 1 + x[0] + 2 * x[1]; });
  // Column 2 := 2 · column 0: aliased.
  HostDataset dup = base;
  for (int64_t i = 0; i < dup.n; ++i) dup.X64[i * 3 + 2] = 2 * dup.X64[i * 3 + 0];
  dup.X.assign(dup.X64.begin(), dup.X64.end());
  for (ExactMethod m : {ExactMethod::Cholesky, ExactMethod::Qr}) {
    try {
      fit_with(dup, m);
      ADD_FAILURE() << exact_method_name(m) << " accepted a duplicated column";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("column 'f2' duplicates column 'f0'"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("sgd"), std::string::npos) << e.what();
    }
  }
  for (ExactMethod m : {ExactMethod::Svd, ExactMethod::Auto}) {
    const LeastSquaresFit f = fit_with(dup, m);
    EXPECT_EQ(f.method, m == ExactMethod::Svd ? ExactMethod::Svd : ExactMethod::Qr);
    EXPECT_EQ(f.rank, 3);
    ASSERT_EQ(f.aliased.size(), 1u);
    EXPECT_EQ(f.aliased[0], 2);
  }
  // svd: among the solutions w0·x0 + w2·(2·x0) = 1·x0 the one with the least w0² + w2²:
  // w0 = 1/5, w2 = 2/5 (original units).
  const LeastSquaresFit f = fit_with(dup, ExactMethod::Svd);
  EXPECT_NEAR(f.w[0], 0.2, 1e-9);
  EXPECT_NEAR(f.w[2], 0.4, 1e-9);
  EXPECT_NEAR(f.w[1], 2, 1e-9);
  EXPECT_NEAR(f.b, 1, 1e-9);
  EXPECT_TRUE(f.unscaled_cov.empty()) << "no standard errors for the minimum-norm solution";
  // auto, as R's lm: f2 dropped (weight 0), f0 carries the whole effect, standard errors for the rest.
  const LeastSquaresFit a = fit_with(dup, ExactMethod::Auto);
  EXPECT_EQ(a.method, ExactMethod::Qr);
  EXPECT_NE(a.why.find("column 'f2' is a linear combination"), std::string::npos) << a.why;
  EXPECT_NEAR(a.w[0], 1, 1e-9);
  EXPECT_EQ(a.w[2], 0);
  EXPECT_NEAR(a.w[1], 2, 1e-9);
  const Inference inf = infer(a, dup.feature_names, true, 0);
  ASSERT_TRUE(inf.available) << inf.why_not;
  EXPECT_FALSE(inf.coefficients[2].defined);
  EXPECT_TRUE(inf.coefficients[0].defined);
  EXPECT_EQ(inf.dof, 50 - 3);
  HostDataset cst = base;
  for (int64_t i = 0; i < cst.n; ++i) cst.X64[i * 3 + 1] = 5;
  cst.X.assign(cst.X64.begin(), cst.X64.end());
  try {
    fit_with(cst, ExactMethod::Qr);
    ADD_FAILURE() << "accepted a constant column with an intercept";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("column 'f1' is constant"), std::string::npos) << e.what();
  }
  // Without an intercept a constant column is an ordinary regressor.
  EXPECT_NO_THROW(fit_with(cst, ExactMethod::Qr, /*intercept=*/false));
}

TEST(LeastSquares, IntegerWeightsEqualReplicatedRows) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> xs(60), e(30);
  for (double& v : xs) v = u(rng);
  for (double& v : e) v = u(rng);
  const HostDataset ds = make(
      30, 2, [&](int64_t i, int64_t j) { return xs[i * 2 + j]; },
      [&](int64_t i, const std::vector<double>& x) { return 2 * x[0] - x[1] + 0.5 + e[i]; });
  std::vector<double> w(30);
  HostDataset rep;
  rep.d = 2;
  for (int64_t i = 0; i < 30; ++i) {
    w[i] = static_cast<double>(i % 4);  // zeros included: rows with weight 0 drop out
    for (int r = 0; r < static_cast<int>(w[i]); ++r) {
      rep.X64.push_back(ds.X64[i * 2]);
      rep.X64.push_back(ds.X64[i * 2 + 1]);
      rep.y64.push_back(ds.y64[i]);
    }
  }
  rep.n = static_cast<int64_t>(rep.y64.size());
  rep.X.assign(rep.X64.begin(), rep.X64.end());
  rep.y.assign(rep.y64.begin(), rep.y64.end());
  for (ExactMethod m : kAll) {
    const LeastSquaresFit a = fit_with(ds, m, true, 0, &w), b = fit_with(rep, m);
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(a.w[j], b.w[j], 1e-12) << exact_method_name(m);
    EXPECT_NEAR(a.b, b.b, 1e-12);
    EXPECT_NEAR(a.rss, b.rss, 1e-10);
  }
  std::vector<double> bad = w;
  bad[3] = -1;
  EXPECT_THROW(fit_with(ds, ExactMethod::Qr, true, 0, &bad), InputError);
  std::vector<double> zero(30, 0.0);
  EXPECT_THROW(fit_with(ds, ExactMethod::Qr, true, 0, &zero), InputError);
}

TEST(LeastSquares, RidgeEqualsTheClosedForm) {
  // Ridge with an unpenalised intercept = (Xcᵀ Xc + αI)⁻¹ Xcᵀ yc on centred data; b = ȳ − x̄·w.
  // d = 2: the 2×2 inverse by hand, in long double.
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> xs(80), e(40);
  for (double& v : xs) v = g(rng);
  for (double& v : e) v = g(rng);
  const HostDataset ds = make(
      40, 2, [&](int64_t i, int64_t j) { return xs[i * 2 + j] * (j ? 3 : 1) + 10; },
      [&](int64_t i, const std::vector<double>& x) { return x[0] - 0.5 * x[1] + e[i]; });
  for (double alpha : {0.0, 0.1, 10.0, 1000.0}) {
    long double mx[2] = {0, 0}, my = 0;
    for (int64_t i = 0; i < 40; ++i) {
      mx[0] += ds.X64[i * 2] / 40.0L;
      mx[1] += ds.X64[i * 2 + 1] / 40.0L;
      my += ds.y64[i] / 40.0L;
    }
    long double A[2][2] = {{alpha, 0}, {0, alpha}}, c[2] = {0, 0};
    for (int64_t i = 0; i < 40; ++i) {
      const long double a0 = ds.X64[i * 2] - mx[0], a1 = ds.X64[i * 2 + 1] - mx[1], yy = ds.y64[i] - my;
      A[0][0] += a0 * a0;
      A[0][1] += a0 * a1;
      A[1][1] += a1 * a1;
      c[0] += a0 * yy;
      c[1] += a1 * yy;
    }
    A[1][0] = A[0][1];
    const long double det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
    const long double w0 = (A[1][1] * c[0] - A[0][1] * c[1]) / det, w1 = (A[0][0] * c[1] - A[1][0] * c[0]) / det;
    const long double b = my - mx[0] * w0 - mx[1] * w1;
    for (ExactMethod m : kAll) {
      const LeastSquaresFit f = fit_with(ds, m, true, alpha);
      EXPECT_NEAR(f.w[0], static_cast<double>(w0), 1e-11) << exact_method_name(m) << " alpha " << alpha;
      EXPECT_NEAR(f.w[1], static_cast<double>(w1), 1e-11) << exact_method_name(m) << " alpha " << alpha;
      EXPECT_NEAR(f.b, static_cast<double>(b), 1e-10) << exact_method_name(m) << " alpha " << alpha;
    }
  }
  EXPECT_THROW(fit_with(ds, ExactMethod::Qr, true, -1), InputError);
}

TEST(LeastSquares, ThroughTheOrigin) {
  const HostDataset ds = make(
      20, 1, [](int64_t i, int64_t) { return static_cast<double>(i + 1); },
      [](int64_t i, const std::vector<double>& x) { return 3 * x[0] + (i % 2 ? 1.0 : -1.0); });
  // Σ x y / Σ x² with x = 1..20, y = 3x ± 1 alternating (−1 at odd x): Σ x(±1) = 10.
  const double sxx = 20.0 * 21 * 41 / 6, sxy = 3 * sxx + 10;
  for (ExactMethod m : kAll) {
    const LeastSquaresFit f = fit_with(ds, m, /*intercept=*/false);
    EXPECT_NEAR(f.w[0], sxy / sxx, 1e-13) << exact_method_name(m);
    EXPECT_EQ(f.b, 0);
  }
}

TEST(LeastSquares, BadInputIsOneClearError) {
  HostDataset ds = make(
      5, 2, [](int64_t i, int64_t j) { return std::pow(static_cast<double>(i), static_cast<double>(j + 1)); },
      [](int64_t i, const std::vector<double>&) { return static_cast<double>(i); });
  HostDataset nan = ds;
  nan.X64[3 * 2 + 1] = NAN;
  try {
    fit_with(nan, ExactMethod::Qr);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("column 'f1', row 4"), std::string::npos) << e.what();
  }
  HostDataset tiny = ds;
  tiny.n = 3;
  tiny.X64.resize(6);
  tiny.y64.resize(3);
  try {
    fit_with(tiny, ExactMethod::Auto);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("3 observations for 3 coefficients"), std::string::npos) << e.what();
  }
  // The edge that must pass: one more row than coefficients.
  HostDataset four = ds;
  four.n = 4;
  four.X64.resize(8);
  four.y64.resize(4);
  EXPECT_NO_THROW(fit_with(four, ExactMethod::Qr));
}

TEST(Inference, SimpleRegressionMatchesTheTextbookFormulas) {
  // y = a + b x + e: SE(b) = σ/√Sxx, SE(a) = σ·√(1/n + x̄²/Sxx), σ² = RSS/(n − 2).
  const int64_t n = 25;
  const HostDataset ds = make(
      n, 1, [](int64_t i, int64_t) { return 0.5 * static_cast<double>(i) + 1; },
      [](int64_t i, const std::vector<double>& x) { return 2 + 0.3 * x[0] + std::cos(static_cast<double>(i * i)); });
  const LeastSquaresFit f = fit_with(ds, ExactMethod::Qr);
  const Inference inf = infer(f, {"x"}, true, 0);
  ASSERT_TRUE(inf.available) << inf.why_not;
  double xbar = 0, ybar = 0;
  for (int64_t i = 0; i < n; ++i) {
    xbar += ds.X64[i] / n;
    ybar += ds.y64[i] / n;
  }
  double sxx = 0, sxy = 0, syy = 0;
  for (int64_t i = 0; i < n; ++i) {
    sxx += (ds.X64[i] - xbar) * (ds.X64[i] - xbar);
    sxy += (ds.X64[i] - xbar) * (ds.y64[i] - ybar);
    syy += (ds.y64[i] - ybar) * (ds.y64[i] - ybar);
  }
  const double slope = sxy / sxx, icpt = ybar - slope * xbar, rss = syy - slope * sxy;
  const double sigma = std::sqrt(rss / (n - 2));
  EXPECT_EQ(inf.dof, n - 2);
  EXPECT_NEAR(inf.sigma, sigma, 1e-12 * sigma);
  ASSERT_EQ(inf.coefficients.size(), 2u);
  EXPECT_EQ(inf.coefficients[1].name, "(Intercept)");
  EXPECT_NEAR(inf.coefficients[0].estimate, slope, 1e-12);
  EXPECT_NEAR(inf.coefficients[1].estimate, icpt, 1e-12);
  EXPECT_NEAR(inf.coefficients[0].std_error, sigma / std::sqrt(sxx), 1e-10 * sigma);
  EXPECT_NEAR(inf.coefficients[1].std_error, sigma * std::sqrt(1.0 / n + xbar * xbar / sxx), 1e-10 * sigma);
  EXPECT_NEAR(inf.r2, 1 - rss / syy, 1e-12);
  EXPECT_NEAR(inf.adj_r2, 1 - (rss / (n - 2)) / (syy / (n - 1)), 1e-12);
  // F = t² for one regressor, with the same p-value.
  const double t = inf.coefficients[0].t_value;
  EXPECT_NEAR(inf.f_statistic, t * t, 1e-9 * t * t);
  EXPECT_NEAR(inf.f_p_value, inf.coefficients[0].p_value, 1e-12);
  // The 95% interval is estimate ± t_{0.975, n−2}·SE; t_{0.975, 23} = 2.0686576104190 (tables).
  const Coefficient& c = inf.coefficients[0];
  EXPECT_NEAR((c.ci_high - c.ci_low) / (2 * c.std_error), 2.0686576104190, 1e-9);
  // p for |t| = 2.0686576 is 0.05 by construction of the quantile.
  EXPECT_GT(c.p_value, 0);
  EXPECT_LT(c.p_value, 1);
}

TEST(Inference, RidgeAndSaturatedFitsHaveNoTable) {
  const HostDataset ds = make(
      10, 1, [](int64_t i, int64_t) { return static_cast<double>(i); },
      [](int64_t i, const std::vector<double>&) { return std::sqrt(static_cast<double>(i)); });
  EXPECT_FALSE(infer(fit_with(ds, ExactMethod::Qr, true, 1.0), {"x"}, true, 1.0).available);
  EXPECT_TRUE(infer(fit_with(ds, ExactMethod::Qr), {"x"}, true, 0).available);
}

}  // namespace
}  // namespace linreg
