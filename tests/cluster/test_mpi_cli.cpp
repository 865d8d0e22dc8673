// `linreg train` under mpirun, end to end: 1, 2 and 3 ranks of this build's binary on this
// machine (oversubscribed: CI has 2 cores), against one process; bit-identical reruns; a rank
// with no rows; bad input ending the job with one line from rank 0; a killed rank ending the
// job within seconds. Skipped, with the reason, in a build without MPI or without mpirun.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "host/data/npy.hpp"
#include "host/io/atomic_file.hpp"
#include "support.hpp"

extern char** environ;

namespace linreg {
namespace {

using test::run_linreg;
using test::RunOutput;
using test::TempDir;

// mpirun as root (CI runs as root), more ranks than cores, and shared memory without the
// single-copy mechanism (containers often forbid the ptrace it needs).
const char* kMpirun = "mpirun --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none";

std::string skip_reason() {
#if !LINREG_HAVE_MPI
  return "this build has no MPI (libopenmpi-dev was not found at configure time)";
#else
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) return "mpirun is not installed (openmpi-bin)";
  return "";
#endif
}

#define SKIP_WITHOUT_MPI()                                   \
  do {                                                       \
    const std::string why = skip_reason();                   \
    if (!why.empty()) GTEST_SKIP() << why;                   \
  } while (0)

RunOutput mpi(int ranks, const std::string& args) {
  return run_linreg(args, std::string(kMpirun) + " -np " + std::to_string(ranks));
}

nlohmann::json json_of(const RunOutput& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << what << ": not JSON: " << r.out << r.err;
    return {};
  }
}

std::string npy_file(const TempDir& dir, const std::string& name, int64_t rows, int64_t cols) {
  const std::string path = dir.file(name);
  const RunOutput g = run_linreg("generate --examples " + std::to_string(rows) + " --features " +
                                 std::to_string(cols) + " --out '" + path + "'");
  EXPECT_EQ(g.exit_code, 0) << g.err;
  return path;
}

TEST(MpiCli, OneTwoAndThreeRanksTrainWhatOneProcessTrains) {
  SKIP_WITHOUT_MPI();
  TempDir dir;
  const std::string data = npy_file(dir, "d.npy", 203, 3);  // 203 rows: no rank count divides them
  // The last: every rank streams its shard from the file in parts (and one process the file).
  for (const std::string solver : {"sgd", "qr", "cholesky", "qr --memory-limit 2K"}) {
    const std::string args = "train --data '" + data + "' --solver " + solver + (solver == "sgd" ? " --epochs 3" : "") + " --json";
    const nlohmann::json one = json_of(run_linreg(args), "one process");
    for (int p : {1, 2, 3}) {
      const std::string at = solver + ", " + std::to_string(p) + " ranks";
      const nlohmann::json got = json_of(mpi(p, args), at);
      const auto w1 = one["w"].get<std::vector<double>>(), w = got["w"].get<std::vector<double>>();
      ASSERT_EQ(w.size(), w1.size()) << at;
      // One rank is one process. More: SGD's float32 weights may differ by the rounding the
      // thread-job test bounds (ShardedSgd, ~1e-5 at this size); the exact fit's doubles agree
      // far below its κ-based bound (κ ≈ 1 here).
      const double tol = p == 1 ? 0 : solver == "sgd" ? 1e-5 : 1e-12;
      for (size_t j = 0; j < w.size(); ++j) EXPECT_NEAR(w[j], w1[j], tol * (1 + std::fabs(w1[j]))) << at << " w" << j;
      EXPECT_NEAR(got["b"].get<double>(), one["b"].get<double>(), tol * (1 + std::fabs(one["b"].get<double>()))) << at;
      EXPECT_EQ(got["examples"], one["examples"]) << at;
      if (p > 1) {
        EXPECT_NE(got["device"].get<std::string>().find(std::to_string(p) + " ranks"), std::string::npos) << at;
      }
    }
  }
}

TEST(MpiCli, AGivenNumberOfRanksGivesTheSameBitsEveryRun) {
  SKIP_WITHOUT_MPI();
  TempDir dir;
  const std::string data = npy_file(dir, "d.npy", 500, 4);
  for (const std::string extra : {"--epochs 4", "--epochs 4 --optimizer adam --val-fraction 0.2 --standardize",
                                  "--solver qr", "--epochs 4 --memory-limit 2K"}) {  // the last: shards streamed
    const std::string args = "train --data '" + data + "' " + extra + " --json";
    const nlohmann::json a = json_of(mpi(3, args), extra), b = json_of(mpi(3, args), extra);
    EXPECT_EQ(a["w"], b["w"]) << extra;
    EXPECT_EQ(a["b"], b["b"]) << extra;
    EXPECT_EQ(a["epoch_losses"], b["epoch_losses"]) << extra;  // doubles, printed exactly
  }
}

TEST(MpiCli, ARankWithNoRowsStillTakesPart) {
  SKIP_WITHOUT_MPI();
  TempDir dir;
  // 4 rows on 3 ranks: shards of 2, 2 and 0 rows.
  const std::vector<double> m = {0, 1.0, 1, 3.1, 2, 4.9, 3, 7.0};
  const std::string data = dir.file("four.npy");
  write_file_atomic(data, data::format_npy(m.data(), 4, 2));
  for (const std::string solver : {"qr", "sgd --batch-size 2 --epochs 2"}) {
    const std::string args = "train --data '" + data + "' --solver " + solver + " --json";
    const nlohmann::json one = json_of(run_linreg(args), solver), three = json_of(mpi(3, args), solver);
    EXPECT_NEAR(three["w"][0].get<double>(), one["w"][0].get<double>(), 1e-6) << solver;
    EXPECT_NEAR(three["b"].get<double>(), one["b"].get<double>(), 1e-6) << solver;
  }
}

// One line naming what was wrong (rank 0's; mpirun's own report of the exit status may follow),
// a non-zero exit, nothing on stdout, and the model file not written.
void expect_one_error(const RunOutput& r, const std::string& needle, const std::string& save, const std::string& what) {
  EXPECT_NE(r.exit_code, 0) << what;
  EXPECT_EQ(r.out, "") << what;
  size_t lines = 0, at = 0;
  while ((at = r.err.find("linreg: error:", at)) != std::string::npos) {
    ++lines;
    ++at;
  }
  EXPECT_EQ(lines, 1u) << what << ":\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << what << ":\n" << r.err;
  EXPECT_FALSE(std::ifstream(save).good()) << what << ": the model file was written";
}

TEST(MpiCli, BadInputIsOneLineFromRankZero) {
  SKIP_WITHOUT_MPI();
  TempDir dir;
  const std::string good = npy_file(dir, "good.npy", 50, 2), save = dir.file("model.json");
  const std::string bytes = test::read_file(good);
  const std::string cut = dir.file("cut.npy");
  write_file_atomic(cut, bytes.substr(0, bytes.size() - 7));
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  write_file_atomic(dir.file("fortran.npy"), fortran);
  std::string ints = bytes;
  ints.replace(ints.find("<f4"), 3, "<i4");
  write_file_atomic(dir.file("ints.npy"), ints);
  const std::vector<float> y(49, 1.0f);
  write_file_atomic(dir.file("y49.npy"), data::format_npy(y.data(), 49, 0));
  const std::string tail = " --save '" + save + "'";
  expect_one_error(mpi(3, "train --data '" + cut + "'" + tail), "cut.npy", save, "truncated");
  expect_one_error(mpi(3, "train --data '" + dir.file("fortran.npy") + "'" + tail), "Fortran", save, "Fortran order");
  expect_one_error(mpi(3, "train --data '" + dir.file("ints.npy") + "'" + tail), "ints.npy", save, "int32");
  expect_one_error(mpi(2, "train --data '" + good + "' --labels '" + dir.file("y49.npy") + "'" + tail), "49 labels", save,
                   "X and y of different lengths");
  expect_one_error(mpi(3, "train --examples 2 --features 1 --solver qr" + tail), "2 rows for 3 ranks", save,
                   "more ranks than rows");
  // A non-finite value in the last rank's rows: the message names the row of the whole file.
  std::vector<double> m(60 * 2, 1.0);
  for (int i = 0; i < 60; ++i) m[i * 2] = i;
  m[55 * 2 + 1] = NAN;
  write_file_atomic(dir.file("nan.npy"), data::format_npy(m.data(), 60, 2));
  expect_one_error(mpi(3, "train --data '" + dir.file("nan.npy") + "' --solver qr" + tail), "row 56", save, "NaN");
  // Streamed shards: a validation split too large to draw within the limit, and GPU ranks asked
  // for where none can train (no GPU here; on a machine with one, ranks that would share it).
  const std::string big = npy_file(dir, "big.npy", 3000, 2);
  expect_one_error(mpi(3, "train --data '" + big + "' --memory-limit 2K --val-fraction 0.1" + tail), "--val-fraction",
                   save, "a split too large to draw");
  expect_one_error(mpi(3, "train --data '" + big + "' --memory-limit 2K --device gpu" + tail), "--device gpu", save,
                   "streamed shards on GPU ranks without usable GPUs");
}

TEST(MpiCli, WithoutTheModuleTheJobSaysSoAndOneProcessDoesNotNeedIt) {
  SKIP_WITHOUT_MPI();
  const std::string args = "train --examples 100 --features 2 --epochs 1";
  const RunOutput job = run_linreg(args, "env LINREG_MPI_MODULE=/nonexistent/liblinreg_mpi.so " + std::string(kMpirun) + " -np 2");
  EXPECT_NE(job.exit_code, 0);
  EXPECT_NE(job.err.find("started as rank 0 of 2 by mpirun, but the MPI module /nonexistent/liblinreg_mpi.so is missing"),
            std::string::npos)
      << job.err;
  // A single rank, or no launcher at all, never loads the module.
  EXPECT_EQ(run_linreg(args, "env LINREG_MPI_MODULE=/nonexistent/liblinreg_mpi.so " + std::string(kMpirun) + " -np 1").exit_code, 0);
  EXPECT_EQ(run_linreg(args, "env LINREG_MPI_MODULE=/nonexistent/liblinreg_mpi.so").exit_code, 0);
}

// The pids of mpirun's children that run linreg.
std::vector<pid_t> ranks_of(pid_t mpirun) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (const dirent* e = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos || line.find("(linreg)") == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == mpirun) out.push_back(pid);
  }
  ::closedir(proc);
  return out;
}

TEST(MpiCli, AKilledRankEndsTheJobWithinSeconds) {
  SKIP_WITHOUT_MPI();
  TempDir dir;
  const std::string err = dir.file("stderr");
  // Long enough to be killed mid-run: a few million rows, many epochs.
  const std::string cmd = "exec " + std::string(kMpirun) + " -np 3 '" + test::binary_path() +
                          "' train --examples 300000 --features 8 --epochs 100000 --quiet >/dev/null 2>'" + err + "'";
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  // In a process group of its own, so that every failure below can end the whole job.
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  pid_t sh = 0;
  const int spawned = ::posix_spawn(&sh, "/bin/sh", nullptr, &attr, const_cast<char**>(argv), environ);
  ::posix_spawnattr_destroy(&attr);
  ASSERT_EQ(spawned, 0);
  struct EndJob {
    pid_t group;
    ~EndJob() {
      ::kill(-group, SIGKILL);
      int st = 0;
      ::waitpid(group, &st, WNOHANG);
    }
  } end_job{sh};
  // `exec`: sh becomes mpirun, whose children are the ranks.
  std::vector<pid_t> ranks;
  const auto t0 = std::chrono::steady_clock::now();
  while (ranks.size() < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ranks = ranks_of(sh);
  }
  ASSERT_EQ(ranks.size(), 3u) << "the job did not start its ranks";
  std::this_thread::sleep_for(std::chrono::seconds(2));  // into training
  int status = 0;
  ASSERT_EQ(::waitpid(sh, &status, WNOHANG), 0) << "the job ended before the kill: " << test::read_file(err);
  ::kill(ranks.back(), SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  pid_t done = 0;
  while ((done = ::waitpid(sh, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() - killed < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (done == 0) FAIL() << "the job was still running 30 s after a rank was killed";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_LT(seconds, 10.0);
  EXPECT_TRUE(!WIFEXITED(status) || WEXITSTATUS(status) != 0) << "the job reported success";
  const std::string said = test::read_file(err);
  EXPECT_NE(said.find("signal 9"), std::string::npos) << said;
}

}  // namespace
}  // namespace linreg
