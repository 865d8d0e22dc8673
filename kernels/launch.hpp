// Launch-geometry constants shared by every kernel of the project, host-visible (no __global__),
// so that launchers and tests agree. A kernel that uses another block size says why.
#pragma once

#include <cstdint>

namespace linreg::kern {

// The one block size of the project's kernels (8 warps). Keep in sync with the
// __launch_bounds__ of every kernel in kernels/*.cu (they use this constant directly).
constexpr int kBlockSize = 256;
constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = kBlockSize / kWarpSize;

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace linreg::kern
