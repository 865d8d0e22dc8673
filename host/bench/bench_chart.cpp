// The bench's SVG chart: samples/s against problem size, log-log, one line per device and
// strategy (and per PyTorch mode with --compare), drawn by the project's SVG module (host/plot).
#include "host/bench/bench_report.hpp"
#include "host/error.hpp"

// The plot module is built by its own folder's sources.cmake; a tree without it still builds the
// bench, and --plot then says why it cannot draw.
#if __has_include("host/plot/svg_plot.hpp")
#include "host/plot/svg_plot.hpp"
#define LINREG_BENCH_HAVE_PLOT 1
#else
#define LINREG_BENCH_HAVE_PLOT 0
#endif

namespace linreg::bench {

bool chart_supported() { return LINREG_BENCH_HAVE_PLOT != 0; }

std::string render_chart_svg(const Report& report) {
#if LINREG_BENCH_HAVE_PLOT
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
#else
  (void)report;
  throw InputError("--plot: this build has no SVG plot module (host/plot)");
#endif
}

}  // namespace linreg::bench
