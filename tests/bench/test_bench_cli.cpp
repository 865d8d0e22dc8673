// `linreg bench` through the real binary: a --quick CPU run (a few seconds), a short custom run
// with --json, --compare and --plot, and bad flags, each of which must exit non-zero with one
// clear line on stderr and nothing on stdout. The runs' numbers are checked for what they say:
// medians of the timed epochs, throughput and bandwidth derived from them, and the final loss of
// the problem the row names.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "host/train/device.hpp"
#include "bench/bench_report.hpp"
#include "host/core/config.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/trainer.hpp"
#include "support.hpp"

namespace linreg::test {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  nlohmann::json j;
  in >> j;
  return j;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The numbers of one bench row, checked by recomputing them from the row's own timings and the
// device's copy bandwidth (relative 1e-12: a handful of double operations each), and its final
// loss by training the same problem here (the CPU trainer is deterministic: bit for bit).
void expect_row_is_consistent(const nlohmann::json& row, const nlohmann::json& device, const nlohmann::json& settings) {
  const double kRel = 1e-12;
  const std::string label = std::to_string(row["examples"].get<int64_t>()) + "x" +
                            std::to_string(row["features"].get<int64_t>());
  std::vector<double> all = row["epoch_seconds_all"].get<std::vector<double>>();
  ASSERT_EQ(static_cast<int64_t>(all.size()), row["timed_epochs"].get<int64_t>()) << label;
  ASSERT_FALSE(all.empty()) << label;
  for (double t : all) EXPECT_GT(t, 0) << label;
  std::sort(all.begin(), all.end());
  const size_t k = all.size();
  const double median = k % 2 ? all[k / 2] : 0.5 * (all[k / 2 - 1] + all[k / 2]);
  const double secs = row["epoch_seconds"].get<double>();
  EXPECT_DOUBLE_EQ(secs, median) << label << ": epoch_seconds is the median of the timed epochs";
  EXPECT_DOUBLE_EQ(row["min_epoch_seconds"].get<double>(), all.front()) << label;
  const double n = row["examples"].get<double>(), d = row["features"].get<double>();
  const double bytes = n * (d + 1) * 4;  // X and y in float32, read once per epoch
  EXPECT_DOUBLE_EQ(row["bytes_per_epoch"].get<double>(), bytes) << label;
  EXPECT_NEAR(row["samples_per_second"].get<double>(), n / secs, kRel * n / secs) << label;
  EXPECT_NEAR(row["bandwidth_bytes_per_second"].get<double>(), bytes / secs, kRel * bytes / secs) << label;
  const double copy_bw = device["copy_bandwidth_bytes_per_second"].get<double>();
  EXPECT_NEAR(row["bandwidth_share"].get<double>(), bytes / secs / copy_bw, kRel * bytes / secs / copy_bw) << label;
  EXPECT_NEAR(row["problem_seconds"].get<double>(), secs * row["epochs"].get<double>(),
              kRel * secs * row["epochs"].get<double>())
      << label;

  SyntheticSpec spec;
  spec.examples = row["examples"].get<int64_t>();
  spec.features = row["features"].get<int64_t>();
  spec.seed = settings["seed"].get<uint64_t>();
  validate_synthetic(spec);
  auto t = make_cpu_trainer();
  t->generate(spec);
  TrainOptions opt;
  opt.batch_size = row["batch_size"].get<int64_t>();
  opt.lr = static_cast<float>(row["lr"].get<double>());
  opt.epochs = row["warmup_epochs"].get<int64_t>() + row["timed_epochs"].get<int64_t>();
  opt.seed = spec.seed;
  const std::string optimizer = row.value("optimizer", std::string("plain"));  // its default settings
  if (optimizer == "momentum") opt.optimizer = Optimizer::Momentum;
  if (optimizer == "adam") opt.optimizer = Optimizer::Adam;
  const TrainResult r = t->fit(opt);
  EXPECT_EQ(row["final_loss"].get<double>(), r.epoch_losses.back()) << label << ": the loss after the bench's epochs";
}

TEST(BenchCli, QuickCpuRun) {
  TempDir dir;
  const auto r = run_linreg("bench --quick --device cpu --json '" + dir.file("b.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ms/epoch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1000x2 b10"), std::string::npos) << r.out;
  const auto j = read_json(dir.file("b.json"));
  EXPECT_EQ(j["grid"], "quick");
  ASSERT_EQ(j["devices"].size(), 1u);
  EXPECT_EQ(j["devices"][0]["device"], "cpu");
  EXPECT_GT(j["devices"][0]["copy_bandwidth_bytes_per_second"].get<double>(), 1e8);
  ASSERT_EQ(j["rows"].size(), 4u);
  for (const auto& row : j["rows"]) {
    EXPECT_EQ(row["device"], "cpu");
    ASSERT_FALSE(row["skipped"].get<bool>()) << row["note"];
    EXPECT_GE(row["timed_epochs"].get<int>(), 5);
    // Every derived number follows from the row's timings; the loss of the two cheap rows (up
    // to 1e5 x 2) is recomputed by training the same problem here.
    if (row["examples"].get<int64_t>() * row["features"].get<int64_t>() <= 200000) {
      expect_row_is_consistent(row, j["devices"][0], j["settings"]);
    } else {
      std::vector<double> all = row["epoch_seconds_all"].get<std::vector<double>>();
      std::sort(all.begin(), all.end());
      EXPECT_GE(row["epoch_seconds"].get<double>(), all.front());
      EXPECT_LE(row["epoch_seconds"].get<double>(), all.back());
      EXPECT_NEAR(row["samples_per_second"].get<double>(),
                  row["examples"].get<double>() / row["epoch_seconds"].get<double>(),
                  1e-12 * row["samples_per_second"].get<double>());
    }
    EXPECT_TRUE(std::isfinite(row["final_loss"].get<double>()));
    // The lab's problem learns: after 6 epochs the half-MSE is near the noise floor (5e-5).
    if (row["examples"] == 1000) {
      EXPECT_LT(row["final_loss"].get<double>(), 1e-3);
    }
  }
}

TEST(BenchCli, CustomRowsCompareAndPlot) {
  TempDir dir;
  {
    std::ofstream t(dir.file("torch.json"));
    t << R"({"tool": "pytorch_reference", "torch_version": "test", "rows": [
      {"examples": 2000, "features": 4, "batch_size": 20, "epochs": 2, "device": "cpu", "mode": "eager",
       "epoch_seconds": 0.05}]})";
  }
  std::string args = "bench --device cpu --rows 2000x4:b20:e2 --epochs 5 --json '" + dir.file("b.json") +
                     "' --compare '" + dir.file("torch.json") + "'";
  args += " --plot '" + dir.file("b.svg") + "'";
  const auto r = run_linreg(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("torch eager ms"), std::string::npos) << r.out;
  const auto j = read_json(dir.file("b.json"));
  EXPECT_EQ(j["grid"], "custom");
  ASSERT_EQ(j["rows"].size(), 1u);
  const auto& row = j["rows"][0];
  EXPECT_EQ(row["examples"], 2000);
  EXPECT_EQ(row["epochs"], 2);
  EXPECT_EQ(row["features"], 4);
  EXPECT_EQ(row["batch_size"], 20);
  expect_row_is_consistent(row, j["devices"][0], j["settings"]);
  EXPECT_DOUBLE_EQ(row["torch_eager_epoch_seconds"].get<double>(), 0.05);
  EXPECT_NEAR(row["speedup_vs_torch_eager"].get<double>(), 0.05 / row["epoch_seconds"].get<double>(), 1e-9);
  const std::string svg = read_text(dir.file("b.svg"));
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("linreg cpu"), std::string::npos);
  EXPECT_NE(svg.find("PyTorch cpu eager"), std::string::npos);
}

TEST(BenchCli, OptimizerRowsSitBesideThePlainStep) {
  // --optimizers adds one CPU row per optimizer on the same problem: named, timed, its ratio to
  // the plain row's median epoch recomputed here, its final loss that of the rule (not the plain
  // step's), and no PyTorch comparison (the reference rows run the plain step).
  TempDir dir;
  const auto r = run_linreg("bench --device cpu --rows 2000x4:b20:e2 --epochs 5 --optimizers momentum,adam --json '" +
                            dir.file("b.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cpu momentum ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu adam ("), std::string::npos) << r.out;
  const auto j = read_json(dir.file("b.json"));
  ASSERT_EQ(j["rows"].size(), 3u);
  const auto& plain = j["rows"][0];
  EXPECT_EQ(plain["optimizer"], "plain");
  EXPECT_TRUE(plain["vs_plain"].is_null());
  for (int i = 1; i <= 2; ++i) {
    const auto& row = j["rows"][i];
    EXPECT_EQ(row["optimizer"], i == 1 ? "momentum" : "adam");
    expect_row_is_consistent(row, j["devices"][0], j["settings"]);
    EXPECT_NEAR(row["vs_plain"].get<double>(), row["epoch_seconds"].get<double>() / plain["epoch_seconds"].get<double>(),
                1e-9);
    EXPECT_NE(row["final_loss"], plain["final_loss"]);
  }
  const auto bad = run_linreg("bench --device cpu --rows 1 --optimizers rmsprop");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--optimizers: unknown optimizer 'rmsprop'"), std::string::npos) << bad.err;
}

TEST(BenchCliGpu, OptimizerRowsOnTheGpu) {
  // With a GPU the optimizers get GPU rows too, under the auto strategy, each with its ratio to
  // the plain row of the kernel that ran.
  const GpuProbe probe = probe_gpu();
  if (!probe.usable) GTEST_SKIP() << "no usable GPU: " << probe.reason;
  TempDir dir;
  const auto r = run_linreg("bench --device gpu --rows 20000x8:b64:e2 --epochs 5 --optimizers adam --json '" +
                            dir.file("b.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = read_json(dir.file("b.json"));
  int adam_rows = 0;
  for (const auto& row : j["rows"]) {
    if (row["optimizer"] != "adam") continue;
    ++adam_rows;
    EXPECT_EQ(row["device"], "gpu");
    EXPECT_GT(row["vs_plain"].get<double>(), 0) << row;
  }
  EXPECT_EQ(adam_rows, 1);
}

TEST(BenchCli, BadFlagsExitWithOneLine) {
  TempDir dir;
  {
    std::ofstream(dir.file("broken.json")) << "{not json";
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--device tpu", "--device"},
      {"--strategy warp", "--strategy"},
      {"--strategy fused,fused", "--strategy"},
      {"--epochs 2", "--epochs"},
      {"--epochs many", "--epochs"},
      {"--warmup 0", "--warmup"},
      {"--budget 0", "--budget"},
      {"--rows 9", "--rows"},
      {"--rows 10x2:b20", "--rows"},
      {"--plot chart.png", "--plot"},
      {"--json /nonexistent-dir/b.json", "--json"},
      {"--compare /nonexistent-dir/t.json", "--compare"},
      {"--compare '" + dir.file("broken.json") + "'", "--compare"},
      {"--frobnicate", "--frobnicate"},
  };
  for (const auto& [flags, named] : cases) {
    const auto r = run_linreg("bench --device cpu --rows 1 " + flags);
    EXPECT_NE(r.exit_code, 0) << flags;
    EXPECT_TRUE(r.out.empty()) << flags << ": " << r.out;
    EXPECT_EQ(count_lines(r.err), 1) << flags << ": " << r.err;
    EXPECT_EQ(r.err.rfind("linreg: error: ", 0), 0u) << flags << ": " << r.err;
    EXPECT_NE(r.err.find(named), std::string::npos) << flags << ": " << r.err;
  }
}

TEST(BenchCli, GpuWithoutAGpuSaysWhy) {
  if (probe_gpu().usable) GTEST_SKIP() << "a GPU is usable here";
  const auto r = run_linreg("bench --device gpu --rows 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("no usable GPU"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace linreg::test
