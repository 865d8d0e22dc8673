// One fused SGD step on the GPU, each fused kernel (kern::FusedKernel: the reference row-group
// kernel and the tiled one), against the same step computed on the host with every sum in double.
//
// Both sides update p ← sgd_step(p, S, lr, scale, bt) from the batch sum S (double). The GPU's S
// differs from the host's only by the order of its double sums and by the residuals' own
// rounding, bounded as in test_gpu_gradient.cpp: δS_j ≤ Σ_k |x̃_kj|·δr_k + (m+1)·u_d·Σ_k |r_k x̃_kj|,
// δr_k = (d+2)·u_d·(Σ|x w| + |b| + |y|) (double residuals). The updated float parameter then
// differs by at most lr·scale·(δS_gpu + δS_host)/bt plus one float ulp (the two doubles may round
// to neighbouring floats). The minibatch loss (d_step_loss) is checked the same way.
// The shapes cover both fused forms (last block reduces / second kernel), tiles cut short by the
// block's end and by the minibatch's end, every slot count, and minibatches that end at row n.
#if LINREG_HAVE_CUDA

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/train/permutation.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/sgd_kernels.hpp"
#include "tests/gpu/gpu_test_util.hpp"

namespace linreg {
namespace {

using gputest::kUd;

struct StepCase {
  int64_t n, d, start, bt;
  LossKind kind;
};

std::string step_name(const ::testing::TestParamInfo<StepCase>& i) {
  return std::to_string(i.param.n) + "x" + std::to_string(i.param.d) + "_start" + std::to_string(i.param.start) +
         "_bt" + std::to_string(i.param.bt) + (i.param.kind == LossKind::Mse ? "_mse" : "_halfmse");
}

class GpuFusedStep : public ::testing::TestWithParam<StepCase> {};

TEST_P(GpuFusedStep, BothKernelsMatchTheDoubleReference) {
  LINREG_REQUIRE_GPU();
  const StepCase c = GetParam();
  SyntheticSpec spec;
  spec.examples = c.n;
  spec.features = c.d;
  spec.seed = 31;
  spec.noise = 0.5f;
  validate_synthetic(spec);
  const HostDataset ds = generate_synthetic_host(spec);
  std::vector<uint32_t> perm(static_cast<size_t>(c.n));
  host_permutation(c.n, 8, 1, perm.data());
  // Parameters away from the optimum: residuals O(1).
  std::vector<float> params = initial_weights(c.d, 4);
  for (int64_t j = 0; j < c.d; ++j) params[j] = spec.true_w[j] + 50.0f * params[j];
  params.push_back(0.5f);
  const float lr = 0.03f;
  const double scale = grad_scale(c.kind);
  const int64_t d = c.d, m = c.bt;

  // Host reference: sums in double, magnitudes for the bound.
  std::vector<double> S(static_cast<size_t>(d + 1), 0.0), abs_rx(static_cast<size_t>(d + 1), 0.0),
      dr_x(static_cast<size_t>(d + 1), 0.0);
  double loss = 0, loss_abs_err = 0;
  for (int64_t k = 0; k < m; ++k) {
    const int64_t i = perm[static_cast<size_t>(c.start + k)];
    double r = static_cast<double>(params[d]) - ds.y[i], mag = std::fabs(params[d]) + std::fabs(ds.y[i]);
    for (int64_t j = 0; j < d; ++j) {
      r += static_cast<double>(ds.X[i * d + j]) * params[j];
      mag += std::fabs(static_cast<double>(ds.X[i * d + j]) * params[j]);
    }
    const double dr = (d + 2) * kUd * mag;
    for (int64_t j = 0; j <= d; ++j) {
      const double x = j < d ? ds.X[i * d + j] : 1.0;
      S[j] += r * x;
      abs_rx[j] += std::fabs(r * x);
      dr_x[j] += std::fabs(x) * dr;
    }
    loss += loss_term(r, c.kind);
    loss_abs_err += scale * std::fabs(r) * dr;
  }

  CudaStream stream;
  cudaStream_t s = stream.get();
  DeviceBuffer<float> X(ds.X.size()), y(ds.y.size()), P(params.size());
  DeviceBuffer<uint32_t> Dperm(perm.size());
  DeviceBuffer<double> partials(kern::partials_capacity(d)), step_loss(1);
  DeviceBuffer<unsigned> ticket(1);
  X.upload(ds.X.data(), ds.X.size(), s);
  y.upload(ds.y.data(), ds.y.size(), s);
  Dperm.upload(perm.data(), perm.size(), s);

  for (kern::FusedKernel fk : {kern::FusedKernel::Tiled, kern::FusedKernel::RowGroups}) {
    SCOPED_TRACE(std::string("kernel ") + kern::fused_kernel_name(fk));
    const kern::SumPlan plan = kern::fused_plan(m, d, fk);
    SCOPED_TRACE("blocks " + std::to_string(plan.blocks) + ", rows per block " + std::to_string(plan.rows_per_block) +
                 (plan.last_block_finalizes ? ", last block reduces" : ", second kernel"));
    P.upload(params.data(), params.size(), s);
    LINREG_CHECK(cudaMemsetAsync(ticket.data(), 0, sizeof(unsigned), s));
    const double poison = std::nan("");
    step_loss.upload(&poison, 1, s);
    kern::fused_step(X.data(), y.data(), Dperm.data(), c.start, m, d, lr, scale, c.kind, P.data(), partials.data(),
                     ticket.data(), step_loss.data(), s, fk);
    std::vector<float> got(params.size());
    double got_loss = 0;
    unsigned got_ticket = 1;
    P.download(got.data(), got.size(), s);
    step_loss.download(&got_loss, 1, s);
    ticket.download(&got_ticket, 1, s);
    LINREG_CHECK(cudaStreamSynchronize(s));
    EXPECT_EQ(got_ticket, 0u) << "the ticket must be left at 0 for the next step";
    for (int64_t j = 0; j <= d; ++j) {
      const float ref = sgd_step(params[j], S[j], lr, scale, m);
      const double dS = 2 * (dr_x[j] + (m + 1) * kUd * abs_rx[j]);
      const double tol = static_cast<double>(lr) * scale * dS / m +
                         FLT_EPSILON * std::max(std::fabs(static_cast<double>(ref)), static_cast<double>(FLT_MIN));
      EXPECT_LE(std::fabs(static_cast<double>(got[j]) - ref), tol)
          << (j < d ? "w_" + std::to_string(j) : std::string("b")) << ": gpu " << got[j] << " reference " << ref;
    }
    EXPECT_LE(std::fabs(got_loss - loss), 2 * (loss_abs_err + (m + 1) * kUd * loss)) << "minibatch loss";
  }
}

INSTANTIATE_TEST_SUITE_P(
    GpuStepShapes, GpuFusedStep,
    ::testing::Values(StepCase{1, 1, 0, 1, LossKind::HalfMse}, StepCase{100, 2, 3, 97, LossKind::Mse},
                      StepCase{1000, 3, 5, 995, LossKind::HalfMse}, StepCase{4099, 7, 99, 4000, LossKind::HalfMse},
                      StepCase{2000, 16, 0, 1024, LossKind::HalfMse}, StepCase{1025, 31, 13, 1000, LossKind::Mse},
                      StepCase{1025, 32, 0, 1025, LossKind::HalfMse}, StepCase{1025, 33, 1, 1000, LossKind::HalfMse},
                      StepCase{3000, 256, 7, 2900, LossKind::Mse}, StepCase{1000, 512, 0, 1000, LossKind::HalfMse},
                      StepCase{70001, 64, 4465, 65536, LossKind::HalfMse}),
    step_name);

}  // namespace
}  // namespace linreg

#endif  // LINREG_HAVE_CUDA
