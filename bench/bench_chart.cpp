// The bench's SVG chart: samples/s against problem size, log-log, one line per device and
// strategy (and per PyTorch mode with --compare), drawn by the project's SVG module (host/plot).
#include "bench/bench_report.hpp"
#include "host/plot/svg_plot.hpp"

namespace linreg::bench {

std::string render_chart_svg(const Report& report) {
  plot::Chart chart;
  chart.title = "linreg bench: SGD samples/s by problem size (" + report.date.substr(0, 10) + ")";
  chart.x_label = "problem size: examples x features";
  chart.y_label = "samples/s (median epoch)";
  chart.log_x = true;
  chart.log_y = true;
  for (const ChartLine& line : chart_lines(report)) {
    plot::Series s;
    s.label = line.label;
    s.x = line.x;
    s.y = line.y;
    s.kind = decltype(s.kind)::Line;
    chart.series.push_back(std::move(s));
  }
  return plot::render_svg(chart);
}

}  // namespace linreg::bench
