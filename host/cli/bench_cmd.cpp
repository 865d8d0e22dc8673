// `linreg bench`: CPU vs GPU (every strategy) SGD throughput on a grid of problems, as a table,
// JSON and an SVG chart, optionally beside PyTorch's figures (--compare). Flags are checked,
// and the --compare file read, before anything runs, so that a typo never costs a long run.

#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "bench/bench_report.hpp"
#include "bench/grid.hpp"
#include "bench/runner.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/output_plan.hpp"
#include "host/data/model_io.hpp"
#include "host/train/device.hpp"
#include "host/core/config.hpp"
#include "host/core/error.hpp"
#include "host/train/trainer.hpp"

namespace linreg::cli {
namespace {

struct BenchFlags {
  bool quick = false;
  std::string device = "all";
  std::string strategy = "all";
  std::string rows;
  int64_t epochs = 5;
  int64_t warmup = 1;
  double budget = 0;  // seconds; only used when --budget is given
  uint64_t seed = 42;
  std::string json, plot, compare;
  std::string optimizers;  // comma list, CPU rows beside the plain step
};

constexpr int64_t kMinTimedEpochs = 5;
constexpr double kDefaultBudget = 120, kQuickBudget = 15;

std::vector<Strategy> parse_strategies(const std::string& text) {
  const std::map<std::string, Strategy> names{{"auto", Strategy::Auto},
                                              {"cublas", Strategy::Cublas},
                                              {"fused", Strategy::Fused},
                                              {"persistent", Strategy::Persistent}};
  if (text == "all") return {};
  std::vector<Strategy> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto it = names.find(item);
    if (it == names.end())
      throw UsageError("--strategy: unknown strategy '" + item + "' (choose all or a comma list of auto|cublas|fused|persistent)");
    for (Strategy s : out)
      if (s == it->second) throw UsageError("--strategy: '" + item + "' is listed twice");
    out.push_back(it->second);
  }
  if (out.empty() || text.back() == ',')
    throw UsageError("--strategy: expected all or a comma list of auto|cublas|fused|persistent");
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run_bench_cmd(const BenchFlags& f, const CLI::App& sub) {
  bench::Settings s;
  const std::vector<bench::Problem> grid = f.quick ? bench::quick_grid() : bench::default_grid();
  s.grid_name = f.quick ? "quick" : "default";
  s.problems = grid;
  if (!f.rows.empty()) {
    s.problems = bench::parse_rows(f.rows, grid);
    s.grid_name = "custom";
  }
  if (f.device == "all") {
    s.run_cpu = s.run_gpu = true;
  } else if (f.device == "cpu") {
    s.run_cpu = true;
    s.run_gpu = false;
  } else if (f.device == "gpu") {
    s.run_cpu = false;
    s.run_gpu = true;
  } else if (f.device == "auto") {
    // The device `linreg train --device auto` would use: the GPU when usable, else the CPU
    // (run_bench notes why).
    s.run_gpu = true;
    s.run_cpu = !probe_gpu().usable;
  } else {
    throw UsageError("--device: unknown value '" + f.device + "' (choose all|auto|gpu|cpu)");
  }
  s.strategies = parse_strategies(f.strategy);
  if (!f.optimizers.empty()) {
    const std::map<std::string, Optimizer> names{{"sgd", Optimizer::Sgd},
                                                 {"momentum", Optimizer::Momentum},
                                                 {"nesterov", Optimizer::Nesterov},
                                                 {"adam", Optimizer::Adam},
                                                 {"adamw", Optimizer::AdamW}};
    std::stringstream ss(f.optimizers);
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto it = names.find(item);
      if (it == names.end())
        throw UsageError("--optimizers: unknown optimizer '" + item + "' (a comma list of sgd|momentum|nesterov|adam|adamw)");
      s.optimizers.push_back(it->second);
    }
    if (f.optimizers.back() == ',') throw UsageError("--optimizers: empty item at the end");
  }
  if (f.epochs < kMinTimedEpochs)
    throw UsageError("--epochs must be at least " + std::to_string(kMinTimedEpochs) + " (got " + std::to_string(f.epochs) +
                     "): a median of fewer timed epochs is not worth reporting");
  if (f.epochs > 10000) throw UsageError("--epochs must be at most 10000");
  if (f.warmup < 1 || f.warmup > 100) throw UsageError("--warmup must be between 1 and 100 (got " + std::to_string(f.warmup) + ")");
  s.timed_epochs = f.epochs;
  s.warmup_epochs = f.warmup;
  if (sub.count("--budget") && !(f.budget > 0))
    throw UsageError("--budget: must be a number of seconds > 0 (got " + shortest_text(f.budget) + ")");
  s.cpu_row_budget_seconds = sub.count("--budget") ? f.budget : (f.quick ? kQuickBudget : kDefaultBudget);
  s.seed = f.seed;
  s.progress = &std::cerr;

  // Outputs checked before minutes of timing: writable, distinct, at most one on stdout (then the
  // table goes to stderr).
  OutputPlan outputs;
  if (sub.count("--json")) outputs.add(f.json, "--json");
  if (sub.count("--plot")) {
    outputs.add(f.plot, "--plot");
    if (outputs.target("--plot")->kind == OutputTarget::Kind::File && !ends_with(f.plot, ".svg"))
      throw UsageError("--plot " + terminal_text(f.plot) + ": the chart is SVG; name the file *.svg");
  }
  if (!f.compare.empty()) outputs.add_input("--compare", f.compare);
  outputs.check();
  std::ostream& os = outputs.report_stream();
  nlohmann::json torch;
  if (!f.compare.empty()) torch = bench::load_compare_file(f.compare);

  bench::Report report = bench::run_bench(s);
  if (!f.compare.empty()) bench::join_compare(report, torch, f.compare);

  os << bench::format_table(report) << std::flush;
  if (!f.json.empty()) outputs.set("--json", data::json_text(bench::report_json(report), 2) + "\n");
  if (!f.plot.empty()) outputs.set("--plot", bench::render_chart_svg(report));
  outputs.commit();
  const auto where = [](const std::string& p) { return p == "-" ? std::string("stdout") : terminal_text(p); };
  if (!f.json.empty()) os << "wrote " << where(f.json) << '\n';
  if (!f.plot.empty()) os << "wrote " << where(f.plot) << '\n';
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& root, Commands& cmds) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* sub = root.add_subcommand(
      "bench", "Time SGD epochs on the CPU and the GPU (every strategy) over a grid of problems; table, JSON, SVG");
  sub->add_flag("--quick", f->quick, "a small grid (under a minute on a laptop CPU)");
  sub->add_option("--device", f->device,
                  "all | auto | gpu | cpu (all: every usable device; auto: the one `train` would use)")
      ->capture_default_str();
  sub->add_option("--strategy", f->strategy,
                  "GPU strategies to time: all, or a comma list of auto|cublas|fused|persistent")
      ->capture_default_str();
  sub->add_option("--rows", f->rows,
                  "grid rows by number (1,3) or problems NxD:bB[:eE] (e.g. 200kx64:b256:e3), comma-separated");
  sub->add_option("--epochs", f->epochs, "timed epochs per row, at least 5 (small rows time 4x as many)")
      ->capture_default_str()
      ->transform(decimal_integer());
  sub->add_option("--warmup", f->warmup, "untimed warm-up epochs per row")->capture_default_str()
      ->transform(decimal_integer());
  sub->add_option("--budget", f->budget,
                  "wall-clock seconds a CPU row may take, data generation included; larger rows are scaled "
                  "down with a note (default 120, 15 with --quick)")
      ->transform(decimal_number(false));
  sub->add_option("--seed", f->seed, "seed of the synthetic data and the shuffles")->capture_default_str()
      ->transform(decimal_integer(true));
  sub->add_option("--optimizers", f->optimizers,
                  "rows beside the plain step on each device, one per optimizer (comma list of "
                  "sgd|momentum|nesterov|adam|adamw, each with its default settings; the CPU's general loop, the GPU's "
                  "rule kernel under the auto strategy)");
  sub->add_option("--json", f->json,
                  "write every row, the device names and copy bandwidths to this JSON file (- is stdout; the table "
                  "then goes to stderr)");
  sub->add_option("--plot", f->plot, "write the samples/s chart to this SVG file (- is stdout)");
  sub->add_option("--compare", f->compare,
                  "JSON from bench/pytorch_reference.py: adds PyTorch's times and our speedup over them");
  cmds.emplace_back(sub, [f, sub] { return run_bench_cmd(*f, *sub); });
}

}  // namespace linreg::cli
