// Device choice and the GPU module loader (see device.hpp for the order of the checks).
//
// The driver is probed through its C API with dlopen/dlsym rather than by linking the CUDA
// runtime, so that a CPU run never maps a CUDA library and a machine without one still starts.
// The few driver entry points used are declared here with the driver's documented C signatures.
#include "host/train/device.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "host/core/error.hpp"
#include "host/core/module_path.hpp"
#include "host/train/cpu_trainer.hpp"

namespace linreg {
namespace {

constexpr const char* kModuleName = "liblinreg_gpu.so";

#if LINREG_HAVE_CUDA
std::string dl_error() {
  const char* e = ::dlerror();
  return e ? e : "unknown dynamic-loader error";
}

// The NVIDIA driver: present, initialises, and has a device. Empty on success, else why not.
std::string probe_driver() {
  void* lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return "no NVIDIA driver (libcuda.so.1 not found)";
  // Kept open for the life of the process: the CUDA runtime in the module uses it too.
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  using ErrorNameFn = int (*)(int, const char**);
  const auto init = reinterpret_cast<InitFn>(::dlsym(lib, "cuInit"));
  const auto count = reinterpret_cast<CountFn>(::dlsym(lib, "cuDeviceGetCount"));
  const auto error_name = reinterpret_cast<ErrorNameFn>(::dlsym(lib, "cuGetErrorName"));
  if (!init || !count) return "the NVIDIA driver library libcuda.so.1 lacks cuInit or cuDeviceGetCount";
  const auto name_of = [&](int status) {
    const char* s = nullptr;
    if (error_name && error_name(status, &s) == 0 && s) return std::string(s);
    return "error " + std::to_string(status);
  };
  if (const int st = init(0); st != 0) return "the NVIDIA driver did not initialise (" + name_of(st) + ")";
  int devices = 0;
  if (const int st = count(&devices); st != 0) return "the NVIDIA driver cannot count devices (" + name_of(st) + ")";
  if (devices <= 0) return "no CUDA device";
  return {};
}

#endif  // LINREG_HAVE_CUDA

struct Loaded {
  const GpuBackend* backend = nullptr;
  GpuProbe probe;
  void* lib = nullptr;  // the module's handle, for gpu_module_symbol
};

Loaded load() {
  Loaded out;
#if !LINREG_HAVE_CUDA
  out.probe.reason = "this linreg was built without CUDA";
  return out;
#else
  if (std::string why = probe_driver(); !why.empty()) {
    out.probe.reason = why;
    return out;
  }
  const std::string path = gpu_module_path();
  if (!is_regular_file(path)) {
    out.probe.reason = "the GPU module " + path + " is missing";
    return out;
  }
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    // dlerror names the file that could not be loaded, e.g. a missing libcublas.so.13.
    out.probe.reason = "the GPU module could not be loaded: " + dl_error();
    return out;
  }
  using EntryFn = const GpuBackend* (*)(int);
  const auto entry = reinterpret_cast<EntryFn>(::dlsym(lib, "linreg_gpu_backend"));
  const GpuBackend* backend = entry ? entry(kGpuModuleAbi) : nullptr;
  if (!backend) {
    out.probe.reason = "the GPU module " + path + " belongs to another version of linreg";
    return out;
  }
  out.probe = backend->probe();
  if (out.probe.usable) out.backend = backend;
  out.lib = lib;
  return out;
#endif
}

const Loaded& loaded() {
  static const Loaded l = load();  // thread-safe, once per process
  return l;
}

}  // namespace

std::string gpu_module_path() { return module_path(kModuleName, "LINREG_GPU_MODULE"); }

GpuProbe probe_gpu() { return loaded().probe; }

const GpuBackend& gpu_backend() {
  const Loaded& l = loaded();
  if (!l.backend) throw DeviceUnavailable("no usable GPU (" + l.probe.reason + ")");
  return *l.backend;
}

void* gpu_module_symbol(const char* name) {
  const Loaded& l = loaded();
  if (!l.backend) throw DeviceUnavailable("no usable GPU (" + l.probe.reason + ")");
#if LINREG_HAVE_CUDA
  return ::dlsym(l.lib, name);
#else
  (void)name;
  return nullptr;
#endif
}

Placement place(DeviceChoice choice) {
  Placement p;
  if (choice == DeviceChoice::Cpu) return p;
  const Loaded& l = loaded();
  if (l.backend) {
    p.gpu = l.backend;
    p.gpu_name = l.probe.name;
    return p;
  }
  if (choice == DeviceChoice::Gpu) throw DeviceUnavailable("no usable GPU (" + l.probe.reason + ")");
  p.note = "no usable GPU (" + l.probe.reason + "); training on the CPU";
  return p;
}

std::unique_ptr<Trainer> make_trainer(DeviceChoice choice, std::string* fallback_note) {
  const Placement p = place(choice);
  if (fallback_note) *fallback_note = p.note;
  return p.gpu ? p.gpu->make_trainer(0) : make_cpu_trainer();
}

std::unique_ptr<Trainer> make_gpu_trainer(int device) { return gpu_backend().make_trainer(device); }

}  // namespace linreg
