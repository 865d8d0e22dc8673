// Semantics of the Tensor library beyond the lab's steps: dtypes and promotion, views sharing
// storage, broadcasting, reductions, autograd bookkeeping, printing rules, and clear errors
// (a std::exception whose message names the shapes or indices) for every misuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "host/tensor/nn.hpp"
#include "host/tensor/tensor.hpp"

namespace {

namespace T = linreg::tensor;
using T::repr;
using T::Slice;
using T::Tensor;

// Expects `stmt` to throw a std::exception whose message contains every one of `parts`.
#define EXPECT_THROW_MSG(stmt, ...)                                                         \
  do {                                                                                      \
    bool thrown_ = false;                                                                   \
    try {                                                                                   \
      stmt;                                                                                 \
    } catch (const std::exception& e_) {                                                    \
      thrown_ = true;                                                                       \
      for (const char* part_ : {__VA_ARGS__})                                               \
        EXPECT_NE(std::string(e_.what()).find(part_), std::string::npos)                    \
            << "message \"" << e_.what() << "\" lacks \"" << part_ << "\"";                 \
    }                                                                                       \
    EXPECT_TRUE(thrown_) << #stmt << " did not throw";                                      \
  } while (0)

// ---------------------------------------------------------------- dtypes and promotion

TEST(TensorDtype, CreationDtypes) {
  EXPECT_EQ(T::arange(3).dtype(), T::kInt64);
  EXPECT_EQ(T::arange(3.0).dtype(), T::kFloat32);
  EXPECT_EQ(T::tensor({1, 2}).dtype(), T::kInt64);
  EXPECT_EQ(T::tensor({1, 2.5}).dtype(), T::kFloat32);
  EXPECT_EQ(T::tensor({true, false}).dtype(), T::kBool);
  EXPECT_EQ(T::zeros({2}).dtype(), T::kFloat32);
  EXPECT_EQ(T::ones({2}, T::kFloat64).dtype(), T::kFloat64);
  EXPECT_EQ(T::full({2}, 7).dtype(), T::kInt64);
  EXPECT_EQ(T::zeros_like(T::arange(3)).dtype(), T::kInt64);
  EXPECT_EQ(T::randn({2}).dtype(), T::kFloat32);
}

TEST(TensorDtype, PromotionFollowsPyTorch) {
  const Tensor i = T::arange(3), f = T::arange(3.0), d = T::arange(3, T::kFloat64);
  EXPECT_EQ((i + f).dtype(), T::kFloat32);
  EXPECT_EQ((i / i).dtype(), T::kFloat32);  // true division
  EXPECT_EQ((i * 2).dtype(), T::kInt64);
  EXPECT_EQ((i * 2.5).dtype(), T::kFloat32);  // a Python float scalar is "default float"
  EXPECT_EQ((f * d).dtype(), T::kFloat64);
  EXPECT_EQ((f + T::tensor(1.0, T::kFloat64)).dtype(), T::kFloat32);  // 0-dim does not win within a category
  EXPECT_EQ((i + T::tensor(1.5)).dtype(), T::kFloat32);               // but does across categories
  EXPECT_EQ((i == f).dtype(), T::kBool);
  EXPECT_EQ(i.sum().dtype(), T::kInt64);
  EXPECT_EQ(T::tensor({true, true}).sum().item<int64_t>(), 2);
  EXPECT_EQ(repr(i / i.clone().fill_(2)), "tensor([0.0000, 0.5000, 1.0000])");
}

TEST(TensorDtype, ToAndItem) {
  const Tensor a = T::tensor({3.7, -3.7});
  EXPECT_EQ(repr(a.to(T::kInt64)), "tensor([ 3, -3])");  // truncation, as PyTorch
  EXPECT_EQ(repr(a.to(T::kFloat64)), "tensor([ 3.7000, -3.7000], dtype=torch.float64)");
  EXPECT_EQ(repr(T::tensor(0.7).item()), "0.699999988079071");  // the float32 value, as Python shows it
  EXPECT_EQ(T::tensor({5}).item<int64_t>(), 5);
  EXPECT_EQ(T::arange(4).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(static_cast<bool>(T::tensor(2) > 1));
}

// ---------------------------------------------------------------- views and in-place writes

TEST(TensorViews, SlicesShareStorage) {
  Tensor X = T::arange(12, T::kFloat32).reshape({3, 4});
  Tensor top = X.index({Slice(0, 2), Slice()});
  top.fill_(12);
  EXPECT_EQ(X.sum().item<double>(), 12 * 8 + 8 + 9 + 10 + 11);
  Tensor col = X.index({Slice(), 1});
  EXPECT_FALSE(col.is_contiguous());
  X.index_put_({2, 1}, -1);
  EXPECT_EQ(col.to_vector<float>(), (std::vector<float>{12, 12, -1}));
  Tensor r = X.reshape({12});  // a view of contiguous data
  r.index_put_({0}, 100);
  EXPECT_EQ(X.index({0, 0}).item<double>(), 100);
  Tensor c = X.clone();  // a copy
  c.zero_();
  EXPECT_EQ(X.index({0, 0}).item<double>(), 100);
}

TEST(TensorViews, SliceStepsNegativeIndicesAndClamping) {
  const Tensor x = T::arange(10);
  EXPECT_EQ(repr(x.index({Slice(1, T::None, 3)})), "tensor([1, 4, 7])");
  EXPECT_EQ(repr(x.index({Slice(-3, T::None)})), "tensor([7, 8, 9])");
  EXPECT_EQ(repr(x.index({Slice(8, 100)})), "tensor([8, 9])");  // Python clamps slice bounds
  EXPECT_EQ(repr(x.index({Slice(5, 2)})), "tensor([], dtype=torch.int64)");
  EXPECT_EQ(repr(x[-10]), "tensor(0)");
}

TEST(TensorViews, AssignTensorBroadcastsIntoSlice) {
  Tensor X = T::zeros({3, 4});
  X.index_put_({Slice(1, 3)}, T::tensor({1.0, 2, 3, 4}));
  EXPECT_EQ(repr(X), "tensor([[0., 0., 0., 0.],\n        [1., 2., 3., 4.],\n        [1., 2., 3., 4.]])");
}

TEST(TensorViews, InPlaceArithmeticChecksCasts) {
  Tensor i = T::arange(3);
  i += 2;
  EXPECT_EQ(repr(i), "tensor([2, 3, 4])");
  EXPECT_THROW_MSG(i += 0.5, "torch.float32", "torch.int64");
  Tensor f = T::arange(3.0);
  f *= T::tensor({2, 2, 2});
  EXPECT_EQ(repr(f), "tensor([0., 2., 4.])");
}

// ---------------------------------------------------------------- math

TEST(TensorMath, BroadcastShapes) {
  EXPECT_EQ((T::zeros({2, 1, 3}) + T::zeros({4, 1})).sizes(), (T::IntList{2, 4, 3}));
  EXPECT_EQ((T::zeros({3}) * T::zeros({})).sizes(), (T::IntList{3}));
  EXPECT_EQ(T::broadcast_shapes({5, 1}, {1, 0}), (T::IntList{5, 0}));
}

TEST(TensorMath, ReductionsAndProducts) {
  const Tensor X = T::arange(6.0).reshape({2, 3});
  EXPECT_EQ(repr(X.mean()), "tensor(2.5000)");
  EXPECT_EQ(repr(X.mean(0)), "tensor([1.5000, 2.5000, 3.5000])");
  EXPECT_EQ(repr(X.sum(T::IntList{0, 1}, true)), "tensor([[15.]])");
  EXPECT_EQ(repr(T::tensor({3.0, 4}).norm()), "tensor(5.)");
  EXPECT_EQ(repr(T::matmul(X, T::tensor({1.0, 1, 1}))), "tensor([ 3., 12.])");
  EXPECT_EQ(repr(T::matmul(T::tensor({1.0, 1}), X)), "tensor([3., 5., 7.])");
  EXPECT_EQ(repr(T::mm(X, X.t())), "tensor([[ 5., 14.],\n        [14., 50.]])");
  EXPECT_EQ(repr(T::dot(T::arange(3), T::arange(3))), "tensor(5)");
  EXPECT_EQ(repr(T::tensor({2, 3}).pow(T::tensor({3, 2}))), "tensor([8, 9])");
  EXPECT_EQ(repr(T::arange(3).sum(0)), "tensor(3)");
}

TEST(TensorMath, Comparisons) {
  const Tensor x = T::tensor({1, 2, 3});
  EXPECT_EQ(repr(x >= 2), "tensor([False,  True,  True])");
  EXPECT_EQ(repr(x != T::tensor({1.0, 0, 3})), "tensor([False,  True, False])");
  EXPECT_TRUE(x.equal(T::arange(1, 4)));
  EXPECT_FALSE(x.equal(T::arange(1, 5)));
}

TEST(TensorMath, RandomIsSeeded) {
  T::manual_seed(5);
  const std::vector<float> a = T::randn({4}).to_vector<float>();
  T::manual_seed(5);
  const std::vector<float> b = T::randn({4}).to_vector<float>();
  EXPECT_EQ(a, b);
  T::Generator g(1);
  const Tensor n = T::normal(10, 0.5, {10000}, {}, &g);
  EXPECT_NEAR(n.mean().item<double>(), 10, 0.05);                 // 10 σ/√n
  EXPECT_NEAR(((n - 10).pow(2)).mean().item<double>(), 0.25, 0.02);
}

// ---------------------------------------------------------------- autograd bookkeeping

TEST(TensorAutograd, GradFnNamesAsPyTorch) {
  Tensor x = T::arange(4.0).requires_grad_();
  EXPECT_EQ(repr(x), "tensor([0., 1., 2., 3.], requires_grad=True)");
  EXPECT_EQ((x + 1).grad_fn_name(), "AddBackward0");
  EXPECT_EQ((x - 1).grad_fn_name(), "SubBackward0");
  EXPECT_EQ((1 - x).grad_fn_name(), "RsubBackward1");
  EXPECT_EQ((x * x).grad_fn_name(), "MulBackward0");
  EXPECT_EQ((x / 2).grad_fn_name(), "DivBackward0");
  EXPECT_EQ(x.pow(2).grad_fn_name(), "PowBackward0");
  EXPECT_EQ(x.exp().grad_fn_name(), "ExpBackward0");
  EXPECT_EQ((-x).grad_fn_name(), "NegBackward0");
  EXPECT_EQ(x.sum().grad_fn_name(), "SumBackward0");
  EXPECT_EQ(x.sum(0).grad_fn_name(), "SumBackward1");
  EXPECT_EQ(x.mean().grad_fn_name(), "MeanBackward0");
  EXPECT_EQ(x.norm().grad_fn_name(), "LinalgVectorNormBackward0");
  EXPECT_EQ(T::dot(x, x).grad_fn_name(), "DotBackward0");
  EXPECT_EQ(x.reshape({2, 2}).grad_fn_name(), "ViewBackward0");
  EXPECT_EQ(T::mm(x.reshape({2, 2}), x.reshape({2, 2})).grad_fn_name(), "MmBackward0");
  EXPECT_EQ(x[0].grad_fn_name(), "SelectBackward0");
  EXPECT_EQ(x.index({Slice(1, 3)}).grad_fn_name(), "SliceBackward0");
  EXPECT_EQ(T::cat({x, x}).grad_fn_name(), "CatBackward0");
  EXPECT_EQ(x.clone().grad_fn_name(), "CloneBackward0");
  EXPECT_EQ(x.detach().grad_fn_name(), "");
  EXPECT_EQ(x.to(T::kFloat64).grad_fn_name(), "ToCopyBackward0");
  EXPECT_EQ(x.t().grad_fn_name(), "TBackward0");
  EXPECT_EQ(repr(x.sum()), "tensor(6., grad_fn=<SumBackward0>)");
}

TEST(TensorAutograd, ToDtypeCarriesTheGradientBack) {
  Tensor x = T::tensor({1.0, 2.0}, T::kFloat64).requires_grad_();
  (x.to(T::kFloat32) * 3).sum().backward();
  EXPECT_EQ(x.grad().dtype(), T::kFloat64);
  EXPECT_EQ(repr(x.grad()), "tensor([3., 3.], dtype=torch.float64)");
  EXPECT_FALSE(x.to(T::kInt64).requires_grad());  // integers carry no gradient
}

TEST(TensorAutograd, GradAccumulatesUntilZeroed) {
  Tensor x = T::tensor({1.0, 2.0}).requires_grad_();
  EXPECT_EQ(repr(x.grad()), "None");
  (x * 3).sum().backward();
  (x * 3).sum().backward();
  EXPECT_EQ(repr(x.grad()), "tensor([6., 6.])");
  x.grad().zero_();
  EXPECT_EQ(repr(x.grad()), "tensor([0., 0.])");
}

TEST(TensorAutograd, NoGradAndDetach) {
  Tensor x = T::ones({2}, T::requires_grad());
  {
    T::NoGradGuard guard;
    EXPECT_FALSE(T::is_grad_enabled());
    EXPECT_FALSE((x * 2).requires_grad());
    x -= 0.5;  // allowed without grad mode (the optimizer's update)
  }
  EXPECT_TRUE(T::is_grad_enabled());
  EXPECT_EQ(repr(x.detach()), "tensor([0.5000, 0.5000])");
  EXPECT_FALSE(x.detach().requires_grad());
}

TEST(TensorAutograd, GradientThroughOnePathOnly) {
  // b gets no gradient on one path (detached); the engine must still reach a through the other.
  Tensor a = T::tensor({2.0}).requires_grad_();
  Tensor b = a * 3;
  Tensor c = b.detach() * b + a;  // dc/da = b·3 + 1 = 19
  c.sum().backward();
  EXPECT_EQ(a.grad().item<double>(), 19);
}

TEST(TensorAutograd, SecondBackwardNeedsRetainGraph) {
  Tensor a = T::tensor({2.0}).requires_grad_();
  Tensor y = (a * a).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_EQ(a.grad().item<double>(), 8);
  EXPECT_THROW_MSG(y.backward(), "second time");
}

TEST(TensorAutograd, ModifiedSavedTensorIsDetected) {
  Tensor a = T::tensor({2.0}).requires_grad_();
  Tensor u = T::tensor({3.0});
  Tensor y = (a * u).sum();
  u += 1;  // MulBackward0 saved u
  EXPECT_THROW_MSG(y.backward(), "modified by an inplace operation", "MulBackward0");
}

TEST(TensorAutograd, IntegerToFloatGradients) {
  Tensor w = T::tensor({0.5, -1.0}).requires_grad_();
  Tensor X = T::tensor({{1, 2}, {3, 4}});  // int64 data, float parameters
  (X.to(T::kFloat32).matmul(w)).sum().backward();
  EXPECT_EQ(repr(w.grad()), "tensor([4., 6.])");
}

// ---------------------------------------------------------------- nn

TEST(TensorNn, LinearMseSgdStep) {
  T::nn::Linear lin(2, 1);
  lin.weight.data().copy_(T::tensor({{1.0, -1.0}}));
  lin.bias.data().fill_(0.5);
  const Tensor X = T::tensor({{1.0, 2.0}, {3.0, 1.0}});
  const Tensor y = T::tensor({{0.0}, {2.0}});
  EXPECT_EQ(lin(X).grad_fn_name(), "AddmmBackward0");
  T::nn::MSELoss loss;
  Tensor l = loss(lin(X), y);  // ŷ = [-0.5, 2.5]: mean(0.25, 0.25) = 0.25
  EXPECT_EQ(repr(l), "tensor(0.2500, grad_fn=<MseLossBackward0>)");
  T::optim::SGD opt(lin.parameters(), 0.1);
  opt.zero_grad();
  l.backward();
  // dL/dŷ = [-0.5, 0.5]; dW = [-0.5·1 + 0.5·3, -0.5·2 + 0.5·1] = [1, -0.5]; db = 0
  EXPECT_EQ(repr(lin.weight.grad()), "tensor([[ 1.0000, -0.5000]])");
  opt.step();
  EXPECT_EQ(repr(lin.weight.detach()), "tensor([[ 0.9000, -0.9500]])");
  opt.zero_grad();
  EXPECT_FALSE(lin.weight.grad().defined());  // set_to_none, as PyTorch 2
}

TEST(TensorNn, DataLoaderCoversEveryExampleOncePerEpoch) {
  const Tensor X = T::arange(23.0).reshape({23, 1});
  const Tensor y = T::arange(23);
  T::data::DataLoader loader(X, y, 5, true, 3);
  EXPECT_EQ(loader.batches_per_epoch(), 5);
  std::vector<int64_t> first_epoch;
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<int64_t> seen;
    int batches = 0;
    for (const T::data::Example& b : loader) {
      ++batches;
      EXPECT_EQ(b.data.size(0), batches < 5 ? 5 : 3);
      EXPECT_TRUE(b.data.reshape({-1}).to(T::kInt64).equal(b.target));  // rows stay paired
      for (int64_t v : b.target.to_vector<int64_t>()) seen.push_back(v);
    }
    EXPECT_EQ(batches, 5);
    std::vector<int64_t> sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, T::arange(23).to_vector<int64_t>());
    if (epoch == 0) first_epoch = seen;
    else EXPECT_NE(seen, first_epoch) << "each epoch reshuffles";
  }
}

// ---------------------------------------------------------------- printing rules

TEST(TensorPrint, FormatterModes) {
  EXPECT_EQ(repr(T::tensor({1e-5, 1.0})), "tensor([1.0000e-05, 1.0000e+00])");           // min < 1e-4
  EXPECT_EQ(repr(T::tensor({1.0, 200.0})), "tensor([  1., 200.])");                      // int mode
  EXPECT_EQ(repr(T::tensor({1.0, 2000.0})), "tensor([1.0000e+00, 2.0000e+03])");          // int mode, ratio > 1000
  EXPECT_EQ(repr(T::tensor({1.0, 2e9})), "tensor([1.0000e+00, 2.0000e+09])");             // int mode, > 1e8
  EXPECT_EQ(repr(T::tensor({-1.5, 100.25})), "tensor([ -1.5000, 100.2500])");
  EXPECT_EQ(repr(T::tensor({0.0, -0.0})), "tensor([0., -0.])");
  EXPECT_EQ(repr(T::tensor(1.0) / 0), "tensor(inf)");
  EXPECT_EQ(repr(T::tensor({1.5, NAN, -INFINITY})), "tensor([1.5000,    nan,   -inf])");
  EXPECT_EQ(repr(T::tensor({2.0, NAN})), "tensor([2., nan])");
  EXPECT_EQ(repr(T::tensor({-5, 12})), "tensor([-5, 12])");
  EXPECT_EQ(repr(T::tensor(true)), "tensor(True)");
  EXPECT_EQ(repr(T::zeros({2, 0})), "tensor([], size=(2, 0))");
  EXPECT_EQ(repr(T::zeros({0}, T::kFloat64)), "tensor([], dtype=torch.float64)");
}

TEST(TensorPrint, LongRowsWrapAndBigTensorsSummarise) {
  EXPECT_EQ(repr(T::arange(30.0) / 7),
            "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
            "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
            "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143,\n"
            "        3.8571, 4.0000, 4.1429])");
  EXPECT_EQ(repr(T::arange(2000)), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
  EXPECT_EQ(repr(T::arange(2002.0).reshape({1001, 2})),
            "tensor([[0.0000e+00, 1.0000e+00],\n"
            "        [2.0000e+00, 3.0000e+00],\n"
            "        [4.0000e+00, 5.0000e+00],\n"
            "        ...,\n"
            "        [1.9960e+03, 1.9970e+03],\n"
            "        [1.9980e+03, 1.9990e+03],\n"
            "        [2.0000e+03, 2.0010e+03]])");
}

TEST(TensorPrint, SuffixWrapsPastLineWidth) {
  Tensor x = (T::arange(8.0) / 3).requires_grad_();
  EXPECT_EQ(repr(x * 1),
            "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333],\n"
            "       grad_fn=<MulBackward0>)");
}

TEST(TensorPrint, PythonScalarsAndSizes) {
  EXPECT_EQ(T::python_float_repr(3.5), "3.5");
  EXPECT_EQ(T::python_float_repr(3.0), "3.0");
  EXPECT_EQ(T::python_float_repr(0.1), "0.1");
  EXPECT_EQ(T::python_float_repr(1e16), "1e+16");
  EXPECT_EQ(T::python_float_repr(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(T::python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(T::python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(T::python_float_repr(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(T::python_float_repr(NAN), "nan");
  EXPECT_EQ(repr(T::Scalar(7)), "7");
  EXPECT_EQ(repr(T::zeros({}).shape()), "torch.Size([])");
  std::ostringstream os;
  os << T::arange(2) << " " << T::ones({1, 2}).shape();
  EXPECT_EQ(os.str(), "tensor([0, 1]) torch.Size([1, 2])");
}

TEST(TensorPrint, NumpyRepr) {
  EXPECT_EQ(T::numpy_repr(T::tensor({1.5, 2.0})), "array([1.5, 2. ], dtype=float32)");
  EXPECT_EQ(T::numpy_repr(T::tensor({1.0, 2.0}, T::kFloat64)), "array([1., 2.])");
  EXPECT_EQ(T::numpy_repr(T::tensor({0.1, 10.0})), "array([ 0.1, 10. ], dtype=float32)");
  EXPECT_EQ(T::numpy_repr(T::tensor({1e-5, 1.5e5})), "array([1.0e-05, 1.5e+05], dtype=float32)");
  EXPECT_EQ(T::numpy_repr(T::arange(3)), "array([0, 1, 2])");
  EXPECT_EQ(T::numpy_repr(T::tensor({true, false})), "array([ True, False])");
  EXPECT_EQ(T::numpy_repr(T::tensor(3.5)), "array(3.5, dtype=float32)");
  EXPECT_EQ(T::numpy_repr(T::zeros({0})), "array([], dtype=float32)");
  EXPECT_EQ(T::numpy_repr(T::zeros({2, 0}, T::kFloat64)), "array([], shape=(2, 0))");
}

// ---------------------------------------------------------------- errors name shapes and indices

TEST(TensorErrors, BinaryOpShapeMismatch) {
  EXPECT_THROW_MSG(T::zeros({3, 4}) + T::zeros({3}), "[3, 4]", "[3]", "size of tensor a (4)");
  EXPECT_THROW_MSG(T::zeros({2, 3}) * T::zeros({3, 2}), "[2, 3]", "[3, 2]");
}

TEST(TensorErrors, CatMismatch) {
  EXPECT_THROW_MSG(T::cat({T::zeros({2, 3}), T::zeros({2, 4})}, 0), "dimension 0", "[2, 3]", "[2, 4]");
  EXPECT_THROW_MSG(T::cat({T::zeros({2, 3}), T::zeros({3})}, 0), "[2, 3]", "[3]");
  EXPECT_THROW_MSG(T::cat({T::zeros({2, 3})}, 2), "dimension out of range", "got 2");
  EXPECT_THROW_MSG(T::cat({}, 0), "non-empty");
}

TEST(TensorErrors, MatmulMismatch) {
  EXPECT_THROW_MSG(T::matmul(T::zeros({3, 4}), T::zeros({3, 4})), "3x4 and 3x4");
  EXPECT_THROW_MSG(T::matmul(T::zeros({3, 4}), T::zeros({3})), "3x4", "(3)");
  EXPECT_THROW_MSG(T::dot(T::zeros({3}), T::zeros({4})), "[3]", "[4]");
  EXPECT_THROW_MSG(T::matmul(T::zeros({2, 3, 4}), T::zeros({4})), "[2, 3, 4]");
  EXPECT_THROW_MSG(T::matmul(T::zeros({2, 2}), T::zeros({2, 2}, T::kFloat64)), "torch.float32", "torch.float64");
  EXPECT_THROW_MSG(T::mse_loss(T::zeros({4, 1}), T::zeros({4})), "[4, 1]", "[4]");
}

TEST(TensorErrors, BadReshape) {
  EXPECT_THROW_MSG(T::arange(12).reshape({5, -1}), "[5, -1]", "size 12");
  EXPECT_THROW_MSG(T::arange(12).reshape({5, 3}), "[5, 3]", "size 12");
  EXPECT_THROW_MSG(T::arange(12).reshape({-1, -1}), "only one dimension");
  EXPECT_THROW_MSG(T::arange(12).reshape({3, 4}).t().view({12}), "[4, 3]", "reshape");
}

TEST(TensorErrors, IndexOutOfRange) {
  const Tensor X = T::zeros({3, 4});
  EXPECT_THROW_MSG(X[3], "index 3", "dimension 0", "size 3");
  EXPECT_THROW_MSG(X[-4], "index -4");
  EXPECT_THROW_MSG(X.index({0, 4}), "index 4", "size 4");
  EXPECT_THROW_MSG(X.index({0, 0, 0}), "too many indices", "dimension 2");
  EXPECT_THROW_MSG(X.index({Slice(0, 2, 0)}), "step");
  EXPECT_THROW_MSG(X.narrow(1, 2, 3), "start (2)", "length (3)", "size (4)");
  EXPECT_THROW_MSG(X.index_select(0, T::tensor({0, 5})), "index 5", "size 3");
  EXPECT_THROW_MSG(X.sum(2), "dimension out of range", "got 2");
  Tensor Y = T::zeros({3, 4});
  EXPECT_THROW_MSG(Y.index_put_({5}, 1), "index 5");
  EXPECT_THROW_MSG(T::zeros({}).select(0, 0), "0-dim");
}

TEST(TensorErrors, BackwardAndItem) {
  Tensor x = T::arange(3.0).requires_grad_();
  EXPECT_THROW_MSG((x * 2).backward(), "scalar outputs", "[3]");
  EXPECT_THROW_MSG(T::arange(3.0).sum().backward(), "does not require grad");
  EXPECT_THROW_MSG(x.item(), "3 elements", "[3]");
  EXPECT_THROW_MSG(static_cast<void>(static_cast<bool>(x > 1)), "more than one value", "[3]");
  EXPECT_THROW_MSG(T::arange(3).requires_grad_(), "floating point");
  EXPECT_THROW_MSG(x.index_put_({0}, 5), "leaf Variable");
  EXPECT_THROW_MSG(x.grad().zero_(), "undefined");
  EXPECT_THROW_MSG(T::arange(3).mean(), "floating point", "torch.int64");
}

TEST(TensorErrors, CreationAndMisc) {
  EXPECT_THROW_MSG(T::tensor({{1, 2}, {3}}), "length 2", "dim 1", "got 1");
  EXPECT_THROW_MSG(T::zeros({2, -1}), "negative dimension", "[2, -1]");
  EXPECT_THROW_MSG(T::arange(0, 5, 0), "step");
  EXPECT_THROW_MSG(T::tensor({1, 2}).pow(-1), "negative integer powers");
  EXPECT_THROW_MSG(T::tensor({true}) - T::tensor({true}), "bool");
  EXPECT_THROW_MSG(T::from_vector(std::vector<float>{1, 2, 3}, {2, 2}), "3 values", "[2, 2]");
  EXPECT_THROW_MSG(T::zeros({2}).expand({3}), "expanded size", "(3)", "(2)");
  EXPECT_THROW_MSG(T::data::DataLoader(T::zeros({4, 2}), T::zeros({3}), 2), "4", "3");
}

}  // namespace
