// Inference for an exact least-squares fit: the table R's summary(lm) prints. Per coefficient
// the estimate, standard error, t value, two-sided p-value and 95% confidence interval; for the
// fit the residual standard error and its degrees of freedom, R², adjusted R², the F statistic
// and its p-value. The t and F distributions come from Boost.Math.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/train/least_squares.hpp"

namespace linreg {

struct Coefficient {
  std::string name;        // the feature's name, or "(Intercept)"
  double estimate = 0;
  bool defined = true;     // false: aliased ("not defined because of singularities")
  double std_error = 0, t_value = 0, p_value = 0, ci_low = 0, ci_high = 0;
};

struct Inference {
  bool available = false;  // false for ridge fits and fits with no residual degrees of freedom
  std::string why_not;     // when not available
  std::vector<Coefficient> coefficients;  // features in order, then the intercept when fitted
  double sigma = 0;        // residual standard error
  int64_t dof = 0;         // residual degrees of freedom: observations − rank
  double r2 = 0, adj_r2 = 0;
  double f_statistic = 0, f_p_value = 0;
  int64_t f_df1 = 0;       // rank − intercept
  double condition = 0;
};

// `names` labels the features (x0, x1, ... when empty).
Inference infer(const LeastSquaresFit& fit, const std::vector<std::string>& names, bool intercept, double ridge);

}  // namespace linreg
