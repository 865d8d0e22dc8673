// The bench's arithmetic: medians, bytes per epoch, bandwidth and its share, throughput,
// speedups, the grid and --rows parsing, and the scaling helpers. Exact expected values: every
// case is a handful of float operations on representable numbers (relative 1e-12 allows for
// the divisions' rounding).
#include <gtest/gtest.h>

#include <cmath>

#include "bench/bench_math.hpp"
#include "bench/grid.hpp"
#include "bench/runner.hpp"
#include "host/core/error.hpp"

namespace linreg::bench {
namespace {

constexpr double kRel = 1e-12;

TEST(BenchMath, MedianOddEvenEmpty) {
  EXPECT_DOUBLE_EQ(median({3.0}), 3.0);
  EXPECT_DOUBLE_EQ(median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_DOUBLE_EQ(median({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_DOUBLE_EQ(median({9.0, 0.1, 0.2, 0.3, 100.0}), 0.3);  // outliers do not move it
  EXPECT_DOUBLE_EQ(median({2.0, 2.0, 2.0, 7.0}), 2.0);
  EXPECT_TRUE(std::isnan(median({})));
}

TEST(BenchMath, BytesPerEpochIsXPlusY) {
  EXPECT_DOUBLE_EQ(bytes_per_epoch(1000, 2), 1000.0 * 3 * 4);
  EXPECT_DOUBLE_EQ(bytes_per_epoch(1000000, 256), 1028000000.0);  // 1.03 GB per epoch: the figure the PyTorch reference runs use
  EXPECT_DOUBLE_EQ(bytes_per_epoch(10000000, 256), 10280000000.0);
  EXPECT_TRUE(std::isnan(bytes_per_epoch(0, 2)));
  EXPECT_TRUE(std::isnan(bytes_per_epoch(5, 0)));
}

TEST(BenchMath, BandwidthShareThroughputSpeedup) {
  EXPECT_NEAR(effective_bandwidth(1.028e9, 0.04), 25.7e9, 25.7e9 * kRel);
  EXPECT_TRUE(std::isnan(effective_bandwidth(1e9, 0)));
  EXPECT_TRUE(std::isnan(effective_bandwidth(1e9, -1)));
  EXPECT_DOUBLE_EQ(bandwidth_share(20e9, 40e9), 0.5);
  EXPECT_DOUBLE_EQ(bandwidth_share(60e9, 40e9), 1.5);  // cache-resident data may beat a DRAM copy
  EXPECT_TRUE(std::isnan(bandwidth_share(20e9, 0)));
  EXPECT_NEAR(samples_per_second(1000, 0.001), 1e6, 1e6 * kRel);
  EXPECT_TRUE(std::isnan(samples_per_second(1000, 0)));
  EXPECT_DOUBLE_EQ(speedup(50.0, 2.0), 25.0);
  EXPECT_TRUE(std::isnan(speedup(50.0, 0.0)));
  EXPECT_TRUE(std::isnan(speedup(NAN, 1.0)));
  // A copy of 1 GB in 0.1 s reads 1 GB and writes 1 GB: 20 GB/s.
  EXPECT_NEAR(copy_bandwidth(1e9, 0.1), 20e9, 20e9 * kRel);
}

TEST(BenchMath, DeriveRowFromEpochTimes) {
  Row row;
  row.problem = {1000, 2, 10, 3};
  row.examples = 1000;
  row.epoch_seconds = {0.3, 0.1, 0.2};
  derive_row(row, 120000.0);
  EXPECT_DOUBLE_EQ(row.median_epoch_seconds, 0.2);
  EXPECT_DOUBLE_EQ(row.min_epoch_seconds, 0.1);
  EXPECT_NEAR(row.problem_seconds, 0.6, 0.6 * kRel);
  EXPECT_DOUBLE_EQ(row.bytes_per_epoch, 12000.0);
  EXPECT_NEAR(row.bandwidth, 60000.0, 60000.0 * kRel);
  EXPECT_NEAR(row.bandwidth_share, 0.5, kRel);
  EXPECT_NEAR(row.samples_per_second, 5000.0, 5000.0 * kRel);
  EXPECT_TRUE(std::isnan(row.speedup_vs_cpu));

  Row skipped;
  skipped.problem = {1000, 2, 10, 3};
  skipped.examples = 1000;
  skipped.skipped = true;
  derive_row(skipped, 1e9);
  EXPECT_TRUE(std::isnan(skipped.median_epoch_seconds));
  EXPECT_TRUE(std::isnan(skipped.samples_per_second));
  EXPECT_TRUE(std::isnan(skipped.bandwidth_share));
}

TEST(BenchMath, GpuSpeedupOverCpuByThroughput) {
  auto make = [](const char* device, int64_t examples, double secs) {
    Row r;
    r.problem = {1000000, 16, 1024, 3};
    r.examples = examples;
    r.device = device;
    r.epoch_seconds = {secs};
    derive_row(r, 1e9);
    return r;
  };
  std::vector<Row> rows = {make("cpu", 1000000, 0.5), make("gpu", 1000000, 0.001)};
  derive_speedups(rows);
  EXPECT_TRUE(std::isnan(rows[0].speedup_vs_cpu));
  EXPECT_NEAR(rows[1].speedup_vs_cpu, 500.0, 500.0 * kRel);
  EXPECT_TRUE(rows[1].note.empty());

  // The CPU row was scaled down: the speedup is by samples/s, and the GPU row says so.
  std::vector<Row> scaled = {make("cpu", 500000, 0.25), make("gpu", 1000000, 0.001)};
  derive_speedups(scaled);
  EXPECT_NEAR(scaled[1].speedup_vs_cpu, 500.0, 500.0 * kRel);
  EXPECT_NE(scaled[1].note.find("CPU ran 500k"), std::string::npos) << scaled[1].note;

  // No CPU row for the problem: no speedup.
  std::vector<Row> alone = {make("gpu", 1000000, 0.001)};
  derive_speedups(alone);
  EXPECT_TRUE(std::isnan(alone[0].speedup_vs_cpu));
}

TEST(BenchGrid, DefaultAndQuickGrids) {
  const auto g = default_grid();
  ASSERT_EQ(g.size(), 5u);
  EXPECT_EQ(problem_label(g[0]), "1000x2 b10");
  EXPECT_EQ(g[0].epochs, 3);
  EXPECT_EQ(problem_label(g[1]), "100kx2 b10");
  EXPECT_EQ(problem_label(g[2]), "1Mx16 b1024");
  EXPECT_EQ(problem_label(g[3]), "1Mx256 b4096");
  EXPECT_EQ(problem_label(g[4]), "10Mx256 b65536");
  for (const auto& p : quick_grid()) EXPECT_LE(bytes_per_epoch(p.examples, p.features), 200e6) << problem_label(p);
}

TEST(BenchGrid, CountLabels) {
  EXPECT_EQ(count_label(10), "10");
  EXPECT_EQ(count_label(1000), "1000");
  EXPECT_EQ(count_label(100000), "100k");
  EXPECT_EQ(count_label(1000000), "1M");
  EXPECT_EQ(count_label(2500000), "2.5M");
  EXPECT_EQ(count_label(10000000), "10M");
  EXPECT_EQ(count_label(12345), "12345");
}

TEST(BenchGrid, RowsByNumberAndByShape) {
  const auto g = default_grid();
  auto rows = parse_rows("1,3", g);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(problem_label(rows[0]), "1000x2 b10");
  EXPECT_EQ(problem_label(rows[1]), "1Mx16 b1024");
  rows = parse_rows("1Mx16:b1024:e2, 200kx64:B256,1.5Mx8:b1k", g);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].examples, 1000000);
  EXPECT_EQ(rows[0].epochs, 2);
  EXPECT_EQ(rows[1].examples, 200000);
  EXPECT_EQ(rows[1].features, 64);
  EXPECT_EQ(rows[1].batch, 256);
  EXPECT_EQ(rows[1].epochs, 3);
  EXPECT_EQ(rows[2].examples, 1500000);
  EXPECT_EQ(rows[2].batch, 1000);
}

TEST(BenchGrid, BadRowsNameTheFlag) {
  const auto g = default_grid();
  for (const char* bad : {"0", "6", "abc", "10x2:b20", "10x2", "10x2:c5", "1,", "", "10x0:b1", "1000x2:b10:x3",
                          "1.5x2:b1", "3000000000x2:b10"}) {
    try {
      parse_rows(bad, g);
      ADD_FAILURE() << "accepted --rows '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--rows", 0), 0u) << e.what();
    }
  }
}

TEST(BenchPlan, NiceFloorAndLearningRate) {
  EXPECT_EQ(nice_floor(7), 7);
  EXPECT_EQ(nice_floor(10), 10);
  EXPECT_EQ(nice_floor(1999), 1000);
  EXPECT_EQ(nice_floor(2499), 2000);
  EXPECT_EQ(nice_floor(2500), 2500);
  EXPECT_EQ(nice_floor(6400000), 5000000);
  EXPECT_EQ(nice_floor(3000000), 2500000);
  EXPECT_EQ(nice_floor(10000000), 10000000);
  // The lab's rate on every default row; smaller where features outnumber the batch.
  for (const auto& p : default_grid()) EXPECT_FLOAT_EQ(bench_lr(p.features, p.batch), 0.03f) << problem_label(p);
  EXPECT_FLOAT_EQ(bench_lr(1024, 1), static_cast<float>(0.5 / 1025.0));
  // Memory estimates grow with the problem and include X twice at generation's peak.
  EXPECT_GT(cpu_row_bytes(1000000, 256), 2.0 * 1000000 * 256 * 4);
  EXPECT_GT(gpu_row_bytes(1000000, 256), bytes_per_epoch(1000000, 256));
  // Linear in the examples with a finite intercept (the scaling solves for n from both).
  for (auto bytes : {cpu_row_bytes, gpu_row_bytes}) {
    const double at0 = bytes(0, 256), at1 = bytes(1, 256), at2 = bytes(2, 256);
    EXPECT_TRUE(std::isfinite(at0));
    EXPECT_GT(at0, 0);
    EXPECT_NEAR(at2 - at1, at1 - at0, 1e-6);
    EXPECT_NEAR(bytes(1000, 256), at0 + 1000 * (at1 - at0), 1e-3);
  }
}

}  // namespace
}  // namespace linreg::bench
