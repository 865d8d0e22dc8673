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

void check_permutations(const std::vector<std::vector<uint32_t>>& perms, int64_t epochs, int64_t n) {
  if (static_cast<int64_t>(perms.size()) < epochs)
    throw InputError("fit_with_permutations: " + std::to_string(perms.size()) + " permutations for " +
                     std::to_string(epochs) + " epochs");
  for (int64_t e = 0; e < epochs; ++e) {
    const auto& p = perms[static_cast<size_t>(e)];
    if (static_cast<int64_t>(p.size()) != n) throw InputError("fit_with_permutations: permutation of the wrong length");
    for (uint32_t v : p)
      if (v >= n) throw InputError("fit_with_permutations: index out of range");
  }
}

TrainResult Trainer::fit_with_permutations(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>& perms,
                                           const EpochCallback& on_epoch) {
  check_permutations(perms, opt.epochs, examples());
  return run(opt, &perms, on_epoch);
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
