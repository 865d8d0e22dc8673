// The column-scaled design of an exact least-squares fit (host/train/least_squares.cpp), as plain
// pointers and numbers, so that the GPU module can build it on the device from exactly the
// numbers the CPU uses. Row i of the design has c = k + 1 columns (k = d + intercept):
//     [ √v_i·s_int,  √v_i·(x_i0 − m_0)·s_1, ...,  √v_i·(x_i,d−1 − m_d−1)·s_d,  √v_i·(y_i − m_y) ]
// (the intercept column only when fitted; m = the shift, s = the scale, v = the row weights, 1
// without). Both backends reduce it to a (c × c) matrix: its Gram matrix (Cholesky, auto) or its
// R factor (QR, SVD); the small solves that follow run on the host for either.
#pragma once

#include <cstdint>

#include "host/core/hd.hpp"

namespace linreg {

struct ScaledDesignView {
  // The data, row-major (n, d), in the type it was read in: exactly one of X64, X32 is set, and
  // one of y64, y32 (a CSV file's values are double; the synthetic problem's float).
  const double* X64 = nullptr;
  const float* X32 = nullptr;
  const double* y64 = nullptr;
  const float* y32 = nullptr;
  const double* weights = nullptr;  // (n) v_i ≥ 0, or null: every v_i = 1
  int64_t n = 0, d = 0;
  bool intercept = true;
  const double* shift = nullptr;  // (d) m_j
  double shift_y = 0;             // m_y
  const double* scale = nullptr;  // (k) s per design column: the intercept's first when fitted

  int64_t coefficients() const { return d + (intercept ? 1 : 0); }
  int64_t columns() const { return coefficients() + 1; }
};

// The three kinds of cell, written once for both backends (the evaluation order fixes the
// rounding: the GPU's cells are bit for bit the CPU's).
LINREG_HD double design_feature_cell(double x, double shift, double scale, double root_weight) {
  return root_weight * (x - shift) * scale;
}
LINREG_HD double design_intercept_cell(double scale, double root_weight) { return root_weight * scale; }
LINREG_HD double design_label_cell(double y, double shift_y, double root_weight) {
  return root_weight * (y - shift_y);
}

}  // namespace linreg
