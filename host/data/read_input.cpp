// Reading an input whole (see read_input.hpp).
#include "host/data/read_input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#include "host/core/dataset.hpp"
#include "host/core/error.hpp"

namespace linreg::data {
namespace {

std::string amount(uint64_t bytes) {
  char buf[64];
  if (bytes < 10000) std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  else if (bytes < 1000000) std::snprintf(buf, sizeof buf, "%.3g kB", static_cast<double>(bytes) / 1e3);
  else if (bytes < 1000000000) std::snprintf(buf, sizeof buf, "%.3g MB", static_cast<double>(bytes) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.3g GB", static_cast<double>(bytes) / 1e9);
  return buf;
}

[[noreturn]] void fail(const std::string& name, const std::string& why) { throw InputError(name + ": " + why); }

// A NUL byte at data[at]: its line, for the message.
[[noreturn]] void fail_nul(const std::string& name, const char* data, size_t at) {
  const int64_t line = 1 + std::count(data, data + at, '\n');
  fail(name, "line " + std::to_string(line) + ": a NUL byte (binary data, not text)");
}

void check_text(const std::string& name, const char* data, size_t from, size_t to) {
  if (const void* z = std::memchr(data + from, '\0', to - from))
    fail_nul(name, data, static_cast<size_t>(static_cast<const char*>(z) - data));
}

// Waits until the descriptor has something to read (or its end), telling the caller once when
// that takes more than a second.
void wait_readable(int fd, const std::string& name, const ReadOptions& opt) {
  struct pollfd p {fd, POLLIN, 0};
  int timeout_ms = 1000;
  for (;;) {
    const int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return;
    if (r < 0 && errno != EINTR) return;  // let read() report it
    if (r == 0 && timeout_ms > 0) {
      if (opt.on_wait) opt.on_wait(name);
      timeout_ms = -1;
    }
  }
}

}  // namespace

void InputBytes::Free::operator()(char* p) const {
  if (mapped) ::munmap(p, mapped);
  else std::free(p);
}

std::string input_name(const std::string& path) { return path == "-" ? "stdin" : path; }

uint64_t input_limit() {
  if (const char* v = std::getenv("LINREG_MAX_INPUT_BYTES"); v && *v) {
    const std::string s = v;
    size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    const std::string unit = s.substr(digits);
    uint64_t mult = 1;
    if (unit == "K" || unit == "k") mult = 1ull << 10;
    else if (unit == "M" || unit == "m") mult = 1ull << 20;
    else if (unit == "G" || unit == "g") mult = 1ull << 30;
    else if (!unit.empty()) digits = 0;
    if (digits == 0 || digits > 12)
      throw InputError("LINREG_MAX_INPUT_BYTES: '" + s + "' is not a number of bytes (e.g. 500M)");
    return std::stoull(s.substr(0, digits)) * mult;
  }
  return host_memory_available();
}

InputBytes read_input(const std::string& path, const ReadOptions& opt) {
  const std::string name = input_name(path);
  const uint64_t limit = opt.max_bytes ? opt.max_bytes : input_limit();
  const bool is_stdin = path == "-";
  // Non-blocking open: opening a FIFO with no writer would otherwise block before any word.
  const int fd = is_stdin ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw InputError("cannot open '" + path + "': " + std::strerror(errno));
  struct Closer {
    int fd;
    bool own;
    ~Closer() {
      if (own) ::close(fd);
    }
  } closer{fd, !is_stdin};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError("cannot read '" + name + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError("cannot read '" + name + "': it is a directory");

  InputBytes in;
  const auto grow = [&](size_t cap) {
    char* p = static_cast<char*>(std::realloc(in.data_.get(), std::max<size_t>(cap, 1)));
    if (!p) throw std::bad_alloc();
    (void)in.data_.release();
    in.data_.reset(p);
  };
  const auto read_some = [&](char* dst, size_t want) -> size_t {
    for (;;) {
      const ssize_t k = ::read(fd, dst, want);
      if (k >= 0) return static_cast<size_t>(k);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd p {fd, POLLIN, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      throw InputError("cannot read '" + name + "': " + std::strerror(errno));
    }
  };

  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    // A regular file: its size is known; it must still be that size when we are done.
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > limit)
      fail(name, "the file is " + amount(size) + ", more than the " + amount(limit) +
                     " linreg may read (the memory available, or LINREG_MAX_INPUT_BYTES)");
    if (size >= (size_t{2} << 20)) {
      void* m = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();
      ::madvise(m, static_cast<size_t>(size), MADV_HUGEPAGE);
      in.data_ = std::unique_ptr<char, InputBytes::Free>(static_cast<char*>(m), InputBytes::Free{static_cast<size_t>(size)});
    } else {
      grow(static_cast<size_t>(size));
    }
    // Large files are read in slices on several threads: the cost is the copy and the fresh
    // pages it fills, which parallelise (as the parse after it does).
    const size_t n = static_cast<size_t>(size);
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const size_t slices = std::max<size_t>(1, std::min<size_t>({hw, 8, n / (size_t{32} << 20)}));
    std::vector<size_t> got(slices, 0), nul(slices, SIZE_MAX);
    std::vector<std::exception_ptr> errors(slices);
    const auto read_slice = [&](size_t t) {
      try {
        const size_t from = n * t / slices, to = n * (t + 1) / slices;
        size_t at = from;
        while (at < to) {
          const ssize_t k = ::pread(fd, in.data_.get() + at, std::min<size_t>(to - at, size_t{16} << 20),
                                    static_cast<off_t>(at));
          if (k < 0 && errno == EINTR) continue;
          if (k < 0) throw InputError("cannot read '" + name + "': " + std::strerror(errno));
          if (k == 0) break;
          at += static_cast<size_t>(k);
        }
        got[t] = at - from;
        if (const void* z = opt.binary ? nullptr : std::memchr(in.data_.get() + from, '\0', at - from))
          nul[t] = static_cast<size_t>(static_cast<const char*>(z) - in.data_.get());
      } catch (...) {
        errors[t] = std::current_exception();
      }
    };
    {
      std::vector<std::thread> pool;
      for (size_t t = 1; t < slices; ++t) pool.emplace_back(read_slice, t);
      read_slice(0);
      for (auto& th : pool) th.join();
    }
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    size_t total = 0;
    bool short_read = false;
    for (size_t t = 0; t < slices; ++t) {
      total += got[t];
      short_read = short_read || got[t] != n * (t + 1) / slices - n * t / slices;
    }
    char probe;
    const bool grew = !short_read && ::pread(fd, &probe, 1, static_cast<off_t>(n)) > 0;
    if (short_read || grew)
      fail(name, "the file changed while it was read (" + amount(size) + " when opened, " +
                     (short_read ? amount(total) + " read" : std::string("more since")) +
                     "); is it still being written? read it again when it is complete");
    for (size_t at : nul)
      if (at != SIZE_MAX) fail_nul(name, in.data_.get(), at);
    in.size_ = n;
    return in;
  }

  // A stream (pipe, FIFO, terminal, device) or a file of unknown size: read to the end.
  if (!S_ISREG(st.st_mode)) {
    wait_readable(fd, name, opt);
    if (!is_stdin) {
      const int flags = ::fcntl(fd, F_GETFL);
      if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    }
  }
  size_t cap = 0, got = 0;
  for (;;) {
    if (got == cap) {
      if (cap > limit)
        fail(name, "more than " + amount(limit) + ", the most linreg reads from one input (the memory available, or "
                   "LINREG_MAX_INPUT_BYTES); is it an endless stream?");
      cap = static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(cap * 2, 1 << 16), limit + 1));
      grow(cap);
    }
    const size_t k = read_some(in.data_.get() + got, cap - got);
    if (k == 0) break;
    if (!opt.binary) check_text(name, in.data_.get(), got, got + k);
    got += k;
  }
  in.size_ = got;
  return in;
}

}  // namespace linreg::data
