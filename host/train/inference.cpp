// infer(): standard errors from σ²·(XᵀX)⁻¹ (the fit's unscaled covariance), distributions from
// Boost.Math (students_t, fisher_f), as R's summary.lm computes them.
#include "host/train/inference.hpp"

#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>

namespace linreg {

Inference infer(const LeastSquaresFit& fit, const std::vector<std::string>& names, bool intercept, double ridge) {
  Inference inf;
  inf.condition = fit.condition;
  inf.dof = fit.observations - fit.rank;
  const int64_t d = static_cast<int64_t>(fit.w.size()), p = d + (intercept ? 1 : 0);
  if (ridge > 0) {
    inf.why_not = "a ridge fit is biased: its standard errors and tests are not the least-squares ones";
    return inf;
  }
  if (inf.dof <= 0) {
    inf.why_not = "no residual degrees of freedom";
    return inf;
  }
  if (static_cast<int64_t>(fit.unscaled_cov.size()) != p * p) {
    inf.why_not = "no covariance for this fit";
    return inf;
  }
  inf.available = true;
  const double dof = static_cast<double>(inf.dof);
  const double sigma2 = fit.rss / dof;
  inf.sigma = std::sqrt(sigma2);
  const boost::math::students_t t_dist(dof);
  const double t975 = boost::math::quantile(boost::math::complement(t_dist, 0.025));
  std::vector<bool> aliased(static_cast<size_t>(p), false);
  for (int64_t j : fit.aliased) aliased[static_cast<size_t>(j)] = true;
  if (intercept && fit.intercept_aliased) aliased[static_cast<size_t>(d)] = true;
  for (int64_t j = 0; j < p; ++j) {
    Coefficient c;
    c.name = j == d ? "(Intercept)" : (j < static_cast<int64_t>(names.size()) ? names[j] : "x" + std::to_string(j));
    c.estimate = j == d ? fit.b : fit.w[j];
    c.defined = !aliased[static_cast<size_t>(j)];
    if (c.defined) {
      c.std_error = std::sqrt(std::max(0.0, sigma2 * fit.unscaled_cov[j * p + j]));
      c.t_value = c.std_error > 0 ? c.estimate / c.std_error : (c.estimate == 0 ? 0.0 : INFINITY);
      c.p_value = std::isfinite(c.t_value)
                      ? 2 * boost::math::cdf(boost::math::complement(t_dist, std::fabs(c.t_value)))
                      : 0.0;
      c.ci_low = c.estimate - t975 * c.std_error;
      c.ci_high = c.estimate + t975 * c.std_error;
    }
    inf.coefficients.push_back(c);
  }
  // R² about the mean with an intercept, about zero without (as R does).
  inf.r2 = fit.tss > 0 ? 1 - fit.rss / fit.tss : NAN;
  const double n_int = static_cast<double>(fit.observations - (intercept ? 1 : 0));
  inf.adj_r2 = 1 - (1 - inf.r2) * n_int / dof;
  inf.f_df1 = fit.rank - (intercept && !fit.intercept_aliased ? 1 : 0);
  if (inf.f_df1 > 0 && fit.rss > 0) {
    inf.f_statistic = ((fit.tss - fit.rss) / static_cast<double>(inf.f_df1)) / sigma2;
    const boost::math::fisher_f f_dist(static_cast<double>(inf.f_df1), dof);
    inf.f_p_value = inf.f_statistic > 0 ? boost::math::cdf(boost::math::complement(f_dist, inf.f_statistic)) : 1.0;
  } else if (inf.f_df1 > 0) {
    inf.f_statistic = INFINITY;  // a perfect fit
    inf.f_p_value = 0;
  }
  return inf;
}

}  // namespace linreg
