#include "support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "host/data/npy.hpp"
#include "host/io/atomic_file.hpp"

namespace linreg::test {

::testing::AssertionResult all_close(const std::vector<double>& ref, const std::vector<double>& got, double atol,
                                     double rtol) {
  if (ref.size() != got.size())
    return ::testing::AssertionFailure() << "size mismatch: ref " << ref.size() << " vs got " << got.size();
  size_t bad = 0;
  double worst_err = 0, worst_use = 0;
  size_t worst_i = 0;
  std::ostringstream first;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(got[i] - ref[i]);
    const double tol = atol + rtol * std::fabs(ref[i]);
    const double use = std::isnan(err) ? INFINITY : err / tol;
    if (!(err <= tol)) {  // NaN never passes
      if (bad < 5) first << "  [" << i << "] ref " << ref[i] << " got " << got[i] << " err " << err << " tol " << tol << "\n";
      ++bad;
    }
    if (use > worst_use || std::isnan(err)) {
      worst_use = use;
      worst_err = err;
      worst_i = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess() << "max err " << worst_err << " (" << worst_use * 100 << "% of tol)";
  return ::testing::AssertionFailure() << bad << " of " << ref.size() << " elements out of tolerance (atol " << atol
                                       << ", rtol " << rtol << "); worst [" << worst_i << "] err " << worst_err << " = "
                                       << worst_use * 100 << "% of tol\n"
                                       << first.str();
}

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
std::string from_env(const char* name, const char* compiled) {
  const char* v = std::getenv(name);
  return v && *v ? v : compiled;
}
}  // namespace

std::string binary_path() { return from_env("LINREG_BINARY", LINREG_BINARY); }
std::string source_path(const std::string& relative) {
  return from_env("LINREG_SOURCE_DIR", LINREG_SOURCE_DIR) + "/" + relative;
}

RunOutput run_linreg(const std::string& args, const std::string& prefix) {
  TempDir dir;
  const std::string out = dir.file("stdout"), err = dir.file("stderr");
  const std::string cmd = prefix + (prefix.empty() ? "" : " ") + "'" + binary_path() + "' " + args + " </dev/null >'" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  RunOutput r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  if (!s.empty() && s.back() != '\n') ++n;
  return n;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "linreg-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

HostDataset gaussian_rows(int64_t n, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  HostDataset ds;
  ds.n = n;
  ds.d = d;
  for (int64_t i = 0; i < n; ++i) {
    double y = 0.5;
    for (int64_t j = 0; j < d; ++j) {
      const double x = g(rng);
      ds.X.push_back(static_cast<float>(x));
      y += static_cast<double>(j + 1) * 0.7 * x;
    }
    ds.y.push_back(static_cast<float>(y + 0.1 * g(rng)));
  }
  for (int64_t j = 0; j < d; ++j) ds.feature_names.push_back("x" + std::to_string(j));
  return ds;
}

void write_npy_dataset(const std::string& path, const HostDataset& ds, double shift, double scale) {
  std::vector<double> m;
  m.reserve(static_cast<size_t>(ds.n * (ds.d + 1)));
  for (int64_t i = 0; i < ds.n; ++i) {
    for (int64_t j = 0; j < ds.d; ++j) m.push_back(shift + scale * ds.x(i, j));
    m.push_back(ds.label(i));
  }
  write_file_atomic(path, data::format_npy(m.data(), ds.n, ds.d + 1));
}

}  // namespace linreg::test
