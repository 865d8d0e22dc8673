// The bench runner (see runner.hpp). Timing is the trainer's own per-epoch figure
// (EpochReport::epoch_seconds: the SGD pass with its shuffle, evaluation excluded); data
// generation is never timed. The first `warmup_epochs` epochs of each fit are discarded.
#include "bench/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <tuple>

#include "bench/bench_math.hpp"
#include "host/core/error.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/permutation.hpp"
#include "host/train/trainer.hpp"

namespace linreg::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMiB = 1024.0 * 1024.0;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string gb(double bytes) {
  char buf[32];
  if (bytes < 1e9)
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  return buf;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void add_note(Row& row, const std::string& note) { row.note += (row.note.empty() ? "" : "; ") + note; }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Small rows are noisy and cheap: time four times as many epochs.
int64_t timed_epochs_for(const Problem& p, const Settings& s) {
  return bytes_per_epoch(p.examples, p.features) < 32 * kMiB ? 4 * s.timed_epochs : s.timed_epochs;
}

Row base_row(const Problem& p, const std::string& device, const std::string& device_name, const std::string& strategy) {
  Row row;
  row.problem = p;
  row.examples = p.examples;
  row.device = device;
  row.device_name = device_name;
  row.strategy = strategy;
  row.lr = bench_lr(p.features, p.batch);
  return row;
}

// Trains warm-up + timed epochs on the trainer's resident data and fills the row's times.
void time_fit(Trainer& trainer, const Settings& s, int64_t timed, Strategy strategy, Row& row,
              const Optimizer* optimizer = nullptr) {
  TrainOptions opt;
  if (optimizer) opt.optimizer = *optimizer;  // the rule's default settings (docs/SGD.md)
  opt.batch_size = row.problem.batch;
  opt.lr = row.lr;
  opt.epochs = s.warmup_epochs + timed;
  opt.seed = s.seed;
  opt.strategy = strategy;
  std::vector<double> times;
  const TrainResult res = trainer.fit(opt, [&](const EpochReport& r) { times.push_back(r.epoch_seconds); });
  row.strategy_ran = res.strategy;
  row.warmup_epochs = s.warmup_epochs;
  if (static_cast<int64_t>(times.size()) > s.warmup_epochs)
    row.epoch_seconds.assign(times.begin() + s.warmup_epochs, times.end());
  row.final_loss = res.epoch_losses.empty() ? kNaN : res.epoch_losses.back();
  row.diverged = res.diverged;
  if (res.diverged) {
    add_note(row, "diverged at epoch " + std::to_string(res.epochs_run) + " (lr " + fmt("%g", row.lr) +
                      "): only " + std::to_string(row.epoch_seconds.size()) + " timed epochs");
    if (row.epoch_seconds.empty()) row.skipped = true;
  }
}

void report_progress(const Settings& s, const Row& row) {
  if (!s.progress) return;
  std::ostream& os = *s.progress;
  os << "bench: " << problem_label(row.problem) << " on " << row.device;
  if (row.device == "gpu") os << " (" << row.strategy << ")";
  if (row.optimizer != "plain") os << " (" << row.optimizer << ")";
  if (row.skipped) {
    os << ": skipped: " << row.note << '\n';
  } else {
    const double med = median(row.epoch_seconds);
    os << ": " << fmt("%.4g", med * 1e3) << " ms/epoch (median of " << row.epoch_seconds.size() << ")";
    if (!row.note.empty()) os << "; " << row.note;
    os << '\n';
  }
  os.flush();
}

// --- CPU rows ---------------------------------------------------------------------------------

struct Plan {
  int64_t examples = 0;
  bool skip = false;
  std::vector<std::string> notes;
};

// The count of examples a budget of `bytes_or_seconds` allows at `per_example` each, rounded
// down to a nice number; 0 when not even one batch fits.
int64_t scaled_count(double allowance, double per_example, int64_t batch) {
  if (!(per_example > 0) || !(allowance > 0)) return 0;
  const double raw = std::floor(allowance / per_example);
  if (raw < static_cast<double>(batch)) return 0;
  const int64_t n = static_cast<int64_t>(std::min(raw, 2.0e9));
  return std::max(nice_floor(n), batch);
}

Plan plan_cpu_row(const Problem& p, const Settings& s, int64_t timed, double copy_bw) {
  Plan plan;
  plan.examples = p.examples;
  const int64_t d = p.features;

  // Memory: the peak of generation must fit in a share of what the host has available now.
  const double avail = static_cast<double>(host_available_memory());
  if (avail > 0) {
    const double usable = s.memory_fraction * avail;
    const double need = cpu_row_bytes(p.examples, d);
    if (need > usable) {
      const double per_example = cpu_row_bytes(2, d) - cpu_row_bytes(1, d);
      const int64_t n = scaled_count(usable - cpu_row_bytes(0, d), per_example, p.batch);
      const std::string why = gb(need) + " of host memory needed, " + gb(usable) + " usable (" +
                              fmt("%.0f", s.memory_fraction * 100) + "% of " + gb(avail) + " available)";
      if (n == 0) {
        plan.skip = true;
        plan.notes.push_back("skipped: " + why + ", and even one batch does not fit");
        return plan;
      }
      plan.notes.push_back("scaled from " + count_label(p.examples) + " to " + count_label(n) + " examples: " + why);
      plan.examples = n;
    }
  }

  // Time: a pilot on a slice of the row measures generation, one epoch and one evaluation per
  // example; epochs are never assumed faster than reading the data at the copy bandwidth.
  const int64_t n = plan.examples;
  const double values = static_cast<double>(n) * static_cast<double>(d + 1);
  if (values <= 4.0e6 || !(s.cpu_row_budget_seconds > 0)) return plan;
  const int64_t pilot_n =
      std::min(n, std::max<int64_t>(2 * p.batch, static_cast<int64_t>(4.0e6 / static_cast<double>(d + 1))));
  const auto t0 = Clock::now();
  std::unique_ptr<Trainer> trainer = make_cpu_trainer();
  SyntheticSpec spec;
  spec.examples = pilot_n;
  spec.features = d;
  spec.seed = s.seed;
  validate_synthetic(spec);
  trainer->generate(spec);
  const double gen_rate = seconds_since(t0) / static_cast<double>(pilot_n);
  TrainOptions opt;
  opt.batch_size = std::min(p.batch, pilot_n);
  opt.lr = bench_lr(d, p.batch);
  opt.epochs = 2;
  opt.seed = s.seed;
  std::vector<double> times;
  const TrainResult res = trainer->fit(opt, [&](const EpochReport& r) { times.push_back(r.epoch_seconds); });
  trainer.reset();
  const double epoch_rate = std::max(times.empty() ? 0.0 : times.back() / static_cast<double>(pilot_n),
                                     copy_bw > 0 ? bytes_per_epoch(1, d) / copy_bw : 0.0);
  const double eval_rate = res.epochs_run > 0 ? res.eval_seconds / static_cast<double>(res.epochs_run * pilot_n) : 0.0;
  const double epochs = static_cast<double>(s.warmup_epochs + timed);
  const double per_example = gen_rate + epochs * (epoch_rate + eval_rate);
  const double predicted = per_example * static_cast<double>(n);
  if (predicted <= s.cpu_row_budget_seconds) return plan;
  const int64_t scaled = scaled_count(s.cpu_row_budget_seconds, per_example, p.batch);
  const std::string why = "predicted " + fmt("%.0f", predicted) + " s at " + count_label(n) +
                          " examples (pilot run on " + count_label(pilot_n) + "), over the CPU budget of " +
                          fmt("%g", s.cpu_row_budget_seconds) + " s per row (--budget)";
  if (scaled == 0) {
    plan.skip = true;
    plan.notes.push_back("skipped: " + why);
    return plan;
  }
  if (scaled < n) {
    plan.notes.push_back("scaled from " + count_label(n) + " to " + count_label(scaled) + " examples: " + why);
    plan.examples = scaled;
  }
  return plan;
}

void run_cpu_problem(const Problem& p, const Settings& s, const DeviceInfo& dev, Report& rep) {
  Row row = base_row(p, "cpu", dev.name, "cpu");
  std::vector<Row> extra;
  const int64_t timed = timed_epochs_for(p, s);
  try {
    const Plan plan = plan_cpu_row(p, s, timed, dev.copy.bandwidth);
    for (const auto& n : plan.notes) add_note(row, n);
    row.examples = plan.examples;
    if (plan.skip) {
      row.skipped = true;
    } else {
      if (s.progress)
        *s.progress << "bench: " << problem_label(p) << " on cpu: generating " << count_label(row.examples) << "x"
                    << p.features << " (" << gb(bytes_per_epoch(row.examples, p.features)) << ")" << std::endl;
      std::unique_ptr<Trainer> trainer = make_cpu_trainer();
      SyntheticSpec spec;
      spec.examples = row.examples;
      spec.features = p.features;
      spec.seed = s.seed;
      validate_synthetic(spec);
      trainer->generate(spec);
      time_fit(*trainer, s, timed, Strategy::Auto, row);
      // The optimizers on the same data and minibatches. They run the CPU's general loop (the
      // plain row runs its specialised one), so the ratio is the whole cost of choosing the rule.
      for (Optimizer o : s.optimizers) {
        Row orow = base_row(p, "cpu", dev.name, "cpu");
        orow.examples = row.examples;
        orow.note = row.note;
        orow.optimizer = optimizer_name(o);
        time_fit(*trainer, s, timed, Strategy::Auto, orow, &o);
        report_progress(s, orow);
        extra.push_back(std::move(orow));
      }
    }
  } catch (const std::bad_alloc&) {
    row.skipped = true;
    add_note(row, "skipped: out of host memory");
  }
  report_progress(s, row);
  rep.rows.push_back(std::move(row));
  for (auto& r : extra) rep.rows.push_back(std::move(r));
}

// --- GPU rows ---------------------------------------------------------------------------------

void run_gpu_problem(const Problem& p, const Settings& s, const DeviceInfo& dev,
                     const std::vector<Strategy>& strategies, Report& rep) {
  std::vector<Row> rows;
  for (Strategy st : strategies) rows.push_back(base_row(p, "gpu", dev.name, strategy_name(st)));
  auto note_all = [&](const std::string& note, bool skip) {
    for (auto& r : rows) {
      add_note(r, note);
      r.skipped = r.skipped || skip;
    }
  };

  // Memory: the data and a same-sized scratch must fit in a share of the free device memory.
  int64_t n = p.examples;
  int64_t free_bytes = 0, total_bytes = 0;
  gpu_memory(&free_bytes, &total_bytes);
  const double usable = s.gpu_memory_fraction * static_cast<double>(free_bytes);
  const double need = gpu_row_bytes(n, p.features);
  bool skip = false;
  if (need > usable) {
    const double per_example = gpu_row_bytes(2, p.features) - gpu_row_bytes(1, p.features);
    const int64_t scaled = scaled_count(usable - gpu_row_bytes(0, p.features), per_example, p.batch);
    const std::string why = gb(need) + " of device memory needed, " + gb(usable) + " usable (" +
                            fmt("%.0f", s.gpu_memory_fraction * 100) + "% of " + gb(static_cast<double>(free_bytes)) +
                            " free)";
    if (scaled == 0) {
      note_all("skipped: " + why, true);
      skip = true;
    } else {
      note_all("scaled from " + count_label(n) + " to " + count_label(scaled) + " examples: " + why, false);
      n = scaled;
    }
  }
  for (auto& r : rows) r.examples = n;

  const int64_t timed = timed_epochs_for(p, s);
  std::vector<Row> extra;  // the optimizers' rows
  if (!skip) {
    std::unique_ptr<Trainer> trainer;
    try {
      trainer = make_gpu_trainer(0);
      SyntheticSpec spec;
      spec.examples = n;
      spec.features = p.features;
      spec.seed = s.seed;
      validate_synthetic(spec);
      trainer->generate(spec);
    } catch (const std::exception& e) {
      note_all(std::string("skipped: could not generate the data on the GPU: ") + e.what(), true);
      skip = true;
    }
    for (size_t k = 0; !skip && k < rows.size(); ++k) {
      try {
        time_fit(*trainer, s, timed, strategies[k], rows[k]);
      } catch (const InputError& e) {
        // The trainer turns down a strategy that does not fit the shape; its message names it.
        rows[k].skipped = true;
        add_note(rows[k], std::string("skipped: ") + e.what());
      } catch (const std::exception& e) {
        rows[k].skipped = true;
        add_note(rows[k], std::string("skipped: ") + strategy_name(strategies[k]) + " failed: " + e.what());
      }
      report_progress(s, rows[k]);
    }
    // The optimizers on the same data, under the auto strategy.
    for (size_t k = 0; !skip && k < s.optimizers.size(); ++k) {
      Row orow = base_row(p, "gpu", dev.name, strategy_name(Strategy::Auto));
      orow.examples = n;
      orow.optimizer = optimizer_name(s.optimizers[k]);
      try {
        time_fit(*trainer, s, timed, Strategy::Auto, orow, &s.optimizers[k]);
      } catch (const std::exception& e) {
        orow.skipped = true;
        add_note(orow, std::string("skipped: ") + e.what());
      }
      report_progress(s, orow);
      extra.push_back(std::move(orow));
    }
  }
  if (skip)
    for (const auto& r : rows) report_progress(s, r);
  for (auto& r : rows) rep.rows.push_back(std::move(r));
  for (auto& r : extra) rep.rows.push_back(std::move(r));
}

}  // namespace

float bench_lr(int64_t features, int64_t batch) {
  const double ratio = static_cast<double>(features) / static_cast<double>(std::max<int64_t>(batch, 1));
  return static_cast<float>(std::min(0.03, 0.5 / (1.0 + ratio)));
}

int64_t nice_floor(int64_t n) {
  if (n < 10) return n;
  int64_t decade = 1;
  while (decade <= n / 10) decade *= 10;
  // decade ≤ n < 10·decade; candidates in decreasing order.
  const int64_t candidates[] = {10 * decade, 5 * decade, 5 * decade / 2, 2 * decade, decade};
  for (int64_t c : candidates)
    if (c <= n) return c;
  return decade;
}

double cpu_row_bytes(int64_t examples, int64_t features) {
  // generate_synthetic_host: uniforms for X and the noise (n·d + n floats), then X copied out of
  // them (n·d), y (n), and the trainer's permutation (n uint32), plus 64 MiB for everything else.
  const double n = static_cast<double>(examples), d = static_cast<double>(features);
  return (2.0 * n * d + 3.0 * n) * 4.0 + 64 * kMiB;
}

double gpu_row_bytes(int64_t examples, int64_t features) {
  // X and y, plus a same-sized permuted copy or generation scratch; 256 MiB for the rest.
  const double n = static_cast<double>(examples), d = static_cast<double>(features);
  return 2.0 * n * (d + 1.0) * 4.0 + 256 * kMiB;
}

void derive_row(Row& row, double copy_bw) {
  row.median_epoch_seconds = median(row.epoch_seconds);
  row.min_epoch_seconds =
      row.epoch_seconds.empty() ? kNaN : *std::min_element(row.epoch_seconds.begin(), row.epoch_seconds.end());
  row.problem_seconds = row.median_epoch_seconds * static_cast<double>(row.problem.epochs);
  row.bytes_per_epoch = bytes_per_epoch(row.examples, row.problem.features);
  row.samples_per_second = samples_per_second(row.examples, row.median_epoch_seconds);
  row.bandwidth = effective_bandwidth(row.bytes_per_epoch, row.median_epoch_seconds);
  row.bandwidth_share = bandwidth_share(row.bandwidth, copy_bw);
  row.speedup_vs_cpu = kNaN;
  row.torch_eager_epoch_seconds = row.torch_graph_epoch_seconds = kNaN;
  row.speedup_vs_torch_eager = row.speedup_vs_torch_graph = kNaN;
}

void derive_speedups(std::vector<Row>& rows) {
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t>;
  auto key = [](const Problem& p) { return Key{p.examples, p.features, p.batch, p.epochs}; };
  // The plain rows by problem, device and the strategy that ran ("cpu" on the CPU), and the CPU
  // rows by problem and optimizer.
  std::map<std::tuple<Key, std::string, std::string>, const Row*> plain;
  std::map<std::pair<Key, std::string>, const Row*> cpu;
  for (const Row& r : rows) {
    if (r.skipped) continue;
    if (r.optimizer == "plain") plain.emplace(std::tuple{key(r.problem), r.device, r.strategy_ran}, &r);
    if (r.device == "cpu") cpu[{key(r.problem), r.optimizer}] = &r;
  }
  for (Row& r : rows) {  // an optimizer's epoch against the plain step's: same problem, data, device, kernel
    r.vs_plain = kNaN;
    if (r.skipped || r.optimizer == "plain") continue;
    const auto it = plain.find({key(r.problem), r.device, r.strategy_ran});
    if (it != plain.end() && it->second->median_epoch_seconds > 0)
      r.vs_plain = r.median_epoch_seconds / it->second->median_epoch_seconds;
  }
  for (Row& r : rows) {  // a GPU row against the CPU row of the same step rule
    if (r.device != "gpu" || r.skipped) continue;
    const auto it = cpu.find({key(r.problem), r.optimizer});
    if (it == cpu.end()) continue;
    r.speedup_vs_cpu = speedup(r.samples_per_second, it->second->samples_per_second);
    if (it->second->examples != r.examples)
      add_note(r, "speedup over the CPU by samples/s: the CPU ran " + count_label(it->second->examples) + " examples");
  }
}

Report run_bench(const Settings& s) {
  if (s.problems.empty()) throw InputError("--rows: no problems to run");
  if (s.timed_epochs < 1 || s.warmup_epochs < 0) throw InputError("--epochs must be at least 1 and --warmup at least 0");
  Report rep;
  rep.date = utc_now();
  rep.grid_name = s.grid_name;
  rep.settings = s;
  rep.settings.progress = nullptr;

  std::vector<Strategy> strategies = s.strategies;
  if (strategies.empty())
    strategies = {Strategy::Auto, Strategy::Cublas, Strategy::Fused, Strategy::Persistent};

bool gpu = false;
  if (s.run_gpu) {
    // Without CPU rows the GPU is required; with them it is optional (CPU rows only, noted).
    const Placement where = place(s.run_cpu ? DeviceChoice::Auto : DeviceChoice::Gpu);
    gpu = where.gpu != nullptr;
    if (!gpu) rep.notes.push_back(where.note);
  }

  // Copy bandwidth of each device, measured once at the start.
  DeviceInfo cpu_dev;
  if (s.run_cpu) {
    cpu_dev.device = "cpu";
    cpu_dev.name = cpu_model_name();
    const double avail = static_cast<double>(host_available_memory());
    // 256 MiB per buffer: far past any cache; less on a machine short of memory.
    int64_t bytes = 256 * 1024 * 1024;
    if (avail > 0 && avail / 8 < static_cast<double>(bytes)) bytes = std::max<int64_t>(16 << 20, static_cast<int64_t>(avail / 8));
    if (s.progress) *s.progress << "bench: measuring the CPU's copy bandwidth" << std::endl;
    cpu_dev.copy_one_thread = cpu_copy_bandwidth(bytes, 1, 7);
    const int threads = cpu_threads();
    cpu_dev.copy = *cpu_dev.copy_one_thread;
    if (threads > 1) {
      // The yardstick is the best copy the machine managed: on a busy or small machine one
      // thread can beat all of them.
      CopyProbe all = cpu_copy_bandwidth(bytes, threads, 7);
      if (all.bandwidth >= cpu_dev.copy.bandwidth) cpu_dev.copy = std::move(all);
    }
    rep.devices.push_back(cpu_dev);
  }
  DeviceInfo gpu_dev;
  if (gpu) {
    gpu_dev.device = "gpu";
    gpu_dev.name = probe_gpu().name;
    int64_t free_bytes = 0, total_bytes = 0;
    gpu_memory(&free_bytes, &total_bytes);
    const int64_t bytes = std::min<int64_t>(int64_t{1} << 30, free_bytes / 4);
    if (s.progress) *s.progress << "bench: measuring the GPU's copy bandwidth" << std::endl;
    gpu_dev.copy = gpu_copy_bandwidth(bytes, 10);
    rep.devices.push_back(gpu_dev);
  }

  for (const Problem& p : s.problems) {
    if (s.run_cpu) run_cpu_problem(p, s, cpu_dev, rep);
    if (gpu) run_gpu_problem(p, s, gpu_dev, strategies, rep);
  }

  for (Row& r : rep.rows) derive_row(r, r.device == "gpu" ? gpu_dev.copy.bandwidth : cpu_dev.copy.bandwidth);
  derive_speedups(rep.rows);
  return rep;
}

}  // namespace linreg::bench
