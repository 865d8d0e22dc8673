// Each subcommand registers itself on the root CLI11 app and leaves a runner behind; main()
// parses, runs the runner of the subcommand that was given, and is the only place that prints
// an error and chooses the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <functional>
#include <utility>
#include <vector>

#include "host/cli/flags.hpp"

namespace linreg::cli {

// The flag a configuration setting comes from (SettingError::setting → "--batch-size"); every
// command spells a setting with the same flag.
inline std::string flag_of_setting(const std::string& setting) {
  std::string flag = "--" + setting;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

using Runner = std::function<int()>;
using Commands = std::vector<std::pair<CLI::App*, Runner>>;

void add_train_command(CLI::App& root, Commands& cmds);      // host/cli/train_cmd.cpp
void add_tutorial_command(CLI::App& root, Commands& cmds);   // host/cli/tutorial_cmd.cpp
void add_bench_command(CLI::App& root, Commands& cmds);      // host/cli/bench_cmd.cpp
void add_generate_command(CLI::App& root, Commands& cmds);   // host/cli/generate_cmd.cpp
void add_predict_command(CLI::App& root, Commands& cmds);    // host/cli/predict_cmd.cpp

}  // namespace linreg::cli
