// Exact least squares with an intercept: minimise Σ (x_i·w + b − y_i)² through the normal
// equations, in double. This is the reference that SGD results are judged against.
//
// Both backends compute the same sufficient statistics: the augmented Gram matrix ZᵀZ of
// Z = [x − s, 1, y − s_y] (k = d + 2 columns; s, s_y = the first row, a shift that removes large
// offsets before any product is formed). From it, on the host and in double, the centred system
//     G = Σ (x − x̄)(x − x̄)ᵀ,   c = Σ (x − x̄)(y − ȳ),   G w = c,   b = ȳ − x̄·w
// which is the intercept problem with the bias eliminated (far better conditioned than [X 1]ᵀ[X 1]).
// CPU: LAPACK through least_squares.hpp (the column-scaled Gram matrix by dsyrk, dpotrf). GPU
// (kernels/normal_equations.cu, in the GPU module): ZᵀZ with cublasDsyrk on double chunks of Z,
// G w = c with cuSOLVER Dpotrf/Dpotrs, the pivots checked here. A singular G (a constant column, a duplicated column, a linear combination) is
// refused with a message naming the column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"

namespace linreg {

// A pivot p_k of the Cholesky factorisation is the variance of column k left after regressing it on
// the earlier columns; p_k ≤ kPivotTolerance · G_kk means column k is (to float32 precision) a
// linear combination of them: residual spread below 1e-6 of the column's own, ~16 float ulps.
constexpr double kPivotTolerance = 1e-12;

struct NormalSolution {
  std::vector<double> w;
  double b = 0;
  std::string device;  // "cpu" or the GPU's name
  double seconds = 0;  // building and solving the system
};

// The centred system and the means (see above). G is d×d, symmetric, row-major.
struct CenteredSystem {
  int64_t n = 0;
  int64_t d = 0;
  std::vector<double> G;
  std::vector<double> c;
  std::vector<double> mean_x;
  double mean_y = 0;
};

// ZᵀZ (k×k, k = d + 2, full symmetric, row-major) on the CPU, with s = row 0 of X, s_y = y[0].
std::vector<double> augmented_gram_cpu(const HostDataset& ds);

// ZᵀZ → the centred system.
CenteredSystem center_system(const std::vector<double>& aug, const HostDataset& ds);

// Throws InputError when the system cannot be solved: fewer rows than d + 1, a constant column.
void check_system(const CenteredSystem& sys, const std::vector<std::string>& names);

// Names the problem at failed pivot k (constant, a copy of column j, or a combination) and throws.
[[noreturn]] void throw_singular(const CenteredSystem& sys, int64_t k, const std::vector<std::string>& names);

// The solvers. `names` label columns in messages (feature_names when empty: x0, x1, ...).
NormalSolution solve_normal_cpu(const HostDataset& ds);
// Through the GPU module (device.hpp); DeviceUnavailable when no GPU is usable.
NormalSolution solve_normal_gpu(const HostDataset& ds);

}  // namespace linreg
