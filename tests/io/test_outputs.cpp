// Output files through the real binary, as a hostile or careless user would name them: nothing
// the user had is destroyed (an existing plot when the model cannot be saved, a device node, a
// symbolic link, a write-protected or private file, an input), "-" and /dev/stdout are stdout in
// every command, long names work, and every path is checked before any work starts.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <string>

#include "io/io_support.hpp"
#include "support.hpp"

namespace linreg::test {
namespace {

const std::string kCsv = "a,b,y\n1,2,3\n2,1,4\n3,5,1\n4,4,4\n5,0,2\n6,1,7\n7,2,1\n8,3,3\n9,9,9\n10,0,1\n11,3,3\n";

// A folder with a small training file in it.
struct Workspace {
  TempDir dir;
  std::string data = dir.file("data.csv");
  Workspace() { write_text(data, kCsv); }
  std::string train(const std::string& extra) const {
    return "train --device cpu --data " + sq(data) + " --solver normal " + extra;
  }
};

bool no_leftovers(const std::string& dir, const std::vector<std::string>& expected) {
  return names_in(dir) == expected;
}

TEST(Outputs, AFailedSaveLeavesTheExistingPlotAlone) {
  Workspace w;
  const std::string plot = w.dir.file("fit.svg"), save = w.dir.file("model");
  write_text(plot, "my old plot");
  ::mkdir(save.c_str(), 0755);  // --save names a folder: refused before any work
  const RunOutput r = run_linreg(w.train("--save " + sq(save) + " --plot " + sq(plot)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--save"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is a folder"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(plot), "my old plot");
  EXPECT_TRUE(no_leftovers(w.dir.path(), {"data.csv", "fit.svg", "model"}));
}

TEST(Outputs, DeviceNodesAreWrittenInPlaceNeverReplaced) {
  Workspace w;
  // The test's own device nodes (the kernel's "full" and "null" devices, made in its folder),
  // so that a regression damages these copies, never the machine's /dev/full and /dev/null.
  const std::string full = w.dir.file("full"), null = w.dir.file("null");
  if (::mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0 || ::mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0)
    GTEST_SKIP() << "cannot make device nodes here (needs root): " << std::strerror(errno);
  const std::string model = w.dir.file("m.json");
  ASSERT_EQ(run_linreg(w.train("--save " + sq(model))).exit_code, 0);
  // A full device: the write fails with the reason, and the device is still the device.
  RunOutput r = run_linreg("predict --model " + sq(model) + " --data " + sq(w.data) + " --out " + sq(full));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(full + "': cannot write: No space left on device"), std::string::npos) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(full.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node was replaced by a file";
  EXPECT_EQ(st.st_rdev, makedev(1, 7));
  // A null device swallows the predictions and stays a device.
  r = run_linreg("predict --model " + sq(model) + " --data " + sq(w.data) + " --out " + sq(null));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(::stat(null.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node was replaced by a file";
  EXPECT_TRUE(no_leftovers(w.dir.path(), {"data.csv", "full", "m.json", "null"}));
}

TEST(Outputs, ASymbolicLinkIsFollowedAndKept) {
  Workspace w;
  const std::string real = w.dir.file("real.json"), link = w.dir.file("link.json");
  write_text(real, "old");
  ASSERT_EQ(::symlink("real.json", link.c_str()), 0);
  const RunOutput r = run_linreg(w.train("--save " + sq(link)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link was replaced by a file";
  EXPECT_NE(read_file(real).find("\"format\": \"linreg-model\""), std::string::npos);
  // A link to a file not there yet creates the file, as the shell's > does.
  const std::string dangling = w.dir.file("dangling.json");
  ASSERT_EQ(::symlink("new.json", dangling.c_str()), 0);
  ASSERT_EQ(run_linreg(w.train("--save " + sq(dangling))).exit_code, 0);
  ASSERT_EQ(::lstat(dangling.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_NE(read_file(w.dir.file("new.json")).find("linreg-model"), std::string::npos);
  EXPECT_TRUE(no_leftovers(w.dir.path(), {"dangling.json", "data.csv", "link.json", "new.json", "real.json"}));
}

TEST(Outputs, AWriteProtectedFileIsRefusedEvenForRoot) {
  Workspace w;
  const std::string ro = w.dir.file("ro.json");
  write_text(ro, "keep me");
  ASSERT_EQ(::chmod(ro.c_str(), 0444), 0);
  const RunOutput r = run_linreg(w.train("--save " + sq(ro)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("write-protected (mode 0444)"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(ro), "keep me");
}

TEST(Outputs, AReplacedFileKeepsItsMode) {
  Workspace w;
  for (const mode_t mode : {mode_t{0600}, mode_t{0640}, mode_t{0664}}) {
    const std::string f = w.dir.file("m.json");
    write_text(f, "old");
    ASSERT_EQ(::chmod(f.c_str(), mode), 0);
    ASSERT_EQ(run_linreg(w.train("--save " + sq(f))).exit_code, 0);
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, mode) << std::oct << mode;
    EXPECT_NE(read_file(f).find("linreg-model"), std::string::npos);
  }
  // A new file gets the usual 0666 minus the umask, not mkstemp's 0600.
  const mode_t old_mask = ::umask(022);
  const std::string fresh = w.dir.file("fresh.json");
  ASSERT_EQ(run_linreg(w.train("--save " + sq(fresh))).exit_code, 0);
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(Outputs, AnOutputThatIsAnInputOrAnotherOutputIsRefused) {
  Workspace w;
  const std::string model = w.dir.file("m.json");
  ASSERT_EQ(run_linreg(w.train("--save " + sq(model))).exit_code, 0);
  const std::string data_copy = read_file(w.data), model_copy = read_file(model);
  ASSERT_EQ(::symlink("data.csv", w.dir.file("alias.csv").c_str()), 0);
  ASSERT_EQ(::link(w.data.c_str(), w.dir.file("hard.csv").c_str()), 0);
  struct Case {
    std::string args, expect;
  };
  const std::string pred = "predict --model " + sq(model) + " --data " + sq(w.data) + " --out ";
  const std::vector<Case> cases = {
      {pred + sq(w.data), "is the same file as --data"},
      {pred + sq(model), "is the same file as --model"},
      {pred + sq(w.dir.file("alias.csv")), "is the same file as --data"},  // through a link
      {pred + sq(w.dir.file("hard.csv")), "is the same file as --data"},   // a hard link
      {w.train("--save " + sq(w.data)), "--save"},
      {w.train("--save " + sq(w.dir.file("x")) + " --plot " + sq(w.dir.file("x"))), "are the same file"},
      // Two spellings of one new file.
      {w.train("--save " + sq(w.dir.path() + "/./y") + " --plot " + sq(w.dir.file("y"))), "are the same file"},
      {w.train("--save - --plot -"), "are the same stream"},
  };
  for (const Case& c : cases) {
    const RunOutput r = run_linreg(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
  }
  EXPECT_EQ(read_file(w.data), data_copy);
  EXPECT_EQ(read_file(model), model_copy);
  EXPECT_TRUE(no_leftovers(w.dir.path(), {"alias.csv", "data.csv", "hard.csv", "m.json"}));
}

TEST(Outputs, DashAndDevStdoutAreStdoutInEveryCommand) {
  Workspace w;
  // generate: the CSV alone on stdout, the summary on stderr; never a file named "-".
  RunOutput r = run_linreg("generate --examples 3 --out -", "cd " + sq(w.dir.path()) + " &&");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("x0,x1,y\n", 0), 0u) << r.out;
  EXPECT_EQ(count_lines(r.out), 4);
  EXPECT_NE(r.err.find("to stdout"), std::string::npos) << r.err;
  EXPECT_TRUE(no_leftovers(w.dir.path(), {"data.csv"}));
  // A link to stdout while stdout is a file: written through stdout, not by replacing that file. The
  // test's own link to /proc/self/fd/1 stands in for /dev/stdout (the same thing to linreg), so
  // that a regression replaces this link, never the machine's /dev/stdout.
  const std::string dev_stdout = w.dir.file("stdout-link");
  ASSERT_EQ(::symlink("/proc/self/fd/1", dev_stdout.c_str()), 0);
  r = run_linreg("generate --examples 3 --out " + sq(dev_stdout));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("x0,x1,y\n", 0), 0u) << r.out;
  EXPECT_EQ(count_lines(r.out), 4) << r.out;
  // ... and while stdout is a pipe.
  const std::string piped = w.dir.file("piped.csv");
  const std::string pipe_cmd =
      sq(binary_path()) + " generate --examples 3 --out " + sq(dev_stdout) + " </dev/null 2>/dev/null | cat > " + sq(piped);
  ASSERT_EQ(std::system(pipe_cmd.c_str()), 0);
  EXPECT_EQ(count_lines(read_file(piped)), 4) << read_file(piped);
  struct stat st {};
  ASSERT_EQ(::lstat(dev_stdout.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link to stdout was replaced";
  // train --save -: the model on stdout, the report on stderr.
  r = run_linreg(w.train("--save -"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"format\": \"linreg-model\""), std::string::npos);
  EXPECT_NE(r.err.find("model saved to stdout"), std::string::npos) << r.err;
  // With --json, stdout is taken: refused before any work.
  r = run_linreg(w.train("--save - --json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("stdout already carries the --json output"), std::string::npos) << r.err;
  // tutorial --plot -: the SVG on stdout, the walk-through on stderr.
  r = run_linreg("tutorial --section 4 --plot -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("<?xml", 0), 0u) << r.out.substr(0, 200);
  EXPECT_NE(r.out.find("</svg>"), std::string::npos);
  EXPECT_NE(r.err.find("4. Linear regression"), std::string::npos);
  // predict with no --out and with --out -: the predictions on stdout.
  const std::string model = w.dir.file("m.json");
  ASSERT_EQ(run_linreg(w.train("--save " + sq(model))).exit_code, 0);
  r = run_linreg("predict --model " + sq(model) + " --data " + sq(w.data) + " --out -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("prediction\n", 0), 0u);
  EXPECT_EQ(count_lines(r.out), 12);
}

TEST(Outputs, AFifoIsWrittenInPlaceAndOneNobodyReadsIsAnError) {
  TempDir dir;
  const std::string fifo = dir.file("out.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Nobody reads it: an error at once, not a wait forever.
  RunOutput r = run_linreg("generate --examples 3 --out " + sq(fifo));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nothing is reading this FIFO"), std::string::npos) << r.err;
  // With a reader, the CSV goes through it, and the FIFO stays a FIFO.
  const std::string got = dir.file("got.csv");
  r = run_linreg("generate --examples 3 --out " + sq(fifo), "cat " + sq(fifo) + " > " + sq(got) + " & sleep 0.2;");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (int i = 0; i < 100 && count_lines(read_file(got)) < 4; ++i) ::usleep(10000);
  EXPECT_EQ(count_lines(read_file(got)), 4) << read_file(got);
  struct stat st {};
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(Outputs, ANormalUserCanWriteToDevStdout) {
  if (::geteuid() != 0 || ::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs root and setpriv to run as nobody";
  TempDir dir;
  ::chmod(dir.path().c_str(), 0777);
  const std::string out = dir.file("out.csv");
  const std::string cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups '" + binary_path() +
                          "' generate --examples 3 --out /dev/stdout 2>/dev/null | cat > " + sq(out);
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string got = read_file(out);
  if (got.empty()) GTEST_SKIP() << "the binary is not reachable as nobody here";
  EXPECT_EQ(got.rfind("x0,x1,y\n", 0), 0u) << got;
  EXPECT_EQ(count_lines(got), 4);
}

TEST(Outputs, LongNamesWorkUpToTheFileSystemsLimit) {
  Workspace w;
  const long name_max = ::pathconf(w.dir.path().c_str(), _PC_NAME_MAX);
  if (name_max < 20 || name_max > 1000) GTEST_SKIP() << "unusual NAME_MAX " << name_max;
  // The longest legal name: the temporary file's name does not grow with it.
  const std::string longest(static_cast<size_t>(name_max - 5), 'n');
  RunOutput r = run_linreg(w.train("--save " + sq(w.dir.file(longest + ".json"))));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(w.dir.file(longest + ".json")).find("linreg-model"), std::string::npos);
  // One byte more is refused before any work, saying so.
  const std::string too_long(static_cast<size_t>(name_max + 1), 'n');
  r = run_linreg(w.train("--save " + sq(w.dir.file(too_long))));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("the file name is " + std::to_string(name_max + 1) + " bytes long"), std::string::npos) << r.err;
}

TEST(Outputs, EveryCommandChecksItsOutputsBeforeAnyWork) {
  TempDir dir;
  const std::string missing = dir.file("no/such/folder/");
  struct Case {
    std::string args, flag;
  };
  // Each would run for a long time if the path were checked only at the end.
  const std::vector<Case> cases = {
      {"generate --examples 200000000 --features 8 --out " + sq(missing + "d.csv"), "--out"},
      {"tutorial --plot " + sq(missing + "s.svg"), "--plot"},
      {"bench --device cpu --json " + sq(missing + "b.json"), "--json"},
      {"bench --device cpu --plot " + sq(missing + "b.svg"), "--plot"},
      {"train --device cpu --examples 100000 --epochs 100000 --save " + sq(missing + "m.json"), "--save"},
      {"train --device cpu --examples 100000 --epochs 100000 --plot " + sq(missing + "p.svg"), "--plot"},
  };
  for (const Case& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    const RunOutput r = run_linreg(c.args);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.flag + " '"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    EXPECT_LT(s, 5.0) << c.args;
  }
}

TEST(Outputs, RunsLeaveNoTemporaryFiles) {
  Workspace w;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(run_linreg(w.train("--save " + sq(w.dir.file("m.json")) + " --plot " + sq(w.dir.file("p.svg")))).exit_code, 0);
    ASSERT_EQ(run_linreg("generate --examples 10 --out " + sq(w.dir.file("g.csv"))).exit_code, 0);
  }
  // The named fallback (file systems without O_TMPFILE) is cleaned up too.
  ASSERT_EQ(run_linreg("generate --examples 10 --out " + sq(w.dir.file("g.csv")), "LINREG_NO_O_TMPFILE=1").exit_code, 0);
  EXPECT_TRUE(no_leftovers(w.dir.path(), {"data.csv", "g.csv", "m.json", "p.svg"}));
}

}  // namespace
}  // namespace linreg::test
