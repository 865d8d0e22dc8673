// The bench's presentation: the JSON document's shape, the --compare join with PyTorch's JSON,
// the chart's lines and the terminal table. Built from hand-made reports, so nothing is timed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "bench/bench_report.hpp"
#include "host/core/error.hpp"

namespace linreg::bench {
namespace {

Row measured(const Problem& p, const char* device, const char* strategy, std::vector<double> secs) {
  Row r;
  r.problem = p;
  r.examples = p.examples;
  r.device = device;
  r.device_name = std::string(device) == "cpu" ? "Test CPU" : "Test GPU";
  r.strategy = strategy;
  r.strategy_ran = std::string(strategy) == "auto" ? "fused" : strategy;
  r.lr = 0.03f;
  r.warmup_epochs = 1;
  r.epoch_seconds = std::move(secs);
  return r;
}

Report sample_report() {
  Report rep;
  rep.date = "2026-11-27T00:00:00Z";
  rep.grid_name = "custom";
  DeviceInfo cpu;
  cpu.device = "cpu";
  cpu.name = "Test CPU";
  cpu.copy.bandwidth = 40e9;
  cpu.copy.bytes = 1 << 20;
  cpu.copy.threads = 2;
  cpu.copy.seconds = {1e-4};
  cpu.copy_one_thread = cpu.copy;
  DeviceInfo gpu;
  gpu.device = "gpu";
  gpu.name = "Test GPU";
  gpu.copy.bandwidth = 4e12;
  gpu.copy.bytes = 1 << 30;
  gpu.copy.seconds = {5e-4};
  rep.devices = {cpu, gpu};
  const Problem lab{1000, 2, 10, 3}, big{1000000, 256, 4096, 3};
  rep.rows.push_back(measured(lab, "cpu", "cpu", {2e-5, 1e-5, 3e-5}));
  rep.rows.push_back(measured(lab, "gpu", "auto", {2e-6, 2e-6, 2e-6}));
  rep.rows.push_back(measured(big, "cpu", "cpu", {0.06}));
  rep.rows.back().examples = 500000;
  rep.rows.back().note = "scaled from 1M to 500k examples: test";
  Row failed = measured(big, "gpu", "persistent", {});
  failed.skipped = true;
  failed.note = "skipped: persistent failed: too large";
  rep.rows.push_back(failed);
  for (Row& r : rep.rows) derive_row(r, r.device == "gpu" ? gpu.copy.bandwidth : cpu.copy.bandwidth);
  derive_speedups(rep.rows);
  return rep;
}

nlohmann::json torch_doc() {
  return nlohmann::json::parse(R"({
    "tool": "pytorch_reference", "torch_version": "2.11.0",
    "device_names": {"cpu": "Test CPU", "gpu": "Test GPU"},
    "rows": [
      {"examples": 1000, "features": 2, "batch_size": 10, "epochs": 3, "device": "cpu", "mode": "eager",
       "threads": 1, "epoch_seconds": 0.012},
      {"examples": 1000, "features": 2, "batch_size": 10, "epochs": 3, "device": "cpu", "mode": "eager",
       "threads": 2, "epoch_seconds": 0.010},
      {"examples": 1000, "features": 2, "batch_size": 10, "epochs": 3, "device": "cuda", "mode": "eager",
       "epoch_seconds": 0.08},
      {"examples": 1000, "features": 2, "batch_size": 10, "epochs": 3, "device": "gpu", "mode": "graph",
       "epoch_seconds": 0.006},
      {"examples": 1000000, "features": 256, "batch_size": 4096, "epochs": 3, "device": "cpu", "mode": "eager",
       "epoch_seconds": 1.4},
      {"examples": 1000000, "features": 256, "batch_size": 4096, "epochs": 3, "device": "gpu", "mode": "graph",
       "epoch_seconds": null, "skipped": true}
    ]})");
}

TEST(BenchJson, ShapeAndNulls) {
  const Report rep = sample_report();
  const nlohmann::json j = report_json(rep);
  EXPECT_EQ(j["tool"], "linreg bench");
  EXPECT_EQ(j["date"], rep.date);
  EXPECT_EQ(j["device_names"]["cpu"], "Test CPU");
  EXPECT_EQ(j["device_names"]["gpu"], "Test GPU");
  ASSERT_EQ(j["devices"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["devices"][0]["copy_bandwidth_bytes_per_second"].get<double>(), 40e9);
  EXPECT_TRUE(j["devices"][0].contains("copy_bandwidth_one_thread_bytes_per_second"));
  EXPECT_FALSE(j["devices"][1].contains("copy_bandwidth_one_thread_bytes_per_second"));
  ASSERT_EQ(j["rows"].size(), 4u);
  for (const auto& r : j["rows"])
    for (const char* key : {"examples", "requested_examples", "features", "batch_size", "epochs", "device",
                            "device_name", "strategy", "strategy_ran", "skipped", "note", "epoch_seconds",
                            "epoch_seconds_all", "timed_epochs", "samples_per_second", "bytes_per_epoch",
                            "bandwidth_bytes_per_second", "bandwidth_share", "speedup_vs_cpu", "problem_seconds"})
      EXPECT_TRUE(r.contains(key)) << key;
  const auto& lab_cpu = j["rows"][0];
  EXPECT_DOUBLE_EQ(lab_cpu["epoch_seconds"].get<double>(), 2e-5);
  EXPECT_EQ(lab_cpu["timed_epochs"], 3);
  EXPECT_TRUE(lab_cpu["speedup_vs_cpu"].is_null());
  EXPECT_NEAR(j["rows"][1]["speedup_vs_cpu"].get<double>(), 10.0, 1e-9);
  EXPECT_EQ(j["rows"][1]["strategy_ran"], "fused");
  EXPECT_EQ(j["rows"][2]["examples"], 500000);
  EXPECT_EQ(j["rows"][2]["requested_examples"], 1000000);
  const auto& skipped = j["rows"][3];
  EXPECT_TRUE(skipped["skipped"].get<bool>());
  EXPECT_TRUE(skipped["epoch_seconds"].is_null());
  EXPECT_TRUE(skipped["samples_per_second"].is_null());
  EXPECT_FALSE(skipped["note"].get<std::string>().empty());
  EXPECT_FALSE(j.contains("compare"));
  EXPECT_FALSE(lab_cpu.contains("torch_eager_epoch_seconds"));
  // Round-trips as text (no NaN or infinity reaches the file).
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);
}

TEST(BenchCompare, JoinsByShapeAndDeviceTakingTheFastest) {
  Report rep = sample_report();
  join_compare(rep, torch_doc(), "torch.json");
  EXPECT_EQ(rep.torch_version, "2.11.0");
  const Row& lab_cpu = rep.rows[0];
  EXPECT_DOUBLE_EQ(lab_cpu.torch_eager_epoch_seconds, 0.010);  // the faster of 1 and 2 threads
  EXPECT_TRUE(std::isnan(lab_cpu.torch_graph_epoch_seconds));
  EXPECT_NEAR(lab_cpu.speedup_vs_torch_eager, 0.010 / 2e-5, 1e-9);
  const Row& lab_gpu = rep.rows[1];
  EXPECT_DOUBLE_EQ(lab_gpu.torch_eager_epoch_seconds, 0.08);  // "cuda" is read as "gpu"
  EXPECT_DOUBLE_EQ(lab_gpu.torch_graph_epoch_seconds, 0.006);
  EXPECT_NEAR(lab_gpu.speedup_vs_torch_graph, 3000.0, 1e-6);
  // Our CPU row ran 500k examples: PyTorch's 1M row is not the same problem.
  EXPECT_TRUE(std::isnan(rep.rows[2].torch_eager_epoch_seconds));
  EXPECT_TRUE(std::isnan(rep.rows[3].speedup_vs_torch_graph));  // skipped on both sides

  const nlohmann::json j = report_json(rep);
  EXPECT_EQ(j["compare"]["source"], "torch.json");
  EXPECT_NEAR(j["rows"][0]["speedup_vs_torch_eager"].get<double>(), 500.0, 1e-9);
  EXPECT_TRUE(j["rows"][2]["torch_eager_epoch_seconds"].is_null());
  EXPECT_TRUE(j["rows"][0]["speedup_vs_torch_graph"].is_null());
}

TEST(BenchCompare, RejectsMalformedReferences) {
  Report rep = sample_report();
  const std::vector<std::string> bad = {
      R"([1, 2])",
      R"({"rows": 3})",
      R"({"rows": [{"features": 2, "batch_size": 10, "device": "cpu", "mode": "eager", "epoch_seconds": 1}]})",
      R"({"rows": [{"examples": 10, "features": 2, "batch_size": 10, "device": "cpu", "epoch_seconds": 1}]})",
      R"({"rows": [{"examples": 10, "features": 2, "batch_size": 10, "device": "cpu", "mode": "eager"}]})",
      R"({"rows": [{"examples": 0, "features": 2, "batch_size": 10, "device": "cpu", "mode": "eager", "epoch_seconds": 1}]})",
  };
  for (const auto& text : bad) {
    try {
      join_compare(rep, nlohmann::json::parse(text), "t.json");
      ADD_FAILURE() << "accepted " << text;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--compare t.json: ", 0), 0u) << e.what();
    }
  }
  EXPECT_THROW(load_compare_file("/nonexistent/torch.json"), InputError);
}

TEST(BenchChart, OneLinePerDeviceAndStrategyAscending) {
  Report rep = sample_report();
  rep.rows.push_back(measured({100000, 2, 10, 1}, "cpu", "cpu", {1e-3}));
  derive_row(rep.rows.back(), 40e9);
  join_compare(rep, torch_doc(), "torch.json");
  const auto lines = chart_lines(rep);
  std::map<std::string, ChartLine> by;
  for (const auto& l : lines) by[l.label] = l;
  ASSERT_TRUE(by.count("linreg cpu"));
  ASSERT_TRUE(by.count("linreg gpu auto->fused"));
  EXPECT_FALSE(by.count("linreg gpu persistent"));  // skipped rows draw nothing
  const auto& cpu = by["linreg cpu"];
  ASSERT_EQ(cpu.x.size(), 3u);
  EXPECT_TRUE(std::is_sorted(cpu.x.begin(), cpu.x.end()));
  EXPECT_DOUBLE_EQ(cpu.x[0], 2000.0);
  EXPECT_DOUBLE_EQ(cpu.y[0], 1000.0 / 2e-5);
  ASSERT_TRUE(by.count("PyTorch cpu eager"));
  EXPECT_EQ(by["PyTorch cpu eager"].x.size(), 1u);  // its 1M row matches no row we ran
  ASSERT_TRUE(by.count("PyTorch gpu graph"));
  EXPECT_DOUBLE_EQ(by["PyTorch gpu graph"].y[0], 1000.0 / 0.006);
}

TEST(BenchTable, ColumnsNotesAndCompare) {
  Report rep = sample_report();
  std::string t = format_table(rep);
  for (const char* s : {"problem", "ms/epoch", "samples/s", "GB/s", "% copy", "vs CPU", "auto->fused", "1000x2 b10",
                        "1Mx256 b4096 (500k)", "[1] scaled from 1M", "skipped [2]", "Test CPU", "Test GPU", "40.0 GB/s",
                        "4.00 TB/s"})
    EXPECT_NE(t.find(s), std::string::npos) << s << "\n" << t;
  EXPECT_EQ(t.find("torch eager"), std::string::npos);
  join_compare(rep, torch_doc(), "torch.json");
  t = format_table(rep);
  for (const char* s : {"torch eager ms", "torch graph ms", "vs eager", "vs graph", "torch 2.11.0", "500x"})
    EXPECT_NE(t.find(s), std::string::npos) << s << "\n" << t;
}

}  // namespace
}  // namespace linreg::bench
