// linreg: the command-line entry point. The only place that catches, prints and exits.
//
// Exit status: 0 success; 1 the run failed (a file, the data, the device, a write, divergence);
// 2 the command line is wrong (an unknown command or flag, a malformed or out-of-range value,
// flags that conflict); 128 + N when killed by signal N (temporary files are removed first).
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "host/cli/commands.hpp"
#include "host/cli/output_plan.hpp"
#include "host/core/error.hpp"

namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

int fail(int status, const std::string& message) {
  std::fflush(stdout);
  std::cout.flush();
  // A path or a name in the message may hold a newline, an escape sequence or bytes that are not
  // UTF-8: the message stays one terminal-safe line.
  std::cerr << "linreg: error: " << linreg::cli::terminal_text(message) << '\n';
  return status;
}

}  // namespace

int main(int argc, char** argv) {
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

  try {
    for (auto& [sub, run] : cmds)
      if (sub->parsed()) return run();
    return fail(kUsage, "no command given (see linreg --help)");
  } catch (const std::bad_alloc&) {
    return fail(kFailed, "out of host memory (the data or the problem is too large for this machine)");
  } catch (const linreg::SettingError& e) {
    // Library code names the setting; the command line names the flag it came from.
    return fail(kUsage, linreg::cli::flag_of_setting(e.setting()) + ": " + e.what());
  } catch (const linreg::cli::UsageError& e) {
    return fail(kUsage, e.what());
  } catch (const linreg::DeviceUnavailable& e) {
    // Only --device gpu makes the GPU a requirement.
    return fail(kFailed, std::string("--device gpu: ") + e.what());
  } catch (const std::exception& e) {
    return fail(kFailed, e.what());
  }
}
