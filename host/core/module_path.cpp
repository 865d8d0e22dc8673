#include "host/core/module_path.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace linreg {
namespace {

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t len = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (len <= 0) return ".";
  std::string path(buf, static_cast<size_t>(len));
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string module_path(const std::string& file_name, const char* override_variable) {
  if (const char* env = std::getenv(override_variable); env && *env) return env;
  const std::string dir = executable_dir();
  const std::string beside = dir + "/" + file_name;
  if (is_regular_file(beside)) return beside;
  const std::string installed = dir + "/../lib/linreg/" + file_name;
  return is_regular_file(installed) ? installed : beside;
}

}  // namespace linreg
