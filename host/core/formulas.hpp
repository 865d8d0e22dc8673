// Per-element formulas shared by the CPU trainer and the CUDA kernels (LINREG_HD).
// Everything that must agree between the two backends lives here, written once:
// the Box-Muller transform of the synthetic data, the label formula, the loss terms and the
// SGD step. Where the two backends must differ (reduction order), tests bind them.
#pragma once

#include <cmath>
#include <cstdint>

#include "host/core/hd.hpp"

namespace linreg {

enum class LossKind : int {
  HalfMse = 0,  // lab section 4: squared_loss = (ŷ−y)²/2, sgd divides by the batch size
  Mse = 1,      // lab section 5: nn.MSELoss = mean (ŷ−y)², gradient twice as large
};

// Loss contributed by one residual r = ŷ − y (before dividing by the count).
LINREG_HD double loss_term(double r, LossKind kind) {
  return kind == LossKind::HalfMse ? 0.5 * r * r : r * r;
}

// d(loss_term)/dr = scale · r.
LINREG_HD double grad_scale(LossKind kind) { return kind == LossKind::HalfMse ? 1.0 : 2.0; }

// One SGD step on one parameter: p ← p − lr · scale · (Σ r·x) / batch. Computed in double and
// rounded once, so that both backends produce the same float from the same gradient sum.
LINREG_HD float sgd_step(float p, double grad_sum, float lr, double scale, int64_t batch) {
  return static_cast<float>(static_cast<double>(p) -
                            static_cast<double>(lr) * scale * grad_sum / static_cast<double>(batch));
}

// Box-Muller on a pair of uniforms in (0, 1] (cuRAND's range), in double, rounded to float.
// cuRAND's own normal generators differ between host and device in the last bits; computing
// the transform ourselves from bit-identical uniforms keeps host and device data equal.
LINREG_HD void box_muller(float u1, float u2, float* z1, float* z2) {
  const double two_pi = 6.283185307179586476925286766559;
  const double r = sqrt(-2.0 * log(static_cast<double>(u1)));
  const double theta = two_pi * static_cast<double>(u2);
  *z1 = static_cast<float>(r * cos(theta));
  *z2 = static_cast<float>(r * sin(theta));
}

// y = x·w + b + noise, accumulated in double with explicit fma so that no compiler's
// contraction choice can change the bits.
LINREG_HD float synthetic_label(const float* x, const float* w, int64_t d, double b, double noise) {
  double acc = b;
  for (int64_t j = 0; j < d; ++j) acc = fma(static_cast<double>(x[j]), static_cast<double>(w[j]), acc);
  return static_cast<float>(acc + noise);
}

// SplitMix64: seeds the per-epoch shuffles and the initial weights from the user's --seed.
LINREG_HD uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The 32-bit engine seed of epoch `epoch`'s shuffle (thrust::default_random_engine takes 32 bits).
LINREG_HD uint32_t shuffle_seed(uint64_t seed, int64_t epoch) {
  return static_cast<uint32_t>(splitmix64(seed ^ splitmix64(0x5348554646ull + static_cast<uint64_t>(epoch))));
}

}  // namespace linreg
