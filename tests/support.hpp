// Shared test helpers: one comparison that explains its failures, and a way to run the real
// linreg binary and capture what it printed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/dataset.hpp"

namespace linreg::test {

// Passes when |got − ref| ≤ atol + rtol·|ref| element-wise. On failure prints the first
// mismatches, the largest error and how much of the tolerance it used (cf. llm.c check_tensor).
::testing::AssertionResult all_close(const std::vector<double>& ref, const std::vector<double>& got, double atol,
                                     double rtol);
std::vector<double> to_double(const std::vector<float>& v);

struct RunOutput {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// The linreg binary and a file of the source tree. Read from the environment (LINREG_BINARY,
// LINREG_SOURCE_DIR) when set, so that a build moved to another machine still finds them; else
// the paths the build was configured with.
std::string binary_path();
std::string source_path(const std::string& relative);

// Runs binary_path() with the given argument string (shell-quoted by the caller where needed).
// `prefix` goes before the binary on the shell line, e.g. "env LINREG_GPU_MODULE=/x".
RunOutput run_linreg(const std::string& args, const std::string& prefix = "");

// The whole file as a string (empty if it cannot be read).
std::string read_file(const std::string& path);

// Number of '\n'-terminated lines in s (a trailing partial line counts as one).
int count_lines(const std::string& s);

// Rows x ~ N(0, 1) in float32, y = 0.5 + Σ 0.7·(j + 1)·x_j + N(0, 0.1²), seeded.
HostDataset gaussian_rows(int64_t n, int64_t d, uint64_t seed);
// ds as an .npy file: a float64 matrix (rows, d + 1), the target last, each feature written as
// shift + scale·x (the double values where ds has them).
void write_npy_dataset(const std::string& path, const HostDataset& ds, double shift = 0, double scale = 1);

// A fresh temporary directory, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace linreg::test
