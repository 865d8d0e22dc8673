// Output files that never destroy anything: a file appears whole or not at all, and what was at
// the path before is replaced only by a complete new file, keeping its mode.
//
//   - A path is checked before any work (check_output): a folder, a block device, a
//     write-protected file, a missing or read-only folder, a name too long for the file system
//     are refused up front, naming the flag, so that a long run never ends in a failed write.
//   - Outputs are compared with the inputs and with each other (check_distinct): writing one over
//     an input, or two outputs over one file, is refused.
//   - Regular files are written to an unnamed temporary file in the target's folder (O_TMPFILE;
//     a named hidden ".linreg-XXXXXXXX.tmp" where the file system lacks it), synced, then
//     renamed over the target, so that a crash, a full disk or a signal leaves the old file as it
//     was. A symbolic link is followed: its target is replaced, the link stays.
//   - "-", /dev/stdout and any path that is the file stdout already goes to are written on
//     stdout itself; character devices (/dev/null, /dev/full, a terminal) and FIFOs are written
//     in place, as the shell's `>` would.
//   - SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE while a named temporary file exists remove it,
//     then end the process by the same signal (the shell sees 128 + the signal number).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace linreg {

// An output path, checked.
struct OutputTarget {
  enum class Kind {
    Stdout,  // written on an open descriptor (`fd`): "-", /dev/stdout, or stdout's own file
    Stream,  // a character device or FIFO, opened and written in place
    File,    // a regular file (new or replaced), written through a temporary file and renamed
  };
  std::string path;  // as given
  std::string flag;  // the flag it came from, for messages ("--out")
  Kind kind = Kind::File;
  int fd = 1;               // Stdout: 1, or 2 when the path is the file stderr goes to
  std::string file;         // Stream and File: the path opened or replaced (symbolic links resolved)
  bool exists = false;      // File: a file is there now and will be replaced
  uint64_t dev = 0, ino = 0;
  bool on_stdout() const { return kind == Kind::Stdout && fd == 1; }
};

// Checks that `path` can be written, before any work. Throws InputError naming `flag` and the
// reason. An empty path is refused too.
OutputTarget check_output(const std::string& path, const std::string& flag);

// An input file named on the command line ("-" is stdin and clashes with nothing).
struct InputName {
  std::string flag;
  std::string path;
};

// Throws InputError when an output is the same file as an input or another output (the same
// device and inode, or the same path once symbolic links and "." are resolved), or when two
// outputs both go to stdout.
void check_distinct(const std::vector<const OutputTarget*>& outputs, const std::vector<InputName>& inputs);

// Writes one output (see the top of this file). Throws InputError naming the path and the
// reason ("No space left on device"); the target is then left as it was.
void write_output(const OutputTarget& out, std::string_view content);

// Outputs that belong together (a model and its plot): every regular file is fully written to
// its temporary file before any target is touched, streams are written next, and the renames
// come last, so that a failure in any of them leaves every target as it was.
class OutputBatch {
 public:
  void add(const OutputTarget& out, std::string content);
  // The caller keeps `content` alive until commit() returns (no copy of a large output).
  void add_view(const OutputTarget& out, std::string_view content);
  void commit();

 private:
  struct Item {
    OutputTarget out;
    std::string owned;
    std::string_view borrowed;
    bool is_borrowed = false;
    std::string_view text() const { return is_borrowed ? borrowed : std::string_view(owned); }
  };
  std::vector<Item> items_;
};

// check_output + write_output, with `path` as the flag in messages.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace linreg
