// `linreg tutorial [--section N] [--plot FILE.svg] [--show-cpp] [--seed S] [--device D]`: the
// lab's sections 2-5 in C++ (see host/tutorial/tutorial.hpp).
#include <iostream>
#include <memory>
#include <string>

#include "host/cli/commands.hpp"
#include "host/cli/output_plan.hpp"
#include "host/core/error.hpp"
#include "host/tutorial/tutorial.hpp"

namespace linreg::cli {

void add_tutorial_command(CLI::App& root, Commands& cmds) {
  auto opt = std::make_shared<tutorial::Options>();
  CLI::App* sub = root.add_subcommand(
      "tutorial", "Walk the lab's sections 2-5 with linreg's C++ Tensor library, printing each step as PyTorch does");
  sub->add_option("--section", opt->section, "only this section: 2 tensors, 3 autograd, 4 from scratch, 5 concise")
      ->transform(decimal_integer())
      ->check(CLI::Range(2, 5));
  sub->add_option("--plot", opt->plot_path,
                  "write section 4's scatter plot of feature 1 vs labels to this SVG file (- is stdout; the "
                  "walk-through then goes to stderr)");
  sub->add_flag("--show-cpp", opt->show_cpp, "print the C++ of each step under the lab's Python");
  auto device = std::make_shared<std::string>("auto");
  sub->add_option("--device", *device,
                  "auto | gpu | cpu: where the tensors live. auto and cpu: on the host, and section 2's Tensor on "
                  "GPU step runs on the GPU when one is usable (auto) or says why it is skipped; gpu: every "
                  "tensor of sections 2-5 on the GPU")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "gpu", "cpu"}));
  sub->add_option("--seed", opt->seed, "seed of the data, initial weights, shuffles and randn")->capture_default_str()
      ->transform(decimal_integer(true));
  cmds.emplace_back(sub, [opt, sub, device] {
    opt->device = *device == "gpu" ? DeviceChoice::Gpu : *device == "cpu" ? DeviceChoice::Cpu : DeviceChoice::Auto;
    OutputPlan outputs;
    if (sub->count("--plot")) {
      const std::string& p = opt->plot_path;
      if (p.empty()) throw UsageError("--plot: empty path");
      if (opt->section != 0 && opt->section != 4)
        throw UsageError("--plot: the scatter plot belongs to section 4 (use --section 4 or no --section)");
      // Checked before the walk-through runs; a file is named *.svg (stdout and devices need no name).
      outputs.add(p, "--plot");
      outputs.check();
      if (outputs.target("--plot")->kind == OutputTarget::Kind::File &&
          (p.size() < 4 || p.compare(p.size() - 4, 4, ".svg") != 0))
        throw UsageError("--plot " + terminal_text(p) + ": the plot is SVG; name the file *.svg");
    }
    std::ostream& out = outputs.report_stream();
    tutorial::run(*opt, out);
    out.flush();
    return 0;
  });
}

}  // namespace linreg::cli
