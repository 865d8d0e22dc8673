// --device auto|gpu|cpu → a trainer; and the CPU-only build's stand-ins for the CUDA pieces.

#include "host/error.hpp"
#include "host/permutation.hpp"
#include "host/trainer.hpp"

namespace linreg {

#if !LINREG_HAVE_CUDA
GpuProbe probe_gpu() {
  GpuProbe p;
  p.reason = "this linreg was built without CUDA";
  return p;
}

#endif

// Thrust's shuffle algorithm, written out (host/permutation.cpp): in CUDA builds the same
// permutation the device computes; in CPU-only builds the same one a CUDA build would use.
void host_permutation(int64_t n, uint64_t seed, int64_t epoch, uint32_t* out) {
  thrust_compatible_permutation(n, shuffle_seed(seed, epoch), out, 1);
}

std::unique_ptr<Trainer> make_trainer(DeviceChoice choice, std::string* fallback_note) {
  if (choice == DeviceChoice::Cpu) return make_cpu_trainer();
  const GpuProbe probe = probe_gpu();
  if (probe.usable) {
#if LINREG_HAVE_CUDA
    return make_gpu_trainer(0);
#endif
  }
  if (choice == DeviceChoice::Gpu) throw DeviceUnavailable("--device gpu: no usable GPU (" + probe.reason + ")");
  if (fallback_note) *fallback_note = "no usable GPU (" + probe.reason + "); training on the CPU";
  return make_cpu_trainer();
}

}  // namespace linreg
