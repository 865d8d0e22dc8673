// Presenting a bench run: the terminal table, the JSON document, the --compare join with the
// PyTorch reference's JSON (bench/pytorch_reference.py), and the series of the SVG chart.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "bench/runner.hpp"

namespace linreg::bench {

// The table (one line per row, notes below it) with the devices and their copy bandwidths above.
std::string format_table(const Report& report);

// The whole run: date, devices (names, copy bandwidths), settings, notes and every row.
// Numbers that could not be measured are null.
nlohmann::json report_json(const Report& report);

// Reads and checks a PyTorch reference file; throws InputError naming --compare and the file.
nlohmann::json load_compare_file(const std::string& path);
// Checks the shape of a parsed reference document (what load_compare_file checks after parsing).
void check_compare_json(const nlohmann::json& doc, const std::string& source);

// Adds PyTorch's per-epoch medians to every row with the same examples, features, batch size
// and device ("cpu" / "gpu"), and our speedup over each (PyTorch's time ÷ ours). When the
// reference has several rows for one key and mode (e.g. 1 and 2 threads), the fastest counts.
void join_compare(Report& report, const nlohmann::json& torch, const std::string& source);

// One line of the chart: samples/s against problem size (examples × features).
struct ChartLine {
  std::string label;
  std::vector<double> x;  // examples × features, ascending
  std::vector<double> y;  // samples/s
};
// One line per device and strategy, and per PyTorch device and mode when compared.
std::vector<ChartLine> chart_lines(const Report& report);

// The chart as an SVG document (host/plot); throws InputError when this build has no plot module.
std::string render_chart_svg(const Report& report);

}  // namespace linreg::bench
