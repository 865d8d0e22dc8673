// Hostile inputs through the real binary: a CSV truncated while it is read is an error, never a
// signal; endless streams (/dev/zero, `yes`) stop with a message; a FIFO without a writer is
// waited for with a note; a header of 200,000 columns is checked in linear time; names that are
// not UTF-8 or hold control characters are refused at read time; a header-less file is noticed
// (and readable with --no-header); stdin works as --data -.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "io/io_support.hpp"
#include "support.hpp"

namespace linreg::test {
namespace {

// Endless inputs must not take the test machine down with them should the reader ever regress:
// the binary runs under a time limit and, outside AddressSanitizer (which needs a huge address
// space), a 4 GB address-space limit.
std::string memory_limit() {
#if defined(__SANITIZE_ADDRESS__)
  return "";
#else
  return "ulimit -v 4000000;";
#endif
}
std::string bounded() { return memory_limit() + " timeout 20"; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(InputSafety, AFileTruncatedWhileReadIsAnErrorNotASignal) {
  TempDir dir;
  const std::string data = dir.file("big.csv");
  ASSERT_EQ(run_linreg("generate --examples 1000000 --features 4 --out " + sq(data)).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  const Child child = spawn_linreg({"train", "--device", "cpu", "--solver", "normal", "--data", data}, dir.path());
  int ended = -1;
  const bool open = wait_until_open_under(child.pid, data, 30, &ended);
  int status = ended;
  if (open) {
    ASSERT_EQ(::truncate(data.c_str(), st.st_size / 3), 0);
    status = wait_child(child);
  }
  ASSERT_FALSE(WIFSIGNALED(status)) << "killed by signal " << WTERMSIG(status);
  ASSERT_TRUE(WIFEXITED(status));
  const std::string err = read_file(child.err_path);
  if (WEXITSTATUS(status) != 0) {
    EXPECT_EQ(count_lines(err), 1) << err;
    EXPECT_NE(err.find("big.csv"), std::string::npos) << err;
  }
}

TEST(InputSafety, DevZeroIsRefusedAtOnce) {
  const auto t0 = std::chrono::steady_clock::now();
  const RunOutput r = run_linreg("train --device cpu --data /dev/zero", bounded());
  EXPECT_LT(seconds_since(t0), 5.0);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("/dev/zero: line 1: a NUL byte"), std::string::npos) << r.err;
  // The same for predict's model file.
  const RunOutput p = run_linreg("predict --model /dev/zero --data /dev/null", bounded());
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.err.find("NUL byte"), std::string::npos) << p.err;
}

TEST(InputSafety, AnEndlessStreamStopsAtTheInputLimit) {
  TempDir dir;
  const std::string out = dir.file("out"), err = dir.file("err");
  const std::string cmd = memory_limit() + " yes 1,2 | LINREG_MAX_INPUT_BYTES=1M timeout 20 " + sq(binary_path()) +
                          " train --device cpu --data - >" + sq(out) + " 2>" + sq(err);
  const auto t0 = std::chrono::steady_clock::now();
  const int status = std::system(cmd.c_str());
  EXPECT_LT(seconds_since(t0), 10.0);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(read_file(out), "");
  const std::string e = read_file(err);
  EXPECT_EQ(count_lines(e), 1) << e;
  EXPECT_NE(e.find("stdin: more than 1.05 MB"), std::string::npos) << e;
  EXPECT_NE(e.find("endless stream"), std::string::npos) << e;
  // A regular file beyond the limit is refused before it is read.
  write_text(dir.file("big.csv"), "a,y\n" + std::string(2 << 20, '\n'));
  const RunOutput r = run_linreg("train --device cpu --data " + sq(dir.file("big.csv")), "LINREG_MAX_INPUT_BYTES=1M");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the file is 2.1 MB, more than the 1.05 MB"), std::string::npos) << r.err;
}

TEST(InputSafety, AFifoWithoutAWriterIsWaitedForWithANote) {
  TempDir dir;
  const std::string fifo = dir.file("in.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const Child child = spawn_linreg({"train", "--device", "cpu", "--solver", "normal", "--data", fifo}, dir.path());
  std::string err;
  for (int i = 0; i < 100 && err.find("waiting") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    err = read_file(child.err_path);
  }
  EXPECT_NE(err.find("note: waiting for data on " + fifo), std::string::npos) << err;
  write_text(fifo, "a,b,y\n1,2,3\n2,1,4\n3,5,1\n4,4,4\n5,0,2\n");  // opens the FIFO: the reader goes on
  const int status = wait_child(child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << read_file(child.err_path);
  EXPECT_NE(read_file(child.out_path).find("coefficients:"), std::string::npos);
}

TEST(InputSafety, StdinIsDataDash) {
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string cmd = "printf 'a,b,y\\n1,2,3\\n2,1,4\\n3,5,1\\n4,4,4\\n5,0,2\\n' | " + sq(binary_path()) +
                          " train --device cpu --solver normal --data - --json >" + sq(out) + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_NE(read_file(out).find("\"examples\":5"), std::string::npos) << read_file(out);
}

TEST(InputSafety, AWideHeaderIsCheckedInLinearTime) {
  TempDir dir;
  constexpr int kColumns = 200000;
  std::string header, row;
  for (int c = 0; c < kColumns; ++c) {
    header += (c ? ",c" : "c") + std::to_string(c);
    row += c ? ",0" : "0";
  }
  write_text(dir.file("wide.csv"), header + "\n" + row + "\n" + row + "\n");
  // 200,000 names: quadratic checking took minutes; linear takes well under a second. The run
  // then stops at the batch size (2 rows), before any training.
  auto t0 = std::chrono::steady_clock::now();
  RunOutput r = run_linreg("train --device cpu --data " + sq(dir.file("wide.csv")));
  EXPECT_LT(seconds_since(t0), 5.0);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--batch-size"), std::string::npos) << r.err;
  // A duplicate far apart is still found, naming both columns.
  std::string dup = header;
  dup.replace(dup.rfind(",c150000,"), 9, ",c7,");
  write_text(dir.file("dup.csv"), dup + "\n" + row + "\n");
  t0 = std::chrono::steady_clock::now();
  r = run_linreg("train --device cpu --data " + sq(dir.file("dup.csv")));
  EXPECT_LT(seconds_since(t0), 5.0);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("names column 'c7' more than once (columns 8 and 150001)"), std::string::npos) << r.err;
}

TEST(InputSafety, NamesThatAreNotUtf8OrHoldControlsAreRefusedAtReadTime) {
  TempDir dir;
  const std::string svg = dir.file("fit.svg"), model = dir.file("m.json");
  const std::string rows = "1,2,3\n2,1,4\n3,5,1\n4,4,4\n5,0,2\n";
  struct Case {
    std::string header, expect;
  };
  const std::vector<Case> cases = {
      {"a,b\xff,y\n", "line 1, column 2: the name 'b?' is not valid UTF-8"},
      {"a,b,\xc3(\n", "line 1, column 3: the name '?(' is not valid UTF-8"},
      {"a,\x1b[31mred,y\n", "line 1, column 2: the name '?[31mred' contains a control character"},
      {"a,\xc2\x9b" "2J,y\n", "line 1, column 2: the name '?2J' contains a control character"},  // C1 CSI
  };
  for (const Case& c : cases) {
    write_text(dir.file("in.csv"), c.header + rows);
    const RunOutput r = run_linreg("train --device cpu --solver normal --data " + sq(dir.file("in.csv")) + " --plot " +
                                   sq(svg) + " --save " + sq(model));
    EXPECT_EQ(r.exit_code, 1) << c.header;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("in.csv: " + c.expect), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "an escape reached the terminal";
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"in.csv"}) << "an output was left behind";
  }
  // UTF-8 names are fine, and a column that is not used may be called anything.
  write_text(dir.file("in.csv"), "größe,\xff,y\n" + rows);
  const RunOutput r = run_linreg("train --device cpu --solver normal --data " + sq(dir.file("in.csv")) +
                                 " --columns größe --plot " + sq(svg) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"feature_names\":[\"größe\"]"), std::string::npos) << r.out;
}

TEST(InputSafety, AHeaderlessFileIsNoticedAndReadableWithNoHeader) {
  TempDir dir;
  const std::string csv = dir.file("nohead.csv"), model = dir.file("m.json");
  write_text(csv, "1,2,3\n2,1,4\n3,5,1\n4,4,4\n5,0,2\n6,1,1\n");
  RunOutput r = run_linreg("train --device cpu --solver normal --data " + sq(csv));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("nohead.csv: line 1: the first row looks like data, not a header"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--no-header"), std::string::npos) << r.err;
  r = run_linreg("train --device cpu --solver normal --no-header --data " + sq(csv) + " --save " + sq(model) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"examples\":6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"feature_names\":[\"c1\",\"c2\"]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"target\":\"c3\""), std::string::npos) << r.out;
  r = run_linreg("predict --no-header --model " + sq(model) + " --data " + sq(csv));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 7);
  // Numeric names in quotes are names.
  write_text(csv, "\"2019\",\"2020\",y\n1,2,3\n2,1,4\n3,5,1\n4,4,4\n");
  r = run_linreg("train --device cpu --solver normal --data " + sq(csv) + " --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // --no-header needs a file.
  r = run_linreg("train --device cpu --no-header");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-header: needs --data"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace linreg::test
