// The normal-equation solver against an independent reference: Householder QR on [X 1] in long
// double (80-bit on x86), which never forms XᵀX. Fixed data, an ill-conditioned but non-singular
// case, every kind of singular input with its message, a real dataset (scikit-learn's diabetes
// set as Debian ships it). The GPU's exact solver is tested in test_least_squares_device.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <functional>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "host/train/device.hpp"
#include "host/data/csv.hpp"
#include "host/data/metrics.hpp"
#include "host/train/normal_solver.hpp"
#include "host/core/error.hpp"
#include "host/train/trainer.hpp"
#include "support.hpp"


namespace linreg::data {
namespace {

using linreg::test::all_close;
using ld = long double;

// Least squares with an intercept by Householder QR of A = [X 1] in long double.
// Returns d weights followed by the bias.
std::vector<double> qr_reference(const HostDataset& ds) {
  const int64_t n = ds.n, d = ds.d, k = d + 1;
  std::vector<ld> A(static_cast<size_t>(n * k)), y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) A[i * k + j] = ds.x(i, j);  // the values as read
    A[i * k + d] = 1;
    y[i] = ds.label(i);
  }
  for (int64_t c = 0; c < k; ++c) {
    ld norm = 0;
    for (int64_t i = c; i < n; ++i) norm += A[i * k + c] * A[i * k + c];
    norm = std::sqrt(norm);
    const ld alpha = A[c * k + c] > 0 ? -norm : norm;
    std::vector<ld> v(static_cast<size_t>(n), 0);
    for (int64_t i = c; i < n; ++i) v[i] = A[i * k + c];
    v[c] -= alpha;
    ld vv = 0;
    for (int64_t i = c; i < n; ++i) vv += v[i] * v[i];
    if (vv == 0) continue;
    for (int64_t j = c; j < k; ++j) {
      ld s = 0;
      for (int64_t i = c; i < n; ++i) s += v[i] * A[i * k + j];
      s = 2 * s / vv;
      for (int64_t i = c; i < n; ++i) A[i * k + j] -= s * v[i];
    }
    ld s = 0;
    for (int64_t i = c; i < n; ++i) s += v[i] * y[i];
    s = 2 * s / vv;
    for (int64_t i = c; i < n; ++i) y[i] -= s * v[i];
  }
  std::vector<ld> x(static_cast<size_t>(k));
  for (int64_t r = k - 1; r >= 0; --r) {
    ld s = y[r];
    for (int64_t j = r + 1; j < k; ++j) s -= A[r * k + j] * x[j];
    x[r] = s / A[r * k + r];
  }
  return std::vector<double>(x.begin(), x.end());
}

// Condition number of a small symmetric positive definite matrix (cyclic Jacobi eigenvalues).
double condition_number(std::vector<double> G, int64_t d) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) off += G[p * d + q] * G[p * d + q];
    if (off < 1e-30) break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        if (G[p * d + q] == 0) continue;
        const double theta = (G[q * d + q] - G[p * d + p]) / (2 * G[p * d + q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t r = 0; r < d; ++r) {  // G ← Jᵀ G J
          const double a = G[r * d + p], b = G[r * d + q];
          G[r * d + p] = c * a - s * b;
          G[r * d + q] = s * a + c * b;
        }
        for (int64_t r = 0; r < d; ++r) {
          const double a = G[p * d + r], b = G[q * d + r];
          G[p * d + r] = c * a - s * b;
          G[q * d + r] = s * a + c * b;
        }
      }
  }
  double lo = INFINITY, hi = 0;
  for (int64_t j = 0; j < d; ++j) {
    lo = std::min(lo, std::fabs(G[j * d + j]));
    hi = std::max(hi, std::fabs(G[j * d + j]));
  }
  return hi / lo;
}

std::vector<double> solution(const NormalSolution& s) {
  std::vector<double> v = s.w;
  v.push_back(s.b);
  return v;
}

// n rows of d features: N(mean_j, scale_j²), y = x·w + b + noise; fixed seed.
HostDataset make_data(int64_t n, const std::vector<double>& mean, const std::vector<double>& scale,
                      const std::vector<double>& w, double b, double noise, uint32_t seed) {
  std::mt19937 eng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  HostDataset ds;
  ds.n = n;
  ds.d = static_cast<int64_t>(w.size());
  for (int64_t j = 0; j < ds.d; ++j) ds.feature_names.push_back("f" + std::to_string(j));
  ds.target_name = "y";
  for (int64_t i = 0; i < n; ++i) {
    double acc = b + noise * nd(eng);
    for (int64_t j = 0; j < ds.d; ++j) {
      const float x = static_cast<float>(mean[j] + scale[j] * nd(eng));
      ds.X.push_back(x);
      acc += w[j] * static_cast<double>(x);
    }
    ds.y.push_back(static_cast<float>(acc));
  }
  return ds;
}

// The tolerance of the normal equations against the QR reference, derived. Each Gram entry is a
// sum of n products accumulated in blocks of 1024 rows: rounding ≈ (min(n, 1024) + n/1024)·ε of
// the shifted sums Σ(x − s)², which exceed the centred G_jj by the cancellation factor
// c = max_j Σ(x_j − s_j)² / G_jj. A Cholesky solve turns a relative perturbation of G into a
// relative error of about κ·(that) in the scaled weights w_j·σ_j, where κ is the condition number
// of the correlation-scaled G (Cholesky is invariant to diagonal scaling). Factor 4 of headroom.
struct Tolerance {
  double rtol = 0;  // on the scaled weights w_j·σ_j, relative to their largest magnitude
  std::vector<double> sigma, mean;
};

Tolerance derived_tolerance(const HostDataset& ds) {
  const std::vector<double> aug = augmented_gram_cpu(ds);
  const CenteredSystem sys = center_system(aug, ds);
  const int64_t d = ds.d, k = d + 2;
  std::vector<double> C = sys.G;
  double cancel = 1;
  Tolerance t;
  for (int64_t a = 0; a < d; ++a) {
    for (int64_t c = 0; c < d; ++c) C[a * d + c] /= std::sqrt(sys.G[a * d + a] * sys.G[c * d + c]);
    cancel = std::max(cancel, aug[a * k + a] / sys.G[a * d + a]);
    t.sigma.push_back(std::sqrt(sys.G[a * d + a] / static_cast<double>(ds.n)));
  }
  t.mean = sys.mean_x;
  const double kappa = condition_number(C, d);
  const double terms = static_cast<double>(std::min<int64_t>(ds.n, 1024) + ds.n / 1024 + d);
  t.rtol = 4.0 * kappa * DBL_EPSILON * terms * cancel;
  return t;
}

void expect_matches_reference(const HostDataset& ds, const NormalSolution& got) {
  const std::vector<double> ref = qr_reference(ds);
  const Tolerance t = derived_tolerance(ds);
  const int64_t d = ds.d;
  std::vector<double> ref_s(static_cast<size_t>(d)), got_s(static_cast<size_t>(d));
  double scale = 0, b_scale = std::fabs(ref[d]);
  for (int64_t j = 0; j < d; ++j) {
    ref_s[j] = ref[j] * t.sigma[j];
    got_s[j] = got.w[j] * t.sigma[j];
    scale = std::max(scale, std::fabs(ref_s[j]));
    b_scale += std::fabs(ref[j] * t.mean[j]);  // b = ȳ − x̄·w carries the weights' error × |x̄|
  }
  EXPECT_TRUE(all_close(ref_s, got_s, t.rtol * scale, 0)) << "scaled weights, derived rtol " << t.rtol;
  EXPECT_NEAR(ref[d], got.b, t.rtol * b_scale + 1e-12) << "bias, derived rtol " << t.rtol;
}

TEST(NormalSolver, MatchesQrReferenceOnFixedData) {
  // Offsets of 1000 and scales from 0.01 to 100: the centring has to do its job.
  const HostDataset ds = make_data(257, {1000, -3, 0, 50, 0.5}, {1, 100, 0.01, 5, 2}, {2, -3.4, 120, 0.25, -1}, 4.2,
                                   0.5, 1);
  expect_matches_reference(ds, solve_normal_cpu(ds));
}

TEST(NormalSolver, ExactDataIsRecovered) {
  // y = 2·a − 0.5·b + 3 exactly in float for these small integers: the solution is exact to ~ε.
  HostDataset ds;
  ds.n = 33;
  ds.d = 2;
  for (int i = 0; i < 33; ++i) {
    const float a = static_cast<float>(i % 7), b = static_cast<float>((i * 5) % 11);
    ds.X.push_back(a);
    ds.X.push_back(b);
    ds.y.push_back(2 * a - 0.5f * b + 3);
  }
  const NormalSolution s = solve_normal_cpu(ds);
  EXPECT_TRUE(all_close({2, -0.5, 3}, solution(s), 1e-12, 1e-12));
}

TEST(NormalSolver, IllConditionedButNotSingular) {
  // f1 = f0 + 1e-3·z: the two columns are 0.9999995-correlated, κ(G) ≈ 1e7, still solvable.
  std::mt19937 eng(3);
  std::normal_distribution<double> nd(0.0, 1.0);
  HostDataset ds;
  ds.n = 1025;
  ds.d = 3;
  for (int i = 0; i < ds.n; ++i) {
    const double a = nd(eng), z = nd(eng), c = nd(eng);
    const float x[3] = {static_cast<float>(a), static_cast<float>(a + 1e-3 * z), static_cast<float>(c)};
    ds.X.insert(ds.X.end(), x, x + 3);
    ds.y.push_back(static_cast<float>(1.5 * x[0] + 2.5 * x[1] - x[2] + 0.7 + 1e-4 * nd(eng)));
  }
  const double tol = derived_tolerance(ds).rtol;
  EXPECT_GT(tol, 1e-9) << "the case should be ill-conditioned";
  expect_matches_reference(ds, solve_normal_cpu(ds));
}

std::string singular_message(const HostDataset& ds) {
  try {
    solve_normal_cpu(ds);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

HostDataset with_column(HostDataset ds, const std::function<float(int64_t)>& col, const std::string& name) {
  HostDataset out;
  out.n = ds.n;
  out.d = ds.d + 1;
  out.y = ds.y;
  out.target_name = ds.target_name;
  out.feature_names = ds.feature_names;
  out.feature_names.push_back(name);
  for (int64_t i = 0; i < ds.n; ++i) {
    out.X.insert(out.X.end(), ds.X.begin() + i * ds.d, ds.X.begin() + (i + 1) * ds.d);
    out.X.push_back(col(i));
  }
  return out;
}

TEST(NormalSolver, SingularInputsAreNamed) {
  const HostDataset base = make_data(100, {0, 10, 0}, {1, 2, 3}, {1, 2, 3}, 1, 0.1, 5);
  const int64_t d = base.d;
  auto x = [&](int64_t i, int64_t j) { return base.X[i * d + j]; };

  std::string m = singular_message(with_column(base, [](int64_t) { return 7.5f; }, "const"));
  EXPECT_NE(m.find("column 'const' is constant"), std::string::npos) << m;
  EXPECT_NE(m.find("collinear"), std::string::npos) << m;

  m = singular_message(with_column(base, [&](int64_t i) { return x(i, 1); }, "copy"));
  EXPECT_NE(m.find("column 'copy' duplicates column 'f1'"), std::string::npos) << m;

  m = singular_message(with_column(base, [&](int64_t i) { return 2.0f * x(i, 0) + 3.0f; }, "scaled"));
  EXPECT_NE(m.find("'scaled' duplicates column 'f0'"), std::string::npos) << m;

  m = singular_message(with_column(base, [&](int64_t i) { return x(i, 0) + x(i, 2); }, "sum"));
  EXPECT_NE(m.find("'sum' is a linear combination"), std::string::npos) << m;

  HostDataset few = make_data(3, {0, 0, 0}, {1, 1, 1}, {1, 1, 1}, 0, 0.1, 6);
  m = singular_message(few);
  EXPECT_NE(m.find("3 rows cannot determine 3 weights and a bias"), std::string::npos) << m;
  for (const auto& msg : {m}) EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(NormalSolver, DiabetesFromDebianScikitLearn) {
  // tests/fixtures/diabetes.csv: 442 patients, 10 baseline variables, disease progression after a
  // year (Efron et al. 2004; see tests/fixtures/diabetes.LICENSE.md). Ordinary least squares on it
  // explains R² = 0.5177 of the variance (the published figure for the full model).
  const CsvRead r = read_csv(::linreg::test::source_path("tests/fixtures/diabetes.csv"), {});
  ASSERT_EQ(r.data.n, 442);
  ASSERT_EQ(r.data.d, 10);
  const NormalSolution s = solve_normal_cpu(r.data);
  expect_matches_reference(r.data, s);
  const Metrics m = compute_metrics(r.data, s.w, s.b);
  EXPECT_NEAR(m.r2, 0.5177, 5e-5);
  EXPECT_NEAR(s.b, -334.567, 1e-3);
  EXPECT_NEAR(s.w[8], 68.483, 1e-3);  // s5 (log triglycerides) carries the largest weight
}

TEST(NormalSolver, LargerProblemBlocksAgree) {
  // n spanning several 1024-row blocks, d = 33: still the reference to the derived tolerance.
  std::vector<double> mean(33), scale(33), w(33);
  for (int j = 0; j < 33; ++j) {
    mean[j] = (j % 5) * 10.0;
    scale[j] = 1.0 + j % 3;
    w[j] = 4.0 * j / 33 - 2;
  }
  const HostDataset ds = make_data(3001, mean, scale, w, -1.0, 0.01, 9);
  expect_matches_reference(ds, solve_normal_cpu(ds));
}

TEST(NormalSolver, GramOfOneRowIsTheShiftedZero) {
  // Z = [x − x_0, 1, y − y_0] of the only row is [0, ..., 0, 1, 0]: ZᵀZ has a single 1.
  HostDataset ds;
  ds.n = 1;
  ds.d = 3;
  ds.X = {1.5f, -2, 7};
  ds.y = {4};
  const std::vector<double> g = augmented_gram_cpu(ds);
  ASSERT_EQ(g.size(), 25u);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], i == 3 * 5 + 3 ? 1.0 : 0.0) << i;
}

}  // namespace
}  // namespace linreg::data
