// Where work runs. The one place that turns --device auto|gpu|cpu into the CPU or the GPU, finds
// and loads the GPU module, and falls back to the CPU with a note saying why.
//
// Probing is cheap and lazy: nothing CUDA is loaded until a caller asks for the GPU. The NVIDIA
// driver (libcuda.so.1) is opened first and asked for a device; only then is the GPU module
// (liblinreg_gpu.so, which pulls in the CUDA runtime, cuBLAS, cuRAND and cuSOLVER) loaded. A
// missing driver, device, module or CUDA library is a reason, never a failure to start.
#pragma once

#include <memory>
#include <string>

#include "host/core/config.hpp"
#include "host/train/gpu_backend.hpp"
#include "host/train/trainer.hpp"

namespace linreg {

// Whether the GPU is usable, and if not, why. Probes once per process; never throws.
GpuProbe probe_gpu();

// The loaded GPU module. Throws DeviceUnavailable with the probe's reason when no GPU is usable.
const GpuBackend& gpu_backend();

struct Placement {
  const GpuBackend* gpu = nullptr;  // null: run on the CPU
  std::string gpu_name;             // the GPU's name when gpu is set
  std::string note;                 // auto fell back to the CPU: why, in one line
};

// auto: the GPU when usable, else the CPU with `note` set; gpu: the GPU or DeviceUnavailable
// naming why; cpu: the CPU, nothing probed.
Placement place(DeviceChoice choice);

// SGD trainers. make_trainer places as above; make_gpu_trainer needs a usable GPU.
std::unique_ptr<Trainer> make_trainer(DeviceChoice choice, std::string* fallback_note = nullptr);
std::unique_ptr<Trainer> make_gpu_trainer(int device = 0);

// A symbol the loaded GPU module exports (e.g. the tensor ops' entry point), or null when it has
// none. Throws DeviceUnavailable with the probe's reason when no GPU is usable.
void* gpu_module_symbol(const char* name);

// Where the GPU module is looked for: $LINREG_GPU_MODULE when set, else liblinreg_gpu.so beside
// the running executable, else ../lib/linreg/liblinreg_gpu.so from it (the installed layout).
std::string gpu_module_path();

}  // namespace linreg
