// Helpers for the tests that treat linreg as a hostile user would: start the real binary without a
// shell (so that it can be signalled and watched), see which files it holds open, list a folder,
// mount a tiny file system.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace linreg::test {

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Names in a folder, sorted (".linreg-*.tmp" or "*.tmp.*" among them would be leftovers).
inline std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The linreg binary as a child process: stdout and stderr go to files in `dir`, stdin from
// `stdin_path` (/dev/null by default); `env` entries ("NAME=value") are added to its environment.
struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
};

inline Child spawn_linreg(const std::vector<std::string>& args, const std::string& dir,
                          const std::vector<std::string>& env = {}, const std::string& stdin_path = "/dev/null") {
  Child c;
  c.out_path = dir + "/child.stdout";
  c.err_path = dir + "/child.stderr";
  const std::string bin = binary_path();
  std::vector<std::string> argv_s{bin};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  c.pid = ::fork();
  if (c.pid == 0) {
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    const int in = ::open(stdin_path.c_str(), O_RDONLY);
    const int out = ::open(c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return c;
}

// waitpid's status.
inline int wait_child(const Child& c) {
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Waits until the process holds a descriptor on a file whose path starts with `prefix` (an
// unnamed temporary file shows as "<folder>/#123 (deleted)"). Returns true then; false when the
// time ran out, or when the process ended first (its wait status then in *ended, and it is
// reaped: do not wait for it again).
inline bool wait_until_open_under(pid_t pid, const std::string& prefix, double timeout_s, int* ended) {
  *ended = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      *ended = status;
      return false;
    }
    for (const std::string& fd : names_in(fd_dir)) {
      char buf[4096];
      const ssize_t k = ::readlink((fd_dir + "/" + fd).c_str(), buf, sizeof buf - 1);
      if (k > 0 && std::string(buf, static_cast<size_t>(k)).rfind(prefix, 0) == 0) return true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

// A tmpfs of `kib` KiB mounted on a fresh folder, unmounted at the end; mounted() is false (and
// why() says why) where the test cannot mount (not root, no permission in a container).
class TinyFs {
 public:
  explicit TinyFs(int kib) {
    if (::geteuid() != 0) {
      why_ = "not root: cannot mount a small tmpfs to fill";
      return;
    }
    const std::string opts = "size=" + std::to_string(kib) + "k";
    if (::mount("linreg-test", dir_.path().c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      why_ = std::string("mount tmpfs failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~TinyFs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  std::string file(const std::string& name) const { return dir_.file(name); }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_;
};

inline std::string sq(const std::string& s) { return "'" + s + "'"; }

}  // namespace linreg::test
