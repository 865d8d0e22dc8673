// Tensors on the GPU against their host twins: the checks of tests/tensor/device_tensor_checks.inc
// (every device op on fresh random inputs of awkward shapes, to derived tolerances; float64
// gradchecks evaluated on the device; printing; nn on the device; the tutorial with --device gpu
// against the CPU run) with the GPU module's kernels and cuBLAS. Every test skips with the probe's
// reason where no GPU is usable.
#include <gtest/gtest.h>

#include "gpu_test_util.hpp"

namespace {
class GpuTensor : public ::testing::Test {};
}  // namespace

#define DEVICE_SUITE GpuTensor
#define REQUIRE_DEVICE() LINREG_REQUIRE_GPU()

#include "tensor/device_tensor_checks.inc"
