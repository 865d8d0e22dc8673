// Reading one input (a CSV file, a model file) whole, safely, whatever the path names:
//   - regular files are copied into private memory (pread(2), in slices on several threads for a
//     large file), never memory-mapped, so a file truncated or rewritten while it is read is an
//     error naming it (a mapping would kill the process with SIGBUS); a file that shrinks or
//     grows meanwhile is refused;
//   - "-" is stdin; pipes, FIFOs and devices are read to their end, and a FIFO with no writer
//     yet is waited for (the caller is told once, so that it can say what it waits for);
//   - every input is bounded: at most input_limit() bytes (an endless stream such as /dev/zero
//     or `yes` is refused when it passes the limit), and a NUL byte, which no text file has, is
//     refused as soon as it is read (so /dev/zero fails at once), unless the input is binary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace linreg::data {

// The most bytes linreg reads from one input: LINREG_MAX_INPUT_BYTES when set (bytes, with an
// optional K, M or G suffix: powers of 1024), else the host memory available now. Throws
// InputError when the variable is not such a number.
uint64_t input_limit();

struct ReadOptions {
  uint64_t max_bytes = 0;  // 0: input_limit()
  // Called once when a stream (a FIFO, a pipe, a terminal) has given nothing for a second, with
  // the input's name, before waiting on.
  std::function<void(const std::string& name)> on_wait;
  // A binary input (an .npy file): NUL bytes are data, not the sign of a file that is not text.
  bool binary = false;
};

// An input's bytes, in memory the reader owns.
class InputBytes {
 public:
  std::string_view view() const { return {data_.get(), size_}; }
  size_t size() const { return size_; }

 private:
  friend InputBytes read_input(const std::string& path, const ReadOptions& opt);
  // malloc'ed (streams, which grow) or an anonymous mapping of `mapped_` bytes in huge pages
  // where the system has them (regular files: a fresh 4 KiB page costs a fault and a zero-fill,
  // which made reading 20x slower than copying on a busy machine).
  struct Free {
    Free() noexcept : mapped(0) {}
    explicit Free(size_t bytes) noexcept : mapped(bytes) {}
    size_t mapped;
    void operator()(char* p) const;
  };
  std::unique_ptr<char, Free> data_;
  size_t size_ = 0;
};

// Reads the whole input. Throws InputError naming the input (missing, unreadable, a folder,
// changed while read, too large, binary).
InputBytes read_input(const std::string& path, const ReadOptions& opt = {});

// How messages name an input: "stdin" for "-", else the path.
std::string input_name(const std::string& path);

}  // namespace linreg::data
