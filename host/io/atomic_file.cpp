// Safe outputs (see atomic_file.hpp).
#include "host/io/atomic_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "host/core/error.hpp"

namespace linreg {
namespace {

// ---- the temporary names a signal must remove ---------------------------------------------
//
// A fixed table, so that the handler touches no heap: a slot's name is written before the slot
// is marked active, and unmarked before it is reused. The handler runs on whichever thread the
// signal lands on, so the flags are lock-free atomics.
constexpr int kSlots = 8;
char g_names[kSlots][PATH_MAX];
std::atomic<bool> g_active[kSlots];
const int kSignals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE};

extern "C" void remove_temporaries_and_die(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_active[i].load()) ::unlink(g_names[i]);
  // End by the same signal, so that the parent sees how the process ended (the shell shows
  // 128 + the signal number); the signal is delivered when the handler returns.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Installed once, and only over the default action: a signal the parent chose to ignore (SIGINT
// for a background job, SIGPIPE) stays ignored.
void install_handlers() {
  static bool done = false;
  if (done) return;
  done = true;
  for (int sig : kSignals) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa {};
    sa.sa_handler = remove_temporaries_and_die;
    sigemptyset(&sa.sa_mask);
    for (int s : kSignals) sigaddset(&sa.sa_mask, s);
    ::sigaction(sig, &sa, nullptr);
  }
}

// Blocks the handled signals in this thread for a scope (creating or renaming a temporary name,
// so that no signal lands between the file appearing and its name being registered).
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kSignals) sigaddset(&set, s);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalBlock() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

int register_name(const std::string& name) {
  for (int i = 0; i < kSlots; ++i) {
    if (g_active[i].load()) continue;
    std::snprintf(g_names[i], sizeof g_names[i], "%s", name.c_str());
    g_active[i].store(true);
    return i;
  }
  return -1;  // more than kSlots at once: not removed by a signal (never happens in linreg)
}

void unregister_name(int slot) {
  if (slot >= 0) g_active[slot].store(false);
}

// ---- paths ------------------------------------------------------------------------------

std::string dir_of(const std::string& p) {
  const size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

std::string base_of(const std::string& p) {
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string label(const OutputTarget& out) {
  const std::string shown = out.path == "-" ? "stdout" : "'" + out.path + "'";
  return out.flag.empty() ? shown : out.flag + " " + shown;
}

[[noreturn]] void refuse(const std::string& flag, const std::string& path, const std::string& why) {
  throw InputError((flag.empty() ? "" : flag + " ") + "'" + path + "': " + why);
}

// A descriptor under /proc/<pid>/fd/ (what /dev/fd/N and /dev/stdout point to): a link that
// names an open file rather than a path, to be opened as it is.
bool is_fd_link(const std::string& p) {
  return p.rfind("/proc/", 0) == 0 && dir_of(p).size() >= 3 && dir_of(p).compare(dir_of(p).size() - 3, 3, "/fd") == 0;
}

// Follows symbolic links to the path that will really be written: the target of the last link,
// which may not exist yet (a link to a file to be created). Sets *fd_link when a link names an
// open descriptor.
std::string resolve_links(std::string p, const std::string& flag, bool* fd_link) {
  for (int depth = 0; depth < 40; ++depth) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    if (is_fd_link(p)) {
      *fd_link = true;
      return p;
    }
    char buf[PATH_MAX];
    const ssize_t k = ::readlink(p.c_str(), buf, sizeof buf);
    if (k <= 0 || static_cast<size_t>(k) >= sizeof buf) return p;
    const std::string target(buf, static_cast<size_t>(k));
    p = target[0] == '/' ? target : dir_of(p) + "/" + target;
  }
  refuse(flag, p, "too many levels of symbolic links");
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// The absolute path of `p` with its folder's links and dots resolved (the name itself may not
// exist yet): two spellings of one new file compare equal.
std::string canonical(const std::string& p) {
  bool fd_link = false;
  std::string file;
  try {
    file = resolve_links(p, "", &fd_link);
  } catch (const InputError&) {
    file = p;
  }
  char buf[PATH_MAX];
  if (!::realpath(dir_of(file).c_str(), buf)) return file;
  const std::string dir = buf;
  return (dir == "/" ? "" : dir) + "/" + base_of(file);
}

// ---- writing ----------------------------------------------------------------------------

[[noreturn]] void write_failed(const OutputTarget& out, int err) {
  std::string why = std::strerror(err);
  if (out.kind == OutputTarget::Kind::File)
    why += out.exists ? " (the existing file was left as it was)" : " (nothing was written)";
  throw InputError(label(out) + ": cannot write: " + why);
}

void write_all(int fd, std::string_view s, const OutputTarget& out) {
  size_t done = 0;
  while (done < s.size()) {
    const size_t chunk = std::min<size_t>(s.size() - done, size_t{1} << 30);
    const ssize_t k = ::write(fd, s.data() + done, chunk);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking stdout: wait until it drains
        struct pollfd p {fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      write_failed(out, errno);
    }
    if (k == 0) write_failed(out, EIO);
    done += static_cast<size_t>(k);
  }
}

uint64_t next_random() {
  static uint64_t state = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                          (static_cast<uint64_t>(::getpid()) << 32);
  state += 0x9E3779B97F4A7C15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A short hidden name, whatever the target's length: a 255-byte name stays writable.
std::string temp_name(const std::string& dir) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ".linreg-%08llx.tmp", static_cast<unsigned long long>(next_random() & 0xffffffffull));
  return (dir == "/" ? "" : dir) + "/" + buf;
}

// A complete copy of the new content beside its target, not yet visible under the target's name.
struct Staged {
  int fd = -1;
  std::string name;  // the named temporary file; empty for an unnamed (O_TMPFILE) one
  int slot = -1;
};

void discard(Staged& s) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  if (!s.name.empty()) {
    SignalBlock block;
    ::unlink(s.name.c_str());
    unregister_name(s.slot);
    s.name.clear();
    s.slot = -1;
  }
}

// Creates a named temporary file in `dir` (registered for removal on a signal).
Staged create_named(const std::string& dir, const OutputTarget& out) {
  Staged s;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string name = temp_name(dir);
    SignalBlock block;
    s.fd = ::open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (s.fd >= 0) {
      s.name = name;
      s.slot = register_name(name);
      return s;
    }
    if (errno != EEXIST) break;
  }
  throw InputError(label(out) + ": cannot create a temporary file in '" + dir + "': " + std::strerror(errno));
}

bool unnamed_temporaries_allowed() {
  // For tests of the named fallback (file systems without O_TMPFILE take it anyway).
  const char* v = std::getenv("LINREG_NO_O_TMPFILE");
  return !(v && *v && std::strcmp(v, "0") != 0);
}

Staged stage(const OutputTarget& out, std::string_view content, bool allow_unnamed) {
  install_handlers();
  const std::string dir = dir_of(out.file);
  Staged s;
  // Unnamed first: a process killed while it writes (even by SIGKILL) leaves nothing behind.
  if (allow_unnamed && unnamed_temporaries_allowed()) s.fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (s.fd < 0) s = create_named(dir, out);
  try {
    struct stat old {};
    if (out.exists && ::stat(out.file.c_str(), &old) == 0 && S_ISREG(old.st_mode)) {
      // The replacement keeps the old file's owner (where allowed) and mode: a private file
      // stays private. chown first: it may clear set-id bits that chmod then restores.
      if (::fchown(s.fd, old.st_uid, old.st_gid) != 0) { /* not permitted: the file becomes ours */ }
      ::fchmod(s.fd, old.st_mode & 07777);
    }
    write_all(s.fd, content, out);
    if (::fdatasync(s.fd) != 0 && errno != EINVAL && errno != EROFS) write_failed(out, errno);
  } catch (...) {
    discard(s);
    throw;
  }
  return s;
}

// Gives an unnamed temporary file a name (to rename it over the target). False when the system
// cannot (no /proc).
bool name_unnamed(Staged& s, const std::string& dir) {
  char fdpath[64];
  std::snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", s.fd);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string name = temp_name(dir);
    if (::linkat(AT_FDCWD, fdpath, AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      s.name = name;
      s.slot = register_name(name);
      return true;
    }
    if (errno != EEXIST) return false;
  }
  return false;
}

// Makes the staged content visible under the target's name. Called with the signals blocked.
void publish(Staged& s, const OutputTarget& out, std::string_view content) {
  const std::string dir = dir_of(out.file);
  if (s.name.empty() && !name_unnamed(s, dir)) {
    discard(s);
    s = stage(out, content, false);
  }
  const int fd = s.fd;
  s.fd = -1;
  if (::close(fd) != 0 && errno != EINTR) {
    const int err = errno;
    discard(s);
    write_failed(out, err);
  }
  if (::rename(s.name.c_str(), out.file.c_str()) != 0) {
    const int err = errno;
    discard(s);
    throw InputError(label(out) + ": cannot replace '" + out.file + "': " + std::strerror(err));
  }
  unregister_name(s.slot);
  s.name.clear();
  s.slot = -1;
}

void write_stream(const OutputTarget& out, std::string_view content) {
  // What the program printed before comes first (a terminal may be both stdout and the target).
  std::cout.flush();
  std::fflush(stdout);
  std::cerr.flush();
  std::fflush(stderr);
  if (out.kind == OutputTarget::Kind::Stdout) {
    write_all(out.fd, content, out);
    return;
  }
  // Non-blocking open: a FIFO nobody reads is an error now, not a wait forever. Appending, so
  // that a descriptor the shell opened with >> keeps what it had.
  const int fd = ::open(out.file.c_str(), O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENXIO) throw InputError(label(out) + ": nothing is reading this FIFO (start the reader first)");
    write_failed(out, errno);
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  try {
    write_all(fd, content, out);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0 && errno != EINTR) write_failed(out, errno);
}

}  // namespace

OutputTarget check_output(const std::string& path, const std::string& flag) {
  OutputTarget out;
  out.path = path;
  out.flag = flag;
  if (path.empty()) throw InputError((flag.empty() ? std::string("output") : flag) + ": empty path");
  if (path == "-") {
    out.kind = OutputTarget::Kind::Stdout;
    out.fd = 1;
    return out;
  }
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  const int stat_err = errno;
  if (exists) {
    struct stat fd_st {};
    for (int fd : {1, 2}) {
      if (::fstat(fd, &fd_st) == 0 && same_file(st, fd_st) && !S_ISCHR(st.st_mode)) {
        // The file (or pipe) stdout already goes to, e.g. /dev/stdout: writing it by path
        // would replace what the shell opened.
        out.kind = OutputTarget::Kind::Stdout;
        out.fd = fd;
        return out;
      }
    }
    if (S_ISDIR(st.st_mode)) refuse(flag, path, "is a folder; give a file name");
    if (S_ISBLK(st.st_mode)) refuse(flag, path, "is a block device; linreg does not write to disks");
    if (S_ISSOCK(st.st_mode)) refuse(flag, path, "is a socket");
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
      // /dev/null, /dev/full, a terminal, a FIFO: written in place, as `>` would.
      if (::access(path.c_str(), W_OK) != 0) refuse(flag, path, std::string("cannot write: ") + std::strerror(errno));
      out.kind = OutputTarget::Kind::Stream;
      out.file = path;
      out.dev = st.st_dev;
      out.ino = st.st_ino;
      return out;
    }
  } else if (stat_err != ENOENT && stat_err != ENAMETOOLONG) {  // a name too long is explained below
    refuse(flag, path, std::strerror(stat_err));
  }
  bool fd_link = false;
  const std::string file = resolve_links(path, flag, &fd_link);
  if (fd_link) {  // /dev/fd/3 and the like: the descriptor the caller opened
    out.kind = OutputTarget::Kind::Stream;
    out.file = path;
    return out;
  }
  out.kind = OutputTarget::Kind::File;
  out.file = file;
  if (exists) {
    out.exists = true;
    out.dev = st.st_dev;
    out.ino = st.st_ino;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    // No write bit at all is a "do not write" even for root (as rm asks before removing one).
    if ((st.st_mode & 0222) == 0)
      refuse(flag, path, std::string("is write-protected (mode ") + mode + "); make it writable or remove it first");
    if (::access(file.c_str(), W_OK) != 0) {
      if (errno == EROFS) refuse(flag, path, "is on a read-only file system");
      refuse(flag, path, std::string("is write-protected for you (mode ") + mode + ", " + std::strerror(errno) + ")");
    }
  }
  const std::string dir = dir_of(file), base = base_of(file);
  if (base.empty() || base == "." || base == "..") refuse(flag, path, "names a folder; give a file name");
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) {
    if (errno == ENOENT) refuse(flag, path, "folder '" + dir + "' does not exist");
    refuse(flag, path, "folder '" + dir + "': " + std::strerror(errno));
  }
  if (!S_ISDIR(dst.st_mode)) refuse(flag, path, "'" + dir + "' is not a folder");
  // The new file is created beside the target and renamed over it: the folder must be writable.
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    if (errno == EROFS) refuse(flag, path, "folder '" + dir + "' is on a read-only file system");
    refuse(flag, path, "cannot write in folder '" + dir + "' (" + std::strerror(errno) + ")");
  }
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  if (name_max > 0 && base.size() > static_cast<size_t>(name_max))
    refuse(flag, path, "the file name is " + std::to_string(base.size()) + " bytes long; this file system allows " +
                           std::to_string(name_max));
  if (file.size() >= PATH_MAX) refuse(flag, path, "the path is longer than " + std::to_string(PATH_MAX - 1) + " bytes");
  return out;
}

void check_distinct(const std::vector<const OutputTarget*>& outputs, const std::vector<InputName>& inputs) {
  struct Id {
    bool have = false;
    struct stat st {};
    std::string canon;
  };
  const auto identify = [](const std::string& path) {
    Id id;
    id.have = ::stat(path.c_str(), &id.st) == 0;
    id.canon = canonical(path);
    return id;
  };
  const auto same = [](const Id& a, const Id& b) {
    return (a.have && b.have) ? same_file(a.st, b.st) : a.canon == b.canon;
  };
  std::vector<Id> out_ids;
  for (const OutputTarget* o : outputs) out_ids.push_back(o->kind == OutputTarget::Kind::Stdout ? Id{} : identify(o->path));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OutputTarget& o = *outputs[i];
    // Writing a device twice (/dev/null) harms nothing; a descriptor twice mixes two outputs.
    const bool device = o.kind == OutputTarget::Kind::Stream && out_ids[i].have && S_ISCHR(out_ids[i].st.st_mode);
    for (const InputName& in : inputs) {
      if (in.path.empty() || in.path == "-" || o.kind == OutputTarget::Kind::Stdout || device) continue;
      if (same(out_ids[i], identify(in.path)))
        throw InputError(label(o) + " is the same file as " + in.flag + " '" + in.path +
                         "': writing it would destroy the input; choose another name");
    }
    for (size_t k = 0; k < i; ++k) {
      const OutputTarget& p = *outputs[k];
      bool clash = false;
      if (o.kind == OutputTarget::Kind::Stdout || p.kind == OutputTarget::Kind::Stdout)
        clash = o.kind == p.kind && o.fd == p.fd;
      else
        clash = !device && same(out_ids[i], out_ids[k]);
      if (clash)
        throw InputError(label(p) + " and " + label(o) + " are the same " +
                         (o.kind == OutputTarget::Kind::Stdout ? std::string("stream") : std::string("file")) +
                         ": each output needs its own");
    }
  }
}

void OutputBatch::add(const OutputTarget& out, std::string content) {
  Item it;
  it.out = out;
  it.owned = std::move(content);
  items_.push_back(std::move(it));
}

void OutputBatch::add_view(const OutputTarget& out, std::string_view content) {
  Item it;
  it.out = out;
  it.borrowed = content;
  it.is_borrowed = true;
  items_.push_back(std::move(it));
}

void OutputBatch::commit() {
  std::vector<Staged> staged(items_.size());
  const auto discard_all = [&] {
    for (Staged& s : staged) discard(s);
  };
  try {
    // 1. Every regular file complete beside its target (a full disk fails here, harmlessly).
    for (size_t i = 0; i < items_.size(); ++i)
      if (items_[i].out.kind == OutputTarget::Kind::File) staged[i] = stage(items_[i].out, items_[i].text(), true);
    // 2. Streams, which cannot be taken back.
    for (const Item& it : items_)
      if (it.out.kind != OutputTarget::Kind::File) write_stream(it.out, it.text());
  } catch (...) {
    discard_all();
    throw;
  }
  // 3. The renames, with the signals held so that none lands between a name and its removal.
  SignalBlock block;
  std::string done;
  for (size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].out.kind != OutputTarget::Kind::File) continue;
    try {
      publish(staged[i], items_[i].out, items_[i].text());
      done += (done.empty() ? "" : ", ") + items_[i].out.path;
    } catch (const InputError& e) {
      discard_all();
      throw InputError(std::string(e.what()) + (done.empty() ? "" : " (already written: " + done + ")"));
    }
  }
}

void write_output(const OutputTarget& out, std::string_view content) {
  OutputBatch batch;
  batch.add_view(out, content);
  batch.commit();
}

void write_file_atomic(const std::string& path, const std::string& content) {
  write_output(check_output(path, ""), content);
}

}  // namespace linreg
