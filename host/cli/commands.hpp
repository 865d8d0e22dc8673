// Each subcommand registers itself on the root CLI11 app and leaves a runner behind; main()
// parses, runs the runner of the subcommand that was given, and is the only place that prints
// an error and chooses the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <functional>
#include <utility>
#include <vector>

namespace linreg::cli {

// For unsigned options such as --seed: CLI11 would read "-1" as 2^64 − 1, and its own
// NonNegativeNumber prints the whole range of a double. One clear message instead.
inline CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
          return "'" + value + "' is not a non-negative integer";
        errno = 0;
        std::strtoull(value.c_str(), nullptr, 10);
        if (errno == ERANGE) return "'" + value + "' is larger than 18446744073709551615";
        return {};
      },
      "UINT");
}

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
