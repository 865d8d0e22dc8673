// The exact solver with its pass over the data on a device (LeastSquaresOptions::gpu). Two
// devices: a stand-in that reduces the design it is handed (ScaledDesignView) in long double by
// plain loops, returning an R factor whose rows have other signs than LAPACK's, which runs
// everywhere and checks what the host sends and does with the result; and the real GPU module
// (cuBLAS Dsyrk, cuSOLVER Dgeqrf), skipped without a usable GPU. Both are compared with the CPU's
// own LAPACK reduction on the same data, to bounds derived from the condition number.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/train/device.hpp"
#include "host/train/gpu_backend.hpp"
#include "host/train/least_squares.hpp"
#include "train/least_squares_checks.hpp"

namespace linreg {
namespace {

using ld = long double;
using test::expect_same_fit;
using test::noisy;
using test::RowsInParts;
constexpr ExactMethod kAll[] = {ExactMethod::Auto, ExactMethod::Cholesky, ExactMethod::Qr, ExactMethod::Svd};

// The design's rows from the view alone, by the shared cell formulas (as the GPU kernel does).
std::vector<std::vector<double>> design_rows(const ScaledDesignView& z) {
  const int64_t c = z.columns(), o = z.intercept ? 1 : 0;
  std::vector<std::vector<double>> rows(static_cast<size_t>(z.n), std::vector<double>(static_cast<size_t>(c)));
  for (int64_t i = 0; i < z.n; ++i) {
    const double sv = z.weights ? std::sqrt(z.weights[i]) : 1.0;
    std::vector<double>& r = rows[static_cast<size_t>(i)];
    if (z.intercept) r[0] = design_intercept_cell(z.scale[0], sv);
    for (int64_t j = 0; j < z.d; ++j) {
      const double x = z.X64 ? z.X64[i * z.d + j] : static_cast<double>(z.X32[i * z.d + j]);
      r[static_cast<size_t>(j + o)] = design_feature_cell(x, z.shift[j], z.scale[j + o], sv);
    }
    const double y = z.y64 ? z.y64[i] : static_cast<double>(z.y32[i]);
    r[static_cast<size_t>(c - 1)] = design_label_cell(y, z.shift_y, sv);
  }
  return rows;
}

// A device that reduces in long double: the Gram matrix by sums of products, R by Householder
// reflections of the whole design, then every other row of R negated (a valid R factor too).
class LongDoubleDevice final : public GpuBackend {
 public:
  mutable int grams = 0, qrs = 0;
  GpuProbe probe() const override { return {true, "long double stand-in", "", ""}; }
  std::unique_ptr<Trainer> make_trainer(int) const override { throw std::logic_error("not a trainer"); }
  std::unique_ptr<Trainer> make_sharded_trainer(int, const ShardPlacement&) const override {
    throw std::logic_error("no trainer");
  }
  TrainResult train_streamed(const RowChunks&, const TrainOptions&, int64_t, const EpochCallback&,
                             const HostDataset*, const ShardPlacement*) const override {
    throw std::logic_error("no trainer");
  }
  std::vector<double> upload_seconds(int64_t, int) const override { throw std::logic_error("no copies"); }
  std::vector<double> copy_seconds(int64_t, int) const override { throw std::logic_error("no copies"); }
  void memory_info(int64_t*, int64_t*) const override { throw std::logic_error("no memory"); }

  void design_gram(const ScaledDesignView& z, double* G) const override {
    ++grams;
    const int64_t c = z.columns();
    const auto rows = design_rows(z);
    for (int64_t b = 0; b < c; ++b)
      for (int64_t a = 0; a < c; ++a) {
        ld s = 0;
        if (a <= b)
          for (const auto& r : rows) s += static_cast<ld>(r[a]) * r[b];
        G[b * c + a] = static_cast<double>(s);
      }
  }

  void design_qr(const ScaledDesignView& z, double* R) const override {
    ++qrs;
    const int64_t c = z.columns(), n = z.n;
    const auto rows = design_rows(z);
    std::vector<std::vector<ld>> A(static_cast<size_t>(c), std::vector<ld>(static_cast<size_t>(n)));  // columns
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < c; ++j) A[j][i] = rows[i][j];
    for (int64_t col = 0; col < std::min(c, n); ++col) {
      ld norm = 0;
      for (int64_t i = col; i < n; ++i) norm += A[col][i] * A[col][i];
      norm = std::sqrt(norm);
      if (norm == 0) continue;
      const ld alpha = A[col][col] > 0 ? -norm : norm;
      std::vector<ld> v(static_cast<size_t>(n), 0);
      for (int64_t i = col; i < n; ++i) v[i] = A[col][i];
      v[col] -= alpha;
      ld vv = 0;
      for (int64_t i = col; i < n; ++i) vv += v[i] * v[i];
      for (int64_t j = col; j < c; ++j) {
        ld s = 0;
        for (int64_t i = col; i < n; ++i) s += v[i] * A[j][i];
        s = 2 * s / vv;
        for (int64_t i = col; i < n; ++i) A[j][i] -= s * v[i];
      }
    }
    for (int64_t col = 0; col < c; ++col)
      for (int64_t r = 0; r < c; ++r) {
        const ld v = r <= col && r < n ? A[col][r] : 0;
        R[col * c + r] = static_cast<double>(r % 2 ? -v : v);
      }
  }
};

LeastSquaresFit fit_on(const GpuBackend* device, const HostDataset& ds, ExactMethod m, bool intercept = true,
                       double ridge = 0, const std::vector<double>* weights = nullptr) {
  LeastSquaresOptions o;
  o.method = m;
  o.intercept = intercept;
  o.ridge = ridge;
  o.weights = weights;
  o.gpu = device;
  return least_squares(ds, o);
}

// Every model (intercept or not, weights or not, ridge or not) by every factorisation.
void expect_device_matches_cpu(const GpuBackend& device, const HostDataset& ds) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0.25, 4);
  std::vector<double> v(static_cast<size_t>(ds.n));
  for (double& x : v) x = u(rng);
  v[3] = 0;  // a row that does not count
  for (ExactMethod m : kAll)
    for (bool intercept : {true, false})
      for (bool weighted : {false, true})
        for (double ridge : {0.0, 2.5}) {
          const std::string what = std::string(exact_method_name(m)) + (intercept ? "" : " no-intercept") +
                                   (weighted ? " weighted" : "") + (ridge > 0 ? " ridge" : "");
          const std::vector<double>* w = weighted ? &v : nullptr;
          expect_same_fit(fit_on(&device, ds, m, intercept, ridge, w), fit_on(nullptr, ds, m, intercept, ridge, w), what);
        }
}

TEST(LeastSquaresDevice, EveryModelMatchesTheCpu) {
  const LongDoubleDevice device;
  expect_device_matches_cpu(device, noisy(300, 4, 1));
  expect_device_matches_cpu(device, noisy(120, 3, 2, /*wide=*/false));  // float data: X32/y32 in the view
  EXPECT_GT(device.grams, 0);
  EXPECT_GT(device.qrs, 0);
}

TEST(LeastSquaresDevice, OneReductionPerFactorisation) {
  const HostDataset ds = noisy(200, 3, 3);
  const auto calls = [&](ExactMethod m) {
    const LongDoubleDevice device;
    fit_on(&device, ds, m);
    return std::make_pair(device.grams, device.qrs);
  };
  EXPECT_EQ(calls(ExactMethod::Cholesky), std::make_pair(1, 0));
  EXPECT_EQ(calls(ExactMethod::Qr), std::make_pair(0, 1));
  EXPECT_EQ(calls(ExactMethod::Svd), std::make_pair(0, 1));
  EXPECT_EQ(calls(ExactMethod::Auto), std::make_pair(1, 0)) << "well conditioned: the Gram matrix is enough";
}

// Degree 10 on x ∈ [-9, -3]: cond ≈ 8e9 after scaling (see test_least_squares.cpp). QR, auto and SVD
// on the device solve it to QR's bound; Cholesky by name refuses it as on the CPU.
HostDataset narrow_polynomial(std::vector<double>& truth) {
  const int64_t d = 10, n = 82;
  truth.resize(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) truth[j] = std::pow(7.0, -static_cast<double>(j + 1));
  HostDataset ds;
  ds.n = n;
  ds.d = d;
  for (int64_t i = 0; i < n; ++i) {
    double y = 1;
    for (int64_t j = 0; j < d; ++j) {
      const double x = std::pow(-9.0 + 6.0 * static_cast<double>(i) / 81.0, static_cast<double>(j + 1));
      ds.X64.push_back(x);
      y += truth[j] * x;
    }
    ds.y64.push_back(y);
  }
  ds.X.assign(ds.X64.begin(), ds.X64.end());
  ds.y.assign(ds.y64.begin(), ds.y64.end());
  return ds;
}

void expect_ill_conditioned_solved(const GpuBackend& device) {
  std::vector<double> truth;
  const HostDataset ds = narrow_polynomial(truth);
  for (ExactMethod m : {ExactMethod::Qr, ExactMethod::Auto, ExactMethod::Svd}) {
    const LeastSquaresFit f = fit_on(&device, ds, m);
    EXPECT_GT(f.condition, 1e8) << exact_method_name(m);
    EXPECT_EQ(f.rank, 11) << exact_method_name(m);
    double worst = std::fabs(f.b - 1);
    for (size_t j = 0; j < truth.size(); ++j) worst = std::max(worst, std::fabs(f.w[j] - truth[j]) / truth[j]);
    EXPECT_LT(worst, 100 * f.condition * DBL_EPSILON) << exact_method_name(m);
  }
  try {
    fit_on(&device, ds, ExactMethod::Cholesky);
    ADD_FAILURE() << "the normal equations solved a design with cond² > 1/eps";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("qr or auto"), std::string::npos) << e.what();
  }
}

void expect_dependent_columns_named(const GpuBackend& device) {
  HostDataset ds = noisy(60, 3, 4);
  for (int64_t i = 0; i < ds.n; ++i) ds.X64[i * 3 + 2] = 2 * ds.X64[i * 3 + 0];
  ds.X.assign(ds.X64.begin(), ds.X64.end());
  for (ExactMethod m : {ExactMethod::Cholesky, ExactMethod::Qr}) {
    try {
      fit_on(&device, ds, m);
      ADD_FAILURE() << exact_method_name(m) << " accepted a duplicated column";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("column 'f2' duplicates column 'f0'"), std::string::npos) << e.what();
    }
  }
  for (ExactMethod m : {ExactMethod::Auto, ExactMethod::Svd})
    expect_same_fit(fit_on(&device, ds, m), fit_on(nullptr, ds, m), exact_method_name(m));
}

TEST(LeastSquaresDevice, RowsInPartsReduceOnTheDevicePartByPart) {
  // A file streamed in parts with the pass on the GPU: each part's Gram matrix added, each
  // part's R stacked below the R so far; the fit of the rows held whole on the CPU, to rounding.
  const HostDataset ds = noisy(203, 4, 12);
  for (int64_t part : {1, 7, 64, 500})
    for (ExactMethod m : kAll)
      for (bool intercept : {true, false})
        for (double ridge : {0.0, 2.5}) {
          const LongDoubleDevice device;
          RowsInParts parts(ds, part);
          LeastSquaresOptions o;
          o.method = m;
          o.intercept = intercept;
          o.ridge = ridge;
          o.gpu = &device;
          const std::string what = std::string(exact_method_name(m)) + (intercept ? "" : " no-intercept") +
                                   (ridge > 0 ? " ridge" : "") + ", parts of " + std::to_string(part);
          expect_same_fit(least_squares(parts.p, o), fit_on(nullptr, ds, m, intercept, ridge), what);
          // One reduction a part on the device: none of it on the CPU.
          const int64_t count = (ds.n + part - 1) / part;
          if (m == ExactMethod::Auto) {
            EXPECT_GE(device.grams, count) << what;  // the Gram matrix first
          } else if (m == ExactMethod::Cholesky) {
            EXPECT_EQ(device.grams, count) << what;
          } else {
            EXPECT_EQ(device.qrs, count) << what;
          }
        }
}

TEST(LeastSquaresDevice, IllConditionedAndDependentDesigns) {
  const LongDoubleDevice device;
  expect_ill_conditioned_solved(device);
  expect_dependent_columns_named(device);
}

TEST(LeastSquaresDevice, FewerRowsThanColumnsWithRidge) {
  // Ridge fits need no more rows than coefficients: the device's R then has zero rows below the
  // data's, and the host stacks the penalty rows under all of them.
  const HostDataset ds = noisy(3, 5, 5);
  const LongDoubleDevice device;
  for (ExactMethod m : kAll)
    for (bool intercept : {true, false})
      expect_same_fit(fit_on(&device, ds, m, intercept, 1.5), fit_on(nullptr, ds, m, intercept, 1.5),
                      std::string(exact_method_name(m)) + (intercept ? "" : " no-intercept"));
}

// --- the GPU module --------------------------------------------------------------------------

#define SKIP_WITHOUT_GPU()                                                \
  do {                                                                    \
    const GpuProbe probe = probe_gpu();                                   \
    if (!probe.usable) GTEST_SKIP() << "no usable GPU: " << probe.reason; \
  } while (0)

TEST(LeastSquaresGpu, EveryModelMatchesTheCpu) {
  SKIP_WITHOUT_GPU();
  const GpuBackend& gpu = gpu_backend();
  expect_device_matches_cpu(gpu, noisy(300, 4, 1));
  expect_device_matches_cpu(gpu, noisy(120, 3, 2, /*wide=*/false));
  expect_ill_conditioned_solved(gpu);
  expect_dependent_columns_named(gpu);
}

TEST(LeastSquaresGpu, CellsAreTheCpusBitForBit) {
  // One row: every Gram entry is one product of two cells (0 + a·b, one rounding on either side),
  // so the GPU's matrix equals the products of the cells built here, bit for bit.
  SKIP_WITHOUT_GPU();
  const HostDataset ds = noisy(1, 6, 6);
  const double shift[6] = {0.1, -3, 7.5, 1e3, 0, 2}, scale[7] = {0.5, 3, 1e-3, 7, 0.25, 9, 1.5};
  const double v = 2.75;
  ScaledDesignView z;
  z.X64 = ds.X64.data();
  z.y64 = ds.y64.data();
  z.weights = &v;
  z.n = 1;
  z.d = 6;
  z.intercept = true;
  z.shift = shift;
  z.shift_y = 0.3;
  z.scale = scale;
  const int64_t c = z.columns();
  std::vector<double> G(static_cast<size_t>(c * c), -1);
  gpu_backend().design_gram(z, G.data());
  const std::vector<double> r = design_rows(z)[0];
  for (int64_t b = 0; b < c; ++b)
    for (int64_t a = 0; a <= b; ++a) EXPECT_EQ(G[b * c + a], r[a] * r[b]) << a << "," << b;
  for (int64_t b = 0; b < c; ++b)
    for (int64_t a = b + 1; a < c; ++a) EXPECT_EQ(G[b * c + a], 0.0) << "lower triangle " << a << "," << b;
}

TEST(LeastSquaresGpu, ManyChunksMatchTheCpu) {
  // 70 000 rows of 255 features: the design (257 columns) takes three of the GPU's 64 MiB chunks,
  // so the Gram matrix sums chunks and the R factor is carried from chunk to chunk.
  SKIP_WITHOUT_GPU();
  const HostDataset ds = noisy(70000, 255, 7);
  for (ExactMethod m : {ExactMethod::Cholesky, ExactMethod::Qr})
    expect_same_fit(fit_on(&gpu_backend(), ds, m), fit_on(nullptr, ds, m), exact_method_name(m));
}

}  // namespace
}  // namespace linreg
