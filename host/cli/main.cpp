// linreg: the command-line entry point. The only place that catches, prints and exits.
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>

#include "host/cli/commands.hpp"
#include "host/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"linreg: GPU-first linear regression by minibatch SGD (CUDA, with a CPU fallback)"};
  app.require_subcommand(1, 1);
  app.set_version_flag("--version", "linreg 0.1.0");
  linreg::cli::Commands cmds;
  linreg::cli::add_train_command(app, cmds);
  linreg::cli::add_tutorial_command(app, cmds);
  linreg::cli::add_bench_command(app, cmds);
  linreg::cli::add_generate_command(app, cmds);
  linreg::cli::add_predict_command(app, cmds);

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
    std::cerr << "linreg: error: " << e.what() << " (see linreg --help)\n";
    return 2;
  }

  try {
    for (auto& [sub, run] : cmds)
      if (sub->parsed()) return run();
    std::cerr << "linreg: error: no command given (see linreg --help)\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::cerr << "linreg: error: out of host memory; try fewer --examples or --features\n";
    return 1;
  } catch (const linreg::SettingError& e) {
    // Library code names the setting; the command line names the flag it came from.
    std::fflush(stdout);
    std::cerr << "linreg: error: " << linreg::cli::flag_of_setting(e.setting()) << ": " << e.what() << "\n";
    return 1;
  } catch (const linreg::DeviceUnavailable& e) {
    // Only --device gpu makes the GPU a requirement.
    std::fflush(stdout);
    std::cerr << "linreg: error: --device gpu: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "linreg: error: " << e.what() << "\n";
    return 1;
  }
}
