// The device path of the Tensor library on every build: the checks of device_tensor_checks.inc
// (the same ones tests/gpu runs on a GPU) with cuda:0 stood in for by host memory and the
// kernels' per-element rules run in plain loops (fake_device_ops.hpp). This proves everything
// around the kernels (device views, broadcast strides, scalar operands, dispatch, cross-device
// copies, autograd on the device, printing, the tutorial's --device gpu) and the per-element
// rules themselves; the CUDA launch code, the block reduction and cuBLAS run only on a GPU.
// Each test also checks that every "device" block it allocated was released.
#include <gtest/gtest.h>

#include "fake_device_ops.hpp"
#include "host/tensor/tensor_impl.hpp"

namespace {
class FakeDeviceTensor : public ::testing::Test {
 protected:
  void SetUp() override { linreg::tensor::detail::set_device_ops_for_testing(&ops_); }
  void TearDown() override {
    linreg::tensor::detail::set_device_ops_for_testing(nullptr);
    EXPECT_EQ(ops_.live_blocks, 0) << "device memory still held after the test";
    EXPECT_GT(ops_.kernels, 0) << "nothing ran on the stand-in device";
  }
  linreg::test::FakeDeviceOps ops_;
};
}  // namespace

#define DEVICE_SUITE FakeDeviceTensor
#define REQUIRE_DEVICE() \
  do {                   \
  } while (0)

#include "device_tensor_checks.inc"
