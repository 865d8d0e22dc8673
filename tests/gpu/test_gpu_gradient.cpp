// GPU analytic gradients against central finite differences in double , through
// the launcher-level hooks: kern::batch_sums (the fused/persistent reduction's math, double) and
// the cublas strategy's pieces (gather_residual → cublasSgemv, float).
//
// L(p) = (1/m) Σ_k loss_term(x̃_k·p − y_k) over the m rows of a minibatch; ∂L/∂p_j =
// (scale/m) Σ r_k x̃_kj. L is quadratic in p, so the central difference has no truncation error:
// its only error is rounding, ≤ 2·(m + d + 3)·u_d·(L(p+h) + L(p−h))/(2h) with every sum in double.
// GPU tolerances: (scale/m)·[Σ_k |x̃_kj|·δr_k + (m+1)·u·Σ_k |r_k x̃_kj|], δr_k the residual's error:
// (d+2)·u_d·(Σ|x w| + |b| + |y|) in double, plus u_f·|r| when stored as float (cublas); u = u_d for
// double sums, u_f for Sgemv's float sums.
#if LINREG_HAVE_CUDA

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/sgd_kernels.hpp"
#include "tests/gpu/gpu_test_util.hpp"

namespace linreg {
namespace {

using gputest::kUd;
using gputest::kUf;

struct Case {
  int64_t n, d, start, rows;  // minibatch = perm[start .. start + rows)
  LossKind kind;
};

// Host double: loss over the minibatch at parameters p (d + 1, double).
double host_loss(const HostDataset& ds, const std::vector<uint32_t>& perm, const Case& c, const std::vector<double>& p) {
  double s = 0;
  for (int64_t k = 0; k < c.rows; ++k) {
    const int64_t i = perm[c.start + k];
    double r = p[c.d] - ds.y[i];
    for (int64_t j = 0; j < c.d; ++j) r += static_cast<double>(ds.X[i * c.d + j]) * p[j];
    s += loss_term(r, c.kind);
  }
  return s / c.rows;
}

class GpuGradient : public ::testing::TestWithParam<Case> {};

TEST_P(GpuGradient, AnalyticMatchesCentralDifferences) {
  LINREG_REQUIRE_GPU();
  const Case c = GetParam();
  SyntheticSpec spec;
  spec.examples = c.n;
  spec.features = c.d;
  spec.seed = 77;
  validate_synthetic(spec);
  const HostDataset ds = generate_synthetic_host(spec);
  std::vector<uint32_t> perm(static_cast<size_t>(c.n));
  host_permutation(c.n, 5, 0, perm.data());
  // Parameters away from the optimum, so residuals are O(1): true_w + N(0,1) perturbation, b = 1.
  std::vector<float> params = initial_weights(c.d, 3);
  for (int64_t j = 0; j < c.d; ++j) params[j] = spec.true_w[j] + 100.0f * params[j];
  params.push_back(1.0f);

  CudaStream stream;
  cudaStream_t s = stream.get();
  DeviceBuffer<float> X(ds.X.size()), y(ds.y.size()), P(params.size());
  DeviceBuffer<uint32_t> Dperm(perm.size());
  X.upload(ds.X.data(), ds.X.size(), s);
  y.upload(ds.y.data(), ds.y.size(), s);
  P.upload(params.data(), params.size(), s);
  Dperm.upload(perm.data(), perm.size(), s);

  const double scale = grad_scale(c.kind);
  const int64_t d = c.d, m = c.rows;
  // Host magnitudes for the tolerances.
  std::vector<double> abs_rx(static_cast<size_t>(d + 1), 0.0), dr_x(static_cast<size_t>(d + 1), 0.0),
      abs_rx_f(static_cast<size_t>(d + 1), 0.0);
  for (int64_t k = 0; k < m; ++k) {
    const int64_t i = perm[c.start + k];
    double r = static_cast<double>(params[d]) - ds.y[i], mag = std::fabs(params[d]) + std::fabs(ds.y[i]);
    for (int64_t j = 0; j < d; ++j) {
      r += static_cast<double>(ds.X[i * d + j]) * params[j];
      mag += std::fabs(static_cast<double>(ds.X[i * d + j]) * params[j]);
    }
    const double dr = (d + 2) * kUd * mag;
    for (int64_t j = 0; j <= d; ++j) {
      const double x = j < d ? ds.X[i * d + j] : 1.0;
      abs_rx[j] += std::fabs(r * x);
      dr_x[j] += std::fabs(x) * dr;
      abs_rx_f[j] += std::fabs(x) * (dr + kUf * std::fabs(r));
    }
  }
  // Finite differences in double.
  std::vector<double> fd(static_cast<size_t>(d + 1)), fd_err(static_cast<size_t>(d + 1));
  std::vector<double> p(params.begin(), params.end());
  for (int64_t j = 0; j <= d; ++j) {
    const double h = 1e-2 * std::max(1.0, std::fabs(p[j]));
    std::vector<double> pp = p, pm = p;
    pp[j] += h;
    pm[j] -= h;
    const double lp = host_loss(ds, perm, c, pp), lm = host_loss(ds, perm, c, pm);
    fd[j] = (lp - lm) / (2 * h);
    fd_err[j] = 2 * (m + d + 3) * kUd * (lp + lm) / (2 * h);
  }

  // (1) batch sums (double) — the fused and persistent strategies' reduction.
  if (d <= kern::kMaxFusedFeatures) {
    DeviceBuffer<double> partials(kern::partials_capacity(d)), out(static_cast<size_t>(d + 2));
    kern::batch_sums(X.data(), y.data(), Dperm.data(), c.start, m, d, P.data(), c.kind, partials.data(), out.data(), s);
    std::vector<double> sums(static_cast<size_t>(d + 2));
    out.download(sums.data(), sums.size(), s);
    LINREG_CHECK(cudaStreamSynchronize(s));
    for (int64_t j = 0; j <= d; ++j) {
      const double g = scale * sums[j] / m;
      const double tol = scale / m * (dr_x[j] + (m + 1) * kUd * abs_rx[j]) + fd_err[j];
      EXPECT_LE(std::fabs(g - fd[j]), tol) << "batch_sums: parameter " << j << " gpu " << g << " fd " << fd[j];
    }
    // The loss sum too: Σ loss_term / m against the host's double.
    const double L = host_loss(ds, perm, c, p);
    EXPECT_NEAR(sums[d + 1] / m, L, 4 * (m + d + 3) * kUd * L + 1e-300);
  }

  // (2) cublas pieces (float residuals, Sgemv).
  {
    CublasHandle handle;
    LINREG_CHECK(cublasSetStream(handle.get(), s));
    LINREG_CHECK(cublasSetPointerMode(handle.get(), CUBLAS_POINTER_MODE_DEVICE));
    const float consts[2] = {1.0f, 0.0f};
    DeviceBuffer<float> one_zero(2), Xb(static_cast<size_t>(m * d)), r(static_cast<size_t>(m)), g(static_cast<size_t>(d));
    one_zero.upload(consts, 2, s);
    kern::gather_residual(X.data(), y.data(), Dperm.data(), c.start, m, d, P.data(), Xb.data(), r.data(), s);
    kern::cublas_xt_r(handle.get(), Xb.data(), r.data(), m, d, one_zero.data(), one_zero.data() + 1, g.data());
    std::vector<float> hg(static_cast<size_t>(d)), hr(static_cast<size_t>(m)), hXb(static_cast<size_t>(m * d));
    g.download(hg.data(), hg.size(), s);
    r.download(hr.data(), hr.size(), s);
    Xb.download(hXb.data(), hXb.size(), s);
    LINREG_CHECK(cudaStreamSynchronize(s));
    for (int64_t k = 0; k < m; ++k)  // the gather is a plain copy
      for (int64_t j = 0; j < d; ++j) ASSERT_EQ(hXb[k * d + j], ds.X[perm[c.start + k] * d + j]) << "Xb row " << k;
    for (int64_t j = 0; j < d; ++j) {
      const double gj = scale * hg[j] / m;
      const double tol = scale / m * (abs_rx_f[j] + (m + 1) * kUf * abs_rx[j]) + fd_err[j];
      EXPECT_LE(std::fabs(gj - fd[j]), tol) << "cublas: parameter " << j << " gpu " << gj << " fd " << fd[j];
    }
    double gb = 0;  // sgd_update sums r in double
    for (float v : hr) gb += v;
    gb *= scale / m;
    EXPECT_LE(std::fabs(gb - fd[d]), scale / m * (abs_rx_f[d] + (m + 1) * kUd * abs_rx[d]) + fd_err[d]) << "cublas: b";
  }
}

INSTANTIATE_TEST_SUITE_P(
    GpuShapes, GpuGradient,
    ::testing::Values(Case{1, 1, 0, 1, LossKind::HalfMse}, Case{33, 3, 0, 33, LossKind::Mse},
                      Case{257, 31, 37, 100, LossKind::HalfMse}, Case{257, 32, 0, 257, LossKind::Mse},
                      Case{257, 33, 200, 57, LossKind::HalfMse}, Case{1025, 2, 1000, 25, LossKind::HalfMse},
                      Case{1025, 256, 13, 1000, LossKind::Mse}, Case{1000, 512, 0, 1000, LossKind::HalfMse},
                      Case{4099, 7, 99, 4000, LossKind::HalfMse}, Case{300, 600, 0, 300, LossKind::HalfMse}),
    [](const ::testing::TestParamInfo<Case>& i) {
      return std::to_string(i.param.n) + "x" + std::to_string(i.param.d) + "_rows" + std::to_string(i.param.rows) +
             (i.param.kind == LossKind::Mse ? "_mse" : "_halfmse");
    });

}  // namespace
}  // namespace linreg

#endif  // LINREG_HAVE_CUDA
