// The exact solver's pass over the data on the GPU: the column-scaled design of
// host/train/scaled_design.hpp is built on the device in chunks of rows and reduced to a small
// c × c matrix (c = coefficients + 1, the label last), which the host then solves in double.
// Launchers only, host pointers in and out; seen by plain .cpp files of CUDA builds.
//
// Precision: the data go to the device in the type they were read in (double for a CSV file,
// float for the synthetic problem), one chunk at a time (so the data need not fit in device
// memory); every cell, product and sum is double. The Gram matrix costs n·c² flops (cublasDsyrk),
// the R factor about twice that (cusolverDnDgeqrf); for 1M × 257 that is about 66 GFLOP, a few
// milliseconds of an H100/H200's FP64 tensor cores: the copy of the data to the device (2 GB)
// dominates.
#pragma once

#include "host/train/scaled_design.hpp"

namespace linreg {

// The Gram matrix DᵀD of the design (c × c, column-major, upper triangle; the strict lower
// triangle zero), the sum over chunks of cublasDsyrk.
void design_gram_gpu(const ScaledDesignView& view, double* h_gram);

// An R factor of the design (c × c, column-major, upper triangle; zero below): each chunk of rows
// is stacked below the R of the chunks before and factored by cusolverDnDgeqrf (a tall-skinny
// QR). Its rows may differ in sign from LAPACK's; RᵀR is the same Gram matrix, so every use of
// it on the host (solves, singular values, the rank test) is unaffected.
void design_qr_gpu(const ScaledDesignView& view, double* h_r);

}  // namespace linreg
