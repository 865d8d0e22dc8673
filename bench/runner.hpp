// The bench runner: for every problem and every chosen device (and, on the GPU, every chosen
// strategy), generate the data once (untimed), train warm-up + timed epochs, and keep the
// per-epoch times the trainer reports (steady clock on the CPU, CUDA events on the GPU).
// Rows that do not fit in memory, or whose CPU run would pass the time budget, are scaled down
// or skipped, and the row says so in its note.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "bench/grid.hpp"
#include "bench/probes.hpp"
#include "host/core/config.hpp"

namespace linreg::bench {

struct Settings {
  std::vector<Problem> problems;
  std::string grid_name = "default";       // "default", "quick" or "custom"
  bool run_cpu = true;
  bool run_gpu = true;
  std::vector<Strategy> strategies;         // GPU strategies; empty: every one, auto included
  // Extra rows per problem and device, one per optimizer (docs/SGD.md), beside the plain step's
  // rows, on the same data and minibatches: the cost of each rule (on the GPU under the auto
  // strategy).
  std::vector<Optimizer> optimizers;
  int64_t warmup_epochs = 1;
  int64_t timed_epochs = 5;                 // at least; small rows run 4× as many
  double cpu_row_budget_seconds = 120;      // wall time per CPU row, data generation included
  double memory_fraction = 0.6;             // of the host's MemAvailable a CPU row may use
  double gpu_memory_fraction = 0.9;         // of the GPU's free memory a GPU row may use
  uint64_t seed = 42;
  std::ostream* progress = nullptr;         // one line per row as it runs (stderr), or none
};

// One device the bench ran on, and its copy bandwidth.
struct DeviceInfo {
  std::string device;                 // "cpu" or "gpu"
  std::string name;                   // CPU model or GPU name
  CopyProbe copy;                     // the yardstick: on the CPU the better of 1 and all threads
  std::optional<CopyProbe> copy_one_thread;  // CPU only
};

// One measured (or skipped) row: a problem on a device with a strategy.
struct Row {
  Problem problem;                    // as asked
  int64_t examples = 0;               // as run (smaller when scaled down)
  std::string device;                 // "cpu" or "gpu"
  std::string device_name;
  std::string strategy;               // asked: "cpu" on the CPU; auto|cublas|fused|persistent
  std::string strategy_ran;           // what the trainer ran (auto's choice)
  std::string optimizer = "plain";    // CPU rows: "plain" (the lab's step), or the optimizer timed
  double vs_plain = 0;                // optimizer rows: median epoch over the plain row's (NaN otherwise)
  bool skipped = false;
  std::string note;                   // why scaled, skipped or failed; empty otherwise
  float lr = 0;
  int64_t warmup_epochs = 0;
  std::vector<double> epoch_seconds;  // the timed epochs only
  double final_loss = 0;
  bool diverged = false;

  // Derived (derive_row / derive_speedups); NaN when not measurable.
  double median_epoch_seconds = 0;
  double min_epoch_seconds = 0;
  double problem_seconds = 0;         // median × problem.epochs
  double bytes_per_epoch = 0;
  double samples_per_second = 0;
  double bandwidth = 0;               // bytes/s
  double bandwidth_share = 0;         // of the device's copy bandwidth
  double speedup_vs_cpu = 0;          // GPU rows: samples/s over the CPU row's

  // --compare: PyTorch's per-epoch medians for the same shape and device (NaN when absent).
  double torch_eager_epoch_seconds = 0;
  double torch_graph_epoch_seconds = 0;
  double speedup_vs_torch_eager = 0;
  double speedup_vs_torch_graph = 0;
};

// A PyTorch reference measurement (--compare), the fastest for its key.
struct TorchRow {
  int64_t examples = 0, features = 0, batch = 0;
  std::string device;  // "cpu" or "gpu"
  std::string mode;    // "eager" or "graph"
  double epoch_seconds = 0;
};

struct Report {
  std::string date;                   // UTC, ISO 8601
  std::string grid_name;
  Settings settings;
  std::vector<DeviceInfo> devices;
  std::vector<Row> rows;
  std::vector<std::string> notes;     // bench-wide notes (no GPU, ...)
  std::string torch_source;           // --compare file, when given
  std::string torch_version;
  std::string torch_cpu_name, torch_gpu_name;
  std::vector<TorchRow> torch_rows;
};

// A stable learning rate for the bench's synthetic problems: the lab's 0.03 unless d/batch is
// so large that minibatch SGD on N(0,1) features would diverge (needs lr·(1 + d/B) well below 2).
float bench_lr(int64_t features, int64_t batch);

// The largest "nice" count (1, 2, 2.5 or 5 × 10^k) that is ≤ n; n itself when n < 10.
int64_t nice_floor(int64_t n);

// Host bytes a CPU row of n×d needs at its peak (generation holds X twice for a moment).
double cpu_row_bytes(int64_t examples, int64_t features);
// Device bytes a GPU row needs: the data, a permuted copy or generation scratch of the same
// size, and a margin for the trainer's own buffers.
double gpu_row_bytes(int64_t examples, int64_t features);

// Fills the derived fields of a row from its epoch times and the device's copy bandwidth.
void derive_row(Row& row, double copy_bandwidth);
// speedup_vs_cpu of every GPU row, from the CPU row of the same problem (by throughput).
void derive_speedups(std::vector<Row>& rows);

// Runs everything. Throws DeviceUnavailable / InputError for what cannot run at all; a row
// that fails is kept, skipped, with the reason in its note.
Report run_bench(const Settings& settings);

}  // namespace linreg::bench
