// A small SVG chart writer: scatter and line series on linear or log axes with nice ticks
// (1-2-5 steps, decades on log axes), axis labels, a legend when there is more than one series,
// and several charts laid out in a grid in one document. Non-finite points (and non-positive
// ones on a log axis) are skipped; large scatter series are thinned deterministically to at
// most kMaxScatterPoints so that files stay small. Output is standalone, valid XML (text is
// escaped), viewable in any browser. Write it with linreg::write_file_atomic.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace linreg::plot {

enum class SeriesKind { Scatter, Line };

struct Series {
  std::string label;
  std::vector<double> x, y;  // paired; the shorter length wins
  SeriesKind kind = SeriesKind::Line;
};

struct Chart {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<Series> series;
  int width = 640, height = 420;
};

// Scatter series above this many points are thinned to it (every k-th point, evenly spread).
inline constexpr std::size_t kMaxScatterPoints = 4000;
// Line series above this many points are thinned likewise (first and last kept).
inline constexpr std::size_t kMaxLinePoints = 8000;

std::string render_svg(const Chart& chart);                         // one standalone SVG document
std::string render_svg(const std::vector<Chart>& panels, int columns);  // several charts in a grid

// The tick positions used for an axis spanning [lo, hi] (exposed for tests): 1-2-5 multiples on
// a linear axis, powers of ten on a log axis (lo, hi > 0).
std::vector<double> nice_ticks(double lo, double hi, bool log_axis);

// Text with &, <, >, " and ' escaped for XML.
std::string xml_escape(const std::string& s);

}  // namespace linreg::plot
