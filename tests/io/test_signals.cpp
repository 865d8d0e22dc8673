// Signals through the real binary: SIGTERM or SIGINT while an output is being written leaves the
// old file as it was and no temporary file behind (with the unnamed temporary file and with the
// named fallback), and the process ends by that signal (the shell's 128 + N). A long run without
// a terminal shows progress on stderr, with a thinned history on stdout.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "io/io_support.hpp"
#include "support.hpp"

namespace linreg::test {
namespace {

struct KillCase {
  std::vector<std::string> args;  // {out} is the output path
  std::vector<std::string> env;
  int sig;
};

// Starts the command, waits until it has a file open in the output folder (the temporary file,
// so it is writing), sends the signal, and checks how it ended and what it left.
void kill_while_writing(const KillCase& c, const std::string& out_dir, const std::string& out_name,
                        const std::vector<std::string>& expected_names) {
  TempDir logs;
  const std::string out = out_dir + "/" + out_name;
  std::vector<std::string> args;
  for (std::string a : c.args) args.push_back(a == "{out}" ? out : a);
  const Child child = spawn_linreg(args, logs.path(), c.env);
  int ended = -1;
  const bool writing = wait_until_open_under(child.pid, out_dir + "/", 60, &ended);
  if (!writing) {
    if (ended < 0) ::kill(child.pid, SIGKILL), wait_child(child);
    FAIL() << "never saw the output being written (ended with status " << ended << "): " << read_file(child.err_path);
  }
  ::kill(child.pid, c.sig);
  const int status = wait_child(child);
  // Either the signal landed while writing (the usual case), or the write had just completed.
  if (WIFEXITED(status)) {
    EXPECT_EQ(WEXITSTATUS(status), 0) << read_file(child.err_path);
  } else {
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), c.sig);
    EXPECT_EQ(read_file(out), "the old file") << "the target changed though the run was killed";
  }
  EXPECT_EQ(names_in(out_dir), expected_names) << "a temporary file was left behind";
}

TEST(Signals, SigtermWhileGenerateWritesLeavesTheOldFileAndNothingElse) {
  TempDir dir;
  write_text(dir.file("d.csv"), "the old file");
  kill_while_writing({{"generate", "--examples", "1000000", "--features", "8", "--out", "{out}"}, {}, SIGTERM},
                     dir.path(), "d.csv", {"d.csv"});
}

TEST(Signals, SigintWithNamedTemporaryFilesRemovesThem) {
  // The fallback for file systems without unnamed temporary files: a hidden name, removed by the
  // signal handler.
  TempDir dir;
  write_text(dir.file("d.csv"), "the old file");
  kill_while_writing({{"generate", "--examples", "1000000", "--features", "8", "--out", "{out}"},
                      {"LINREG_NO_O_TMPFILE=1"}, SIGINT},
                     dir.path(), "d.csv", {"d.csv"});
}

TEST(Signals, SigtermWhilePredictWritesLeavesNothing) {
  TempDir in, out;
  const std::string data = in.file("big.csv"), model = in.file("m.json");
  ASSERT_EQ(run_linreg("generate --examples 1000000 --features 1 --out " + sq(data)).exit_code, 0);
  ASSERT_EQ(run_linreg("train --device cpu --solver normal --data " + sq(data) + " --save " + sq(model)).exit_code, 0);
  write_text(out.file("p.csv"), "the old file");
  kill_while_writing({{"predict", "--model", model, "--data", data, "--out", "{out}"}, {"LINREG_NO_O_TMPFILE=1"}, SIGTERM},
                     out.path(), "p.csv", {"p.csv"});
}

TEST(Signals, ALongRunWithoutATerminalShowsProgressAndEndsByTheSignal) {
  TempDir logs;
  const Child child = spawn_linreg(
      {"train", "--device", "cpu", "--examples", "10", "--batch-size", "10", "--epochs", "1000000000"}, logs.path());
  // The first plain progress line comes after 3 s.
  std::string err;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    err = read_file(child.err_path);
    if (err.find("linreg: epoch ") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(child.pid, SIGTERM);
  const int status = wait_child(child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_NE(err.find("linreg: epoch "), std::string::npos) << err;
  EXPECT_NE(err.find("/1000000000"), std::string::npos) << err;
  EXPECT_NE(err.find("left"), std::string::npos) << err;
  EXPECT_NE(err.find("printing every 1000000th epoch's line"), std::string::npos) << err;
  // A thinned history: a million epochs per line, so only a few lines in these seconds.
  const std::string out = read_file(child.out_path);
  EXPECT_LT(count_lines(out), 200) << out.substr(0, 500);
}

}  // namespace
}  // namespace linreg::test
