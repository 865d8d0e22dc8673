// The device attribute of tensors, on any machine: torch.device parsing, factories and _like
// forms keeping or taking a device, the clear error for cuda without a usable GPU, PyTorch's
// "Expected all tensors to be on the same device" for mixed operands, and the printing of a cuda
// tensor (device='cuda:0' among the suffixes, in PyTorch's order and line wrapping).
//
// Without a GPU no tensor can live on cuda:0, so two stand-ins are used: repr_as formats a host
// tensor as if it lived on cuda:0 (the values are the host's), and `tagged` marks a host
// tensor's storage as cuda so that the device checks, which run before any element is touched,
// can be exercised. The device ops themselves are tested in tests/gpu/test_gpu_tensor.cpp.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace {

namespace T = linreg::tensor;
using T::Tensor;

// A host tensor whose storage claims to be on cuda:0. Only device checks may look at it.
Tensor tagged(const Tensor& t) {
  Tensor c = t.clone();
  c.unsafe_impl()->storage->device = T::Device("cuda");
  return c;
}

void expect_same_device_error(const std::function<void()>& f) {
  try {
    f();
    ADD_FAILURE() << "no error for operands on two devices";
  } catch (const T::TensorError& e) {
    EXPECT_NE(std::string(e.what()).find("Expected all tensors to be on the same device, but found at least two "
                                         "devices, cuda:0 and cpu!"),
              std::string::npos)
        << e.what();
  }
}

TEST(TensorDevice, ParsesDevicesAsTorchDevice) {
  EXPECT_TRUE(T::Device("cpu").is_cpu());
  EXPECT_TRUE(T::Device("cuda").is_cuda());
  EXPECT_EQ(T::Device("cuda").str(), "cuda:0");
  EXPECT_EQ(T::Device("cuda:0"), T::Device(T::kCUDA));
  EXPECT_EQ(T::Device(T::kCPU).str(), "cpu");
  EXPECT_THROW(T::Device("cuda:1"), T::TensorError);
  try {
    T::Device("tpu");
    ADD_FAILURE();
  } catch (const T::TensorError& e) {
    EXPECT_EQ(std::string(e.what()), "Expected one of cpu, cuda device type at start of device string: tpu");
  }
}

TEST(TensorDevice, HostTensorsAreOnTheCpu) {
  const Tensor x = T::arange(4.0);
  EXPECT_EQ(x.device(), T::Device("cpu"));
  EXPECT_FALSE(x.is_cuda());
  EXPECT_EQ(T::ones_like(x).device().str(), "cpu");
  EXPECT_EQ(T::zeros({2}, T::device("cpu")).device().str(), "cpu");
  // Moving to where it already is returns the tensor itself, as PyTorch's .to does.
  EXPECT_EQ(x.to("cpu").unsafe_impl(), x.unsafe_impl());
  EXPECT_EQ(x.cpu().unsafe_impl(), x.unsafe_impl());
  const Tensor d = x.to("cpu", T::kDouble);
  EXPECT_EQ(d.dtype(), T::kFloat64);
  EXPECT_EQ(T::repr(d), "tensor([0., 1., 2., 3.], dtype=torch.float64)");
}

TEST(TensorDevice, CudaWithoutAGpuSaysWhy) {
  if (T::cuda::is_available()) GTEST_SKIP() << "a GPU is usable here; tests/gpu covers cuda tensors";
  const std::string reason = T::cuda::unavailable_reason();
  EXPECT_FALSE(reason.empty());
  const Tensor x = T::arange(4.0);
  for (const auto& f : std::vector<std::function<void()>>{
           [&] { (void)x.to("cuda"); }, [&] { (void)x.cuda(); },
           [&] { (void)T::ones_like(x, T::Device("cuda")); },
           [&] { (void)T::zeros({2, 3}, T::device(T::kCUDA)); },
           [&] { (void)T::tensor({1.0, 2.0}, T::TensorOptions(T::Device("cuda"))); }}) {
    try {
      f();
      ADD_FAILURE() << "made a cuda tensor without a GPU";
    } catch (const T::TensorError& e) {
      EXPECT_EQ(std::string(e.what()), "cannot use cuda:0: no usable GPU (" + reason + ")");
    }
  }
}

TEST(TensorDevice, DefaultDeviceGuardRestores) {
  EXPECT_TRUE(T::default_device().is_cpu());
  {
    const T::DefaultDeviceGuard g(T::Device("cuda"));
    EXPECT_TRUE(T::default_device().is_cuda());
    // An explicit device wins over the default.
    EXPECT_TRUE(T::zeros({2}, T::device("cpu")).device().is_cpu());
  }
  EXPECT_TRUE(T::default_device().is_cpu());
}

TEST(TensorDevice, MixedDevicesAreRefused) {
  const Tensor a = T::arange(6.0).reshape({2, 3});
  const Tensor g = tagged(a);
  EXPECT_TRUE(g.is_cuda());
  expect_same_device_error([&] { (void)(g + a); });
  expect_same_device_error([&] { (void)(a * g); });
  expect_same_device_error([&] { (void)(g < a); });
  expect_same_device_error([&] { (void)T::mm(g, a.t()); });
  expect_same_device_error([&] { (void)T::matmul(a, g.t()); });
  expect_same_device_error([&] { (void)T::dot(g.reshape({6}), a.reshape({6})); });
  expect_same_device_error([&] { (void)T::mse_loss(g, a); });
  expect_same_device_error([&] { (void)T::linear(g, a, Tensor()); });
  expect_same_device_error([&] { (void)T::cat({g, a}, 0); });
  expect_same_device_error([&] { Tensor h = tagged(a); h.add_(a); });
}

TEST(TensorDevice, NumpyOfACudaTensorThrowsAsPyTorch) {
  try {
    (void)T::numpy_repr(tagged(T::arange(3.0)));
    ADD_FAILURE();
  } catch (const T::TensorError& e) {
    EXPECT_NE(std::string(e.what()).find("can't convert cuda:0 device type tensor to numpy"), std::string::npos);
  }
}

// PyTorch's _str_intern puts device='cuda:0' first among the suffixes, then size / dtype, then
// grad_fn or requires_grad; _add_suffixes wraps a suffix to a new line when the line would pass
// 80 characters.
TEST(TensorDevice, PrintsCudaTensorsAsPyTorch) {
  const T::Device cuda("cuda");
  const Tensor x = T::tensor({1.0, 2, 4, 8});
  const Tensor z = x + T::ones_like(x);
  EXPECT_EQ(T::repr_as(z, cuda), "tensor([2., 3., 5., 9.], device='cuda:0')");
  EXPECT_EQ(T::repr_as(z.to(T::kDouble), cuda), "tensor([2., 3., 5., 9.], device='cuda:0', dtype=torch.float64)");
  EXPECT_EQ(T::repr_as(T::arange(3), cuda), "tensor([0, 1, 2], device='cuda:0')");
  EXPECT_EQ(T::repr_as(T::tensor({true, false}), cuda), "tensor([ True, False], device='cuda:0')");
  EXPECT_EQ(T::repr_as(T::tensor(3.5), cuda), "tensor(3.5000, device='cuda:0')");
  EXPECT_EQ(T::repr_as(T::zeros({0, 2}), cuda), "tensor([], device='cuda:0', size=(0, 2))");
  EXPECT_EQ(T::repr_as(T::zeros({0}, T::kInt64), cuda), "tensor([], device='cuda:0', dtype=torch.int64)");
  const Tensor w = T::arange(4.0).requires_grad_();
  EXPECT_EQ(T::repr_as(w, cuda), "tensor([0., 1., 2., 3.], device='cuda:0', requires_grad=True)");
  EXPECT_EQ(T::repr_as(w * 2, cuda), "tensor([0., 2., 4., 6.], device='cuda:0', grad_fn=<MulBackward0>)");
  EXPECT_EQ(T::repr_as(T::arange(3.0).reshape({3, 1}), cuda),
            "tensor([[0.],\n        [1.],\n        [2.]], device='cuda:0')");
  // The last line of values is 51 characters: the device suffix fits on it, the dtype wraps.
  const Tensor wide = T::full({10}, 1234.5, T::kFloat64);
  EXPECT_EQ(T::repr_as(wide, cuda),
            "tensor([1234.5000, 1234.5000, 1234.5000, 1234.5000, 1234.5000, 1234.5000,\n"
            "        1234.5000, 1234.5000, 1234.5000, 1234.5000], device='cuda:0',\n"
            "       dtype=torch.float64)");
  EXPECT_EQ(T::repr_as(z, T::Device("cpu")), T::repr(z));
}

}  // namespace
