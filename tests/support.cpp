#include "support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

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

}  // namespace linreg::test
