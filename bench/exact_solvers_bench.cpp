// The exact solvers against the floor of their work, side by side in one run: OpenBLAS dsyrk alone
// forming XᵀX of the same double data in place (the Gram matrix is most of the Cholesky path's
// cost), then
// least_squares with cholesky, qr and svd. Prints milliseconds (median and fastest of the
// repeats: on a shared machine the fastest is the steadier number) and the ratios to dsyrk, and the
// rounds of iterative refinement each solve took; then, with a usable GPU, the same solvers with
// their pass over the data on the GPU.
//
//     build/linreg_exact_bench [rows] [features] [repeats] [correlated]   (default 1000000 256 3)
//
// The default data are independent normal columns (condition number ≈ 1.1: no refinement runs);
// "correlated" makes each column 0.9 of the one before plus fresh noise (condition number ≈ 40
// scaled), so the refinement passes are timed too.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/train/device.hpp"
#include "host/train/gpu_backend.hpp"
#include "host/train/lapack.hpp"
#include "host/train/least_squares.hpp"

using Clock = std::chrono::steady_clock;

static double fastest(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  const long long n = argc > 1 ? std::atoll(argv[1]) : 1000000, d = argc > 2 ? std::atoll(argv[2]) : 256;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  const bool correlated = argc > 4 && std::string(argv[4]) == "correlated";
  if (n <= d + 1 || d <= 0 || repeats <= 0 || (argc > 4 && !correlated)) {
    std::fprintf(stderr,
                 "usage: linreg_exact_bench [rows > features + 1] [features > 0] [repeats > 0] [correlated]\n");
    return 2;
  }
  linreg::HostDataset ds;
  ds.n = n;
  ds.d = d;
  ds.X64.resize(static_cast<size_t>(n * d));
  ds.y64.resize(static_cast<size_t>(n));
  std::mt19937_64 rng(1);
  std::normal_distribution<double> g(0, 1);
  for (double& x : ds.X64) x = g(rng);
  if (correlated)
    for (long long i = 0; i < n; ++i)
      for (long long j = 1; j < d; ++j) ds.X64[i * d + j] += 0.9 * ds.X64[i * d + j - 1];
  for (long long i = 0; i < n; ++i) {
    double s = 0.5;
    for (long long j = 0; j < d; ++j) s += ds.X64[i * d + j] * (static_cast<double>(j % 7) - 3);
    ds.y64[i] = s + 0.1 * g(rng);
  }

  // The floor: one dsyrk forming XᵀX straight from the row-major data (as column-major d×n, no
  // copy), without the shift, the scaling, the intercept and target columns, or the solve.
  std::vector<double> times;
  std::vector<double> G(static_cast<size_t>(d * d));
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    linreg::lapack::syrk_upper_n(static_cast<int>(d), static_cast<int>(n), 1.0, ds.X64.data(), static_cast<int>(d),
                                 0.0, G.data(), static_cast<int>(d));
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const double floor_s = median(times), floor_min = fastest(times);
  std::printf("%lld x %lld doubles%s, median of %d\n", n, d, correlated ? " (correlated columns)" : "", repeats);
  std::printf("  %-34s %9s    %5s   %9s    %5s\n", "", "median", "ratio", "fastest", "ratio");
  std::printf("  %-34s %9.1f ms   1.00x   %9.1f ms   1.00x\n", "dsyrk (Gram matrix only)", floor_s * 1e3, floor_min * 1e3);
  for (linreg::ExactMethod method : {linreg::ExactMethod::Cholesky, linreg::ExactMethod::Qr, linreg::ExactMethod::Svd,
                                     linreg::ExactMethod::Auto}) {
    times.clear();
    linreg::LeastSquaresOptions opt;
    opt.method = method;
    std::string ran;
    int rounds = 0;
    double condition = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      const linreg::LeastSquaresFit f = linreg::least_squares(ds, opt);
      times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      ran = linreg::exact_method_name(f.method);
      rounds = f.refinement_rounds;
      condition = f.condition;
    }
    const std::string label = std::string("least_squares ") + linreg::exact_method_name(method) +
                              (method == linreg::ExactMethod::Auto ? " (ran " + ran + ")" : "");
    std::printf("  %-34s %9.1f ms   %.2fx   %9.1f ms   %.2fx   (condition %.3g, %d refinement rounds)\n",
                label.c_str(), median(times) * 1e3, median(times) / floor_s, fastest(times) * 1e3,
                fastest(times) / floor_min, condition, rounds);
  }
  // The GPU's pass over the data (cuBLAS Dsyrk / cuSOLVER Dgeqrf in the GPU module; the small
  // solves on the host), when a GPU is usable: each call copies the data to the device in
  // chunks, so the rate of the data moved (GB/s) is the number to read against the host link's.
  const linreg::GpuProbe probe = linreg::probe_gpu();
  if (!probe.usable) {
    std::printf("  (no GPU rows: %s)\n", probe.reason.c_str());
    return 0;
  }
  const linreg::GpuBackend& gpu = linreg::gpu_backend();
  const double data_gb = static_cast<double>(n) * static_cast<double>(d + 1) * 8 / 1e9;
  std::printf("GPU: %s\n", probe.name.c_str());
  for (linreg::ExactMethod method : {linreg::ExactMethod::Cholesky, linreg::ExactMethod::Qr, linreg::ExactMethod::Svd}) {
    linreg::LeastSquaresOptions opt;
    opt.method = method;
    opt.gpu = &gpu;
    (void)linreg::least_squares(ds, opt);  // warm-up: the module's first cuBLAS/cuSOLVER calls
    times.clear();
    int rounds = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      rounds = linreg::least_squares(ds, opt).refinement_rounds;
      times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    const std::string label = std::string("GPU least_squares ") + linreg::exact_method_name(method);
    std::printf("  %-34s %9.1f ms   %.2fx   %9.1f ms   %.2fx   (%.1f GB/s of data, %d refinement rounds)\n",
                label.c_str(), median(times) * 1e3, median(times) / floor_s, fastest(times) * 1e3,
                fastest(times) / floor_min, data_gb / median(times), rounds);
  }
  return 0;
}
