// Gradient checks in float64: for every differentiable op, the autograd gradient of
// L = Σ f(inputs) ⊙ R (R a fixed random weighting, so every output element matters) against
// central finite differences (L(x+h) − L(x−h)) / 2h.
//
// Tolerance: the central difference has truncation error h²·|L'''|/6 and rounding error about
// DBL_EPSILON·|L|/h. With h = 1e-6 and the O(1) smooth functions below that is ~1e-10 for both;
// atol 1e-7 + rtol 1e-6 leaves three orders of margin while still catching any wrong formula
// (a missing factor or a dropped broadcast term is an O(1) error).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "host/tensor/nn.hpp"
#include "host/tensor/tensor.hpp"
#include "support.hpp"

namespace {

namespace T = linreg::tensor;
using T::Slice;
using T::Tensor;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

constexpr double kH = 1e-6;

// A float64 leaf of the given shape with values in [lo, hi), from a fixed seed.
Tensor input(const T::IntList& shape, uint64_t seed, double lo = -1.5, double hi = 1.5) {
  T::Generator g(seed);
  Tensor t = T::zeros(shape, T::kFloat64);
  double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * g.uniform();
  return t.requires_grad_(true);
}

::testing::AssertionResult gradcheck(const Fn& f, std::vector<Tensor> inputs) {
  Tensor out = f(inputs);
  if (out.dtype() != T::kFloat64) return ::testing::AssertionFailure() << "output is not float64";
  Tensor R;
  {
    T::Generator g(99);
    R = T::zeros(out.sizes(), T::kFloat64);
    for (int64_t i = 0; i < R.numel(); ++i) R.data_ptr<double>()[i] = 0.5 + g.uniform();
  }
  (out * R).sum().backward();
  auto loss = [&] {
    T::NoGradGuard ng;
    return (f(inputs) * R).sum().item<double>();
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    if (!x.grad().defined()) return ::testing::AssertionFailure() << "input " << k << " got no gradient";
    if (x.grad().sizes() != x.sizes()) return ::testing::AssertionFailure() << "input " << k << ": gradient shape differs";
    std::vector<double> numeric;
    double* p = x.data_ptr<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double keep = p[i];
      p[i] = keep + kH;
      const double lp = loss();
      p[i] = keep - kH;
      const double lm = loss();
      p[i] = keep;
      numeric.push_back((lp - lm) / (2 * kH));
    }
    ::testing::AssertionResult r = linreg::test::all_close(numeric, x.grad().to_vector<double>(), 1e-7, 1e-6);
    if (!r) return r << " (input " << k << ")";
  }
  return ::testing::AssertionSuccess();
}

template <class F, class... In>
::testing::AssertionResult gradcheck_of(F f, In... in) {
  return gradcheck(Fn(f), std::vector<Tensor>{in...});
}
// Variadic so that commas inside the lambda need no extra parentheses.
#define GRADCHECK(...) EXPECT_TRUE(gradcheck_of(__VA_ARGS__))

TEST(TensorGradcheck, AddSubMulDivSameShape) {
  GRADCHECK([](const auto& v) { return v[0] + v[1]; }, input({2, 3}, 1), input({2, 3}, 2));
  GRADCHECK([](const auto& v) { return v[0] - v[1]; }, input({2, 3}, 1), input({2, 3}, 2));
  GRADCHECK([](const auto& v) { return v[0] * v[1]; }, input({2, 3}, 1), input({2, 3}, 2));
  GRADCHECK([](const auto& v) { return v[0] / v[1]; }, input({2, 3}, 1), input({2, 3}, 2, 0.5, 2.0));
}

TEST(TensorGradcheck, BroadcastGradientsAreSummedBack) {
  GRADCHECK([](const auto& v) { return v[0] + v[1]; }, input({3, 1}, 3), input({1, 4}, 4));
  GRADCHECK([](const auto& v) { return v[0] * v[1]; }, input({2, 3, 4}, 5), input({3, 1}, 6));
  GRADCHECK([](const auto& v) { return v[0] - v[1]; }, input({4}, 7), input({2, 4}, 8));
  GRADCHECK([](const auto& v) { return v[0] / v[1]; }, input({2, 3}, 9), input({3}, 10, 0.5, 2.0));
  GRADCHECK([](const auto& v) { return v[0] * v[1]; }, input({2, 3}, 11), input({}, 12));  // 0-dim operand
}

TEST(TensorGradcheck, ScalarOnEitherSide) {
  GRADCHECK([](const auto& v) { return 2.5 * v[0] + 1; }, input({3}, 13));
  GRADCHECK([](const auto& v) { return 3 - v[0]; }, input({3}, 14));
  GRADCHECK([](const auto& v) { return v[0] - 0.25; }, input({3}, 14));
  GRADCHECK([](const auto& v) { return 2 / v[0]; }, input({3}, 15, 0.5, 2.0));
  GRADCHECK([](const auto& v) { return v[0] / 4; }, input({3}, 15));
}

TEST(TensorGradcheck, PowExpLogSqrtAbsNeg) {
  GRADCHECK([](const auto& v) { return v[0].pow(3); }, input({2, 2}, 16));
  GRADCHECK([](const auto& v) { return v[0].pow(2.5); }, input({4}, 17, 0.5, 2.0));
  GRADCHECK([](const auto& v) { return T::pow(v[0], v[1]); }, input({2, 3}, 18, 0.5, 2.0), input({3}, 19));
  GRADCHECK([](const auto& v) { return T::pow(2.0, v[0]); }, input({3}, 20));
  GRADCHECK([](const auto& v) { return T::exp(v[0]); }, input({2, 3}, 21));
  GRADCHECK([](const auto& v) { return T::log(v[0]); }, input({5}, 22, 0.5, 3.0));
  GRADCHECK([](const auto& v) { return T::sqrt(v[0]); }, input({5}, 23, 0.5, 3.0));
  GRADCHECK([](const auto& v) { return T::abs(v[0]); }, input({5}, 24, 0.2, 1.0));
  GRADCHECK([](const auto& v) { return -v[0]; }, input({2, 2}, 25));
}

TEST(TensorGradcheck, Reductions) {
  GRADCHECK([](const auto& v) { return v[0].sum(); }, input({2, 3}, 26));
  GRADCHECK([](const auto& v) { return v[0].sum(0); }, input({2, 3}, 27));
  GRADCHECK([](const auto& v) { return v[0].sum(-1, true); }, input({2, 3}, 28));
  GRADCHECK([](const auto& v) { return v[0].sum(T::IntList{0, 2}); }, input({2, 3, 2}, 29));
  GRADCHECK([](const auto& v) { return v[0].mean(); }, input({2, 3}, 30));
  GRADCHECK([](const auto& v) { return v[0].mean(1, true); }, input({2, 3}, 31));
  GRADCHECK([](const auto& v) { return v[0].norm(); }, input({2, 3}, 32));
}

TEST(TensorGradcheck, Products) {
  GRADCHECK([](const auto& v) { return T::dot(v[0], v[1]); }, input({4}, 33), input({4}, 34));
  GRADCHECK([](const auto& v) { return T::matmul(v[0], v[1]); }, input({3, 4}, 35), input({4, 2}, 36));
  GRADCHECK([](const auto& v) { return T::matmul(v[0], v[1]); }, input({3, 4}, 37), input({4}, 38));
  GRADCHECK([](const auto& v) { return T::matmul(v[0], v[1]); }, input({4}, 39), input({4, 2}, 40));
  GRADCHECK([](const auto& v) { return T::mm(v[0], v[1].t()); }, input({3, 4}, 41), input({2, 4}, 42));
  GRADCHECK([](const auto& v) { return T::linear(v[0], v[1], v[2]); }, input({5, 3}, 43), input({2, 3}, 44),
            input({2}, 45));
  GRADCHECK([](const auto& v) { return T::mse_loss(v[0], v[1]); }, input({5, 1}, 46), input({5, 1}, 47));
}

TEST(TensorGradcheck, ViewsAndShapes) {
  GRADCHECK([](const auto& v) { return v[0].reshape({3, -1}) * v[1]; }, input({2, 3}, 48), input({3, 2}, 49));
  GRADCHECK([](const auto& v) { return v[0].view({6}); }, input({2, 3}, 50));
  GRADCHECK([](const auto& v) { return v[0].t().reshape({6}); }, input({2, 3}, 51));  // non-contiguous reshape
  GRADCHECK([](const auto& v) { return v[0].transpose(0, 2); }, input({2, 3, 2}, 52));
  GRADCHECK([](const auto& v) { return v[0].expand({4, 3}); }, input({1, 3}, 53));
  GRADCHECK([](const auto& v) { return v[0].unsqueeze(1).squeeze(1); }, input({3}, 54));
  GRADCHECK([](const auto& v) { return v[0].clone().contiguous(); }, input({2, 2}, 55));
}

TEST(TensorGradcheck, IndexingAndSlices) {
  GRADCHECK([](const auto& v) { return v[0][-1]; }, input({3, 4}, 56));
  GRADCHECK([](const auto& v) { return v[0].index({Slice(1, 3)}); }, input({3, 4}, 57));
  GRADCHECK([](const auto& v) { return v[0].index({Slice(), 1}); }, input({3, 4}, 58));
  GRADCHECK([](const auto& v) { return v[0].index({Slice(T::None, T::None, 2), Slice(1, T::None)}); }, input({5, 3}, 59));
  GRADCHECK([](const auto& v) { return v[0].narrow(1, 1, 2); }, input({3, 4}, 60));
  GRADCHECK([](const auto& v) { return v[0].index_select(0, T::tensor({2, 0, 2})); }, input({3, 2}, 61));  // repeats add
  GRADCHECK([](const auto& v) { return v[0].index({T::tensor({1, 1})}) * v[0].index({Slice(0, 2)}); }, input({3, 2}, 62));
}

TEST(TensorGradcheck, CatAndStack) {
  GRADCHECK([](const auto& v) { return T::cat({v[0], v[1]}, 0); }, input({2, 3}, 63), input({1, 3}, 64));
  GRADCHECK([](const auto& v) { return T::cat({v[0], v[1], v[0]}, -1); }, input({2, 3}, 65), input({2, 1}, 66));
  GRADCHECK([](const auto& v) { return T::stack({v[0], v[1]}, 1); }, input({3}, 67), input({3}, 68));
}

TEST(TensorGradcheck, GraphsThroughControlFlowAndReuse) {
  // The lab's f(a) shape of graph, and a tensor used on several paths.
  GRADCHECK(
      [](const auto& v) {
        Tensor b = v[0] * 2;
        while (b.norm().item<double>() < 50) b = b * 2;
        return b.sum() > 0 ? b : 100 * b;
      },
      input({3}, 69));
  GRADCHECK([](const auto& v) { return (v[0] * v[0] + T::exp(v[0]) * v[1]).sum(0) / v[1].sum(); }, input({2, 3}, 70),
            input({3}, 71, 0.5, 2.0));
}

TEST(TensorGradcheck, Float32GradientsMatchFloat64) {
  // The same graph in float32 gives the float64 gradient to float32 precision: d/dx Σx² = 2x, where
  // x32 is x64 rounded (u = FLT_EPSILON/2 relative) and the gradient, computed in double, is
  // rounded once more (u): at most 2u = FLT_EPSILON relative.
  auto f = [](const Tensor& x) { return (x * x).sum(); };
  Tensor x64 = input({5}, 72);
  Tensor x32 = x64.detach().to(T::kFloat32).requires_grad_(true);
  f(x64).backward();
  f(x32).backward();
  EXPECT_TRUE(linreg::test::all_close(x64.grad().to_vector<double>(), x32.grad().to_vector<double>(), 0, FLT_EPSILON));
}

}  // namespace
