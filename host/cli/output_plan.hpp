// The output files of one command, as the command line names them: checked before any work
// (writable, not a folder, not the same file as an input or as another output, at most one on
// stdout, none on stdout when stdout already carries the command's own result), then written
// together at the end (host/io/atomic_file.hpp).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "host/io/atomic_file.hpp"

namespace linreg::cli {

class OutputPlan {
 public:
  // An output named by `flag`; checked now (InputError naming the flag and the reason).
  void add(const std::string& path, const std::string& flag);
  // An input the outputs must not overwrite ("-", stdin, clashes with nothing).
  void add_input(const std::string& flag, const std::string& path);
  // Refuses clashes. `stdout_owner`: the flag whose result already fills stdout (--json), or "".
  void check(const std::string& stdout_owner = "");

  bool any_on_stdout() const;
  // Where the command's own report goes: stderr when an output takes stdout, else stdout.
  std::ostream& report_stream() const;
  const OutputTarget* target(const std::string& flag) const;

  // The content of the output of `flag` (added before); commit() writes every output that has one.
  void set(const std::string& flag, std::string content);
  void commit();

 private:
  std::vector<OutputTarget> targets_;
  std::vector<std::string> contents_;
  std::vector<bool> has_content_;
  std::vector<InputName> inputs_;
};

// Text made safe to print on one terminal line: control characters (C0, DEL, C1) and bytes
// that are not UTF-8 become '?'. For names and paths echoed to the user.
std::string terminal_text(const std::string& s);

}  // namespace linreg::cli
