// The device choice and the GPU module loader, through the real binary. A CPU run must never
// load a CUDA library, and every way the GPU can be missing (no driver, no module, no CUDA
// libraries, a driver the CUDA runtime refuses) must leave `--device auto` training on the CPU
// with one note naming what was missing, and make `--device gpu` one error line naming it.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "host/train/device.hpp"
#include "support.hpp"

namespace linreg {
namespace {

using test::run_linreg;
using test::RunOutput;

std::string binary_dir() { return std::filesystem::path(test::binary_path()).parent_path().string(); }

// The stand-in driver built beside the binary (tests/train/fake_cuda_driver.c).
std::string fake_driver_env() { return "env LD_LIBRARY_PATH='" + binary_dir() + "/fake-driver'"; }

bool has_module() { return std::filesystem::exists(binary_dir() + "/liblinreg_gpu.so"); }

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// auto trained on the CPU, said why in exactly one note that contains `why`, and printed the
// lab's report on stdout.
void expect_cpu_fallback(const RunOutput& r, const std::string& why) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.err, "linreg: note: no usable GPU ("), 1) << r.err;
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("training on the CPU"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.rfind("device: cpu (cpu)\nepoch 1, loss ", 0), 0u) << r.out;
}

// --device gpu refused in one line naming `why`, nothing on stdout.
void expect_gpu_refused(const RunOutput& r, const std::string& why) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("linreg: error: --device gpu: no usable GPU (", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
}

// glibc's loader lists every shared object it maps when LD_DEBUG=files.
std::string loaded_objects(const std::string& args, const std::string& prefix = "") {
  const RunOutput r = run_linreg(args, prefix + (prefix.empty() ? "env" : "") + " LD_DEBUG=files");
  return r.err;
}

TEST(DeviceLoader, CpuRunsLoadNoCudaLibrary) {
  // --device auto looks for the driver (libcuda.so.1) and, on a machine without one, loads
  // nothing else; --version and --device cpu do not even look.
  for (const char* args : {"--version", "train --device cpu --epochs 1", "predict --help", "train --epochs 1"}) {
    const bool probes = std::string(args) == "train --epochs 1";
    const std::string libs = loaded_objects(args);
    EXPECT_NE(libs.find("file=libc.so.6"), std::string::npos) << "LD_DEBUG gave no list: " << libs.substr(0, 400);
    for (const char* cuda : {"libcudart", "libcublas", "libcusolver", "libcurand", "libcusparse", "liblinreg_gpu"})
      EXPECT_EQ(libs.find(std::string("file=") + cuda), std::string::npos) << args << " loaded " << cuda;
    if (!probes) {
      EXPECT_EQ(libs.find("file=libcuda"), std::string::npos) << args << " looked for the driver";
    }
  }
}

TEST(DeviceLoader, WithoutADriverAutoTrainsOnTheCpu) {
  if (std::filesystem::exists("/dev/nvidiactl")) GTEST_SKIP() << "this machine has an NVIDIA driver";
#if LINREG_HAVE_CUDA
  const std::string why = "no NVIDIA driver (libcuda.so.1 not found)";
#else
  const std::string why = "this linreg was built without CUDA";
#endif
  expect_cpu_fallback(run_linreg("train --epochs 1"), why);
  expect_gpu_refused(run_linreg("train --device gpu --epochs 1"), why);
  // The exact solver and the bench take the same route.
  expect_gpu_refused(run_linreg("train --device gpu --solver normal"), why);
}

TEST(DeviceLoader, AMissingModuleIsNamed) {
  if (!has_module()) GTEST_SKIP() << "a CPU-only build has no GPU module";
  const std::string env = fake_driver_env() + " LINREG_GPU_MODULE=/nonexistent/liblinreg_gpu.so";
  const std::string why = "the GPU module /nonexistent/liblinreg_gpu.so is missing";
  expect_cpu_fallback(run_linreg("train --epochs 1", env), why);
  expect_gpu_refused(run_linreg("train --device gpu --epochs 1", env), why);
}

TEST(DeviceLoader, ADriverTheRuntimeRefusesIsNamed) {
  if (!has_module()) GTEST_SKIP() << "a CPU-only build has no GPU module";
  // The stand-in answers cuInit and cuDeviceGetCount only: linreg's own probe passes, the module
  // loads, and the CUDA runtime inside it must turn the driver down without crashing.
  const RunOutput a = run_linreg("train --epochs 1", fake_driver_env());
  expect_cpu_fallback(a, "driver");
  EXPECT_EQ(a.err.find("libcuda.so.1 not found"), std::string::npos) << "the stand-in driver was not used: " << a.err;
  expect_gpu_refused(run_linreg("train --device gpu --epochs 1", fake_driver_env()), "driver");
}

TEST(DeviceLoader, HiddenCudaLibrariesLeaveTheCpuPath) {
  if (!has_module()) GTEST_SKIP() << "a CPU-only build has no GPU module";
  if (::geteuid() != 0 || std::system("unshare -m true 2>/dev/null") != 0)
    GTEST_SKIP() << "needs root and mount namespaces (unshare -m) to hide the CUDA libraries";
  // Inside a private mount namespace an empty tmpfs covers the CUDA toolkit, so the module's
  // cuBLAS, cuSOLVER and cuRAND cannot be found; the binary itself needs none of them.
  const std::string cuda = std::filesystem::canonical("/usr/local/cuda").string();
  const RunOutput probe = run_linreg("--version", "unshare -m sh -c 'mount -t tmpfs none " + cuda + " && exec \"$@\"' sh");
  if (probe.exit_code != 0) GTEST_SKIP() << "cannot mount in a namespace here: " << probe.err;
  const RunOutput a = run_linreg("train --epochs 1", "unshare -m sh -c 'mount -t tmpfs none " + cuda +
                                                         " && exec env LD_LIBRARY_PATH=\"" + binary_dir() +
                                                         "/fake-driver\" \"$@\"' sh");
  expect_cpu_fallback(a, "the GPU module could not be loaded: ");
  EXPECT_NE(a.err.find("cannot open shared object file"), std::string::npos) << a.err;
  const RunOutput g = run_linreg("train --device gpu --epochs 1", "unshare -m sh -c 'mount -t tmpfs none " + cuda +
                                 " && exec env LD_LIBRARY_PATH=\"" + binary_dir() + "/fake-driver\" \"$@\"' sh");
  expect_gpu_refused(g, "the GPU module could not be loaded: ");
}

}  // namespace
}  // namespace linreg
