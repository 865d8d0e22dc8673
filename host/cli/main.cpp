// linreg: the command-line entry point. The only place that catches, prints and exits.
//
// Exit status: 0 success; 1 the run failed (a file, the data, the device, a write, divergence);
// 2 the command line is wrong (an unknown command or flag, a malformed or out-of-range value,
// flags that conflict); 128 + N when killed by signal N (temporary files are removed first).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "host/cli/commands.hpp"
#include "host/cli/output_plan.hpp"
#include "host/cluster/cluster.hpp"
#include "host/core/error.hpp"

namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

// Where errors go: stderr, or for a rank other than 0 of a job, the stderr it was started with
// (its ordinary output is silenced: rank 0 alone reports).
int g_error_fd = STDERR_FILENO;

int fail(int status, const std::string& message) {
  std::fflush(stdout);
  std::cout.flush();
  // A path or a name in the message may hold a newline, an escape sequence or bytes that are not
  // UTF-8: the message stays one terminal-safe line.
  std::cerr << "linreg: error: " << linreg::cli::terminal_text(message) << '\n';
  return status;
}

// The exit status and the message of an error.
int classify(const std::exception_ptr& e, std::string& message) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    message = "out of host memory (the data or the problem is too large for this machine)";
    return kFailed;
  } catch (const linreg::SettingError& x) {
    // Library code names the setting; the command line names the flag it came from.
    message = linreg::cli::flag_of_setting(x.setting()) + ": " + x.what();
    return kUsage;
  } catch (const linreg::cli::UsageError& x) {
    message = x.what();
    return kUsage;
  } catch (const linreg::DeviceUnavailable& x) {
    // Only --device gpu makes the GPU a requirement.
    message = std::string("--device gpu: ") + x.what();
    return kFailed;
  } catch (const linreg::InputError& x) {
    message = x.what();
    return kFailed;
  } catch (const std::exception& x) {
    message = x.what();
    return kFailed;
  } catch (...) {
    message = "unknown error";
    return kFailed;
  }
}

// Ranks other than 0 of a launcher's job print nothing (rank 0 reports for the job); their
// stderr is kept aside for an error only they have, which ends the job.
void silence_other_ranks() {
  const linreg::LaunchInfo launch = linreg::launch_info();
  if (launch.size <= 1 || launch.rank == 0) return;
  const int saved = ::dup(STDERR_FILENO);
  const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved < 0 || null < 0) return;
  g_error_fd = saved;
  ::dup2(null, STDOUT_FILENO);
  ::dup2(null, STDERR_FILENO);
  ::close(null);
}

// An error that happened on this rank alone, in a job of several: the other ranks may be
// waiting for this one in a collective, so the whole job ends now, with the rank named.
[[noreturn]] void abort_job(int status, const std::string& message) {
  const linreg::Communicator& comm = linreg::join_cluster();
  const std::string line = "linreg: error: rank " + std::to_string(comm.rank()) + " of " + std::to_string(comm.size()) +
                           ": " + linreg::cli::terminal_text(message) + "\n";
  std::fflush(stdout);
  std::cout.flush();
  std::cerr.flush();
  [[maybe_unused]] const ssize_t w = ::write(g_error_fd, line.data(), line.size());
  comm.abort(status);
  std::_Exit(status);  // abort does not return; this says so to the compiler
}

}  // namespace

int main(int argc, char** argv) {
  silence_other_ranks();
  CLI::App app{"linreg: GPU-first linear regression by minibatch SGD (CUDA, with a CPU fallback)"};
  app.require_subcommand(1, 1);
  app.set_version_flag("--version", "linreg 0.1.0");
  app.footer(
      "Exit status: 0 success; 1 the run failed (a file, the data, the device, a write, divergence); "
      "2 the command line is wrong (unknown command or flag, malformed or out-of-range value, conflicting flags); "
      "128+N killed by signal N. '-' as a file name means stdout (stdin for --data).");
  linreg::cli::Commands cmds;
  linreg::cli::add_train_command(app, cmds);
  linreg::cli::add_tutorial_command(app, cmds);
  linreg::cli::add_bench_command(app, cmds);
  linreg::cli::add_generate_command(app, cmds);
  linreg::cli::add_predict_command(app, cmds);

  // A first word that is neither a flag nor a command is a mistyped command (CLI11 alone would
  // say "A subcommand is required").
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto& [sub, run] : cmds) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) return fail(kUsage, "unknown command '" + std::string(argv[1]) + "' (choose " + names + "; see linreg --help)");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, naming what was wrong; nothing on stdout.
    return fail(kUsage, std::string(e.what()) + " (see linreg " + (argc > 1 && argv[1][0] != '-' ? argv[1] + std::string(" ") : "") + "--help)");
  }

  int status = 0;
  try {
    status = kUsage;
    bool ran = false;
    for (auto& [sub, run] : cmds)
      if (sub->parsed()) {
        ran = true;
        status = run();
        break;
      }
    if (!ran) status = fail(kUsage, "no command given (see linreg --help)");
  } catch (...) {
    std::exception_ptr e = std::current_exception();
    bool agreed = false;
    int origin = 0;
    try {
      std::rethrow_exception(e);
    } catch (const linreg::AgreedError& a) {  // every rank of the job has it: rank 0 reports
      agreed = true;
      origin = a.rank();
      e = a.cause();
    } catch (...) {
    }
    std::string message;
    status = classify(e, message);
    if (linreg::in_cluster() && !agreed) abort_job(status, message);
    bool names_row = false;  // data errors name the row of the whole data: no rank needed
    try {
      std::rethrow_exception(e);
    } catch (const linreg::InputError&) {
      names_row = true;
    } catch (...) {
    }
    if (agreed && origin != 0 && !names_row) message = "rank " + std::to_string(origin) + ": " + message;
    fail(status, message);
  }
  linreg::leave_cluster();
  return status;
}
