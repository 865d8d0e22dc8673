// The normal equations on the CPU with an intercept: minimise Σ (x_i·w + b − y_i)² in double.
// solve_normal_cpu is least_squares (least_squares.hpp) with the Cholesky factorisation, in the
// shape the SGD tests compare against. augmented_gram_cpu and center_system compute the same
// sufficient statistics in a second, plain way: the augmented Gram matrix ZᵀZ of
// Z = [x − s, 1, y − s_y] (k = d + 2 columns; s, s_y = the first row, a shift that removes large
// offsets before any product is formed), and from it the centred system
//     G = Σ (x − x̄)(x − x̄)ᵀ,   c = Σ (x − x̄)(y − ȳ),   G w = c,   b = ȳ − x̄·w
// which tests use to derive tolerances from the conditioning of G.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"

namespace linreg {

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

// Throws InputError as least_squares does, and for fewer than d + 1 rows.
NormalSolution solve_normal_cpu(const HostDataset& ds);

}  // namespace linreg
