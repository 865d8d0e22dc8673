// SVG charts (see svg_plot.hpp). Each panel: a plot area with grid lines at the ticks, tick
// labels, axis labels, a title, the series clipped to the plot area, and a legend for more than
// one series. Coordinates are written with one decimal: pixel precision, small files.
#include "host/plot/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace linreg::plot {

namespace {

// Matplotlib's tab10: distinct, colour-blind-friendly enough, familiar.
const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string px(double v) { return fmt("%.1f", v); }

bool usable(double v, bool log_axis) { return std::isfinite(v) && (!log_axis || v > 0); }

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;     // data range after snapping to the outer ticks
  double p0 = 0, p1 = 1;     // pixel positions of lo and hi
  std::vector<double> ticks;
  double step = 1;           // linear tick step (for label precision)

  double t(double v) const { return log ? std::log10(v) : v; }
  double map(double v) const {
    const double a = t(lo), b = t(hi);
    return p0 + (t(v) - a) / (b - a) * (p1 - p0);
  }
};

Axis make_axis(const std::vector<const std::vector<double>*>& data, bool log_axis) {
  Axis ax;
  ax.log = log_axis;
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;
  for (const auto* v : data)
    for (double x : *v)
      if (usable(x, log_axis)) {
        mn = std::min(mn, x);
        mx = std::max(mx, x);
      }
  if (!(mn <= mx)) {  // no usable point
    mn = log_axis ? 1 : 0;
    mx = log_axis ? 10 : 1;
  }
  if (mn == mx) {
    if (log_axis) {
      mn /= 2;
      mx *= 2;
    } else {
      const double pad = mn == 0 ? 1 : std::fabs(mn) * 0.1;
      mn -= pad;
      mx += pad;
    }
  }
  ax.ticks = nice_ticks(mn, mx, log_axis);
  ax.lo = std::min(mn, ax.ticks.front());
  ax.hi = std::max(mx, ax.ticks.back());
  if (!log_axis && ax.ticks.size() > 1) ax.step = ax.ticks[1] - ax.ticks[0];
  return ax;
}

std::string tick_label(const Axis& ax, double v) {
  if (ax.log) {
    const int e = static_cast<int>(std::lround(std::log10(v)));
    if (e >= -3 && e <= 4) return fmt("%g", std::pow(10.0, e));
    return "1e" + std::to_string(e);
  }
  if (std::fabs(v) < ax.step * 1e-9) v = 0;
  const double big = std::max(std::fabs(ax.lo), std::fabs(ax.hi));
  if (big >= 1e6 || ax.step < 1e-4) return fmt("%.3g", v);
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(ax.step) + 1e-9)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Indices of the points drawn: all, or `cap` evenly spread ones (first and last kept).
std::vector<size_t> thin(size_t n, size_t cap) {
  std::vector<size_t> idx;
  if (n <= cap) {
    for (size_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (size_t k = 0; k < cap; ++k) idx.push_back(k * (n - 1) / (cap - 1));
  return idx;
}

void render_panel(const Chart& c, int panel, double x0, double y0, std::string& out) {
  const double w = std::max(c.width, 160), h = std::max(c.height, 120);
  const double left = 70, right = w - 30, top = c.title.empty() ? 16 : 36, bottom = h - 50;

  std::vector<const std::vector<double>*> xs, ys;
  for (const Series& s : c.series) {
    xs.push_back(&s.x);
    ys.push_back(&s.y);
  }
  Axis ax = make_axis(xs, c.log_x), ay = make_axis(ys, c.log_y);
  ax.p0 = left;
  ax.p1 = right;
  ay.p0 = bottom;
  ay.p1 = top;

  out += "<g transform=\"translate(" + px(x0) + "," + px(y0) + ")\">\n";
  const std::string clip = "plot-area-" + std::to_string(panel);
  out += "<clipPath id=\"" + clip + "\"><rect x=\"" + px(left) + "\" y=\"" + px(top) + "\" width=\"" +
         px(right - left) + "\" height=\"" + px(bottom - top) + "\"/></clipPath>\n";
  if (!c.title.empty())
    out += "<text x=\"" + px((left + right) / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" "
           "font-weight=\"bold\">" + xml_escape(c.title) + "</text>\n";

  // Grid and tick labels.
  out += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : ax.ticks)
    out += "<line x1=\"" + px(ax.map(t)) + "\" y1=\"" + px(top) + "\" x2=\"" + px(ax.map(t)) + "\" y2=\"" + px(bottom) + "\"/>\n";
  for (double t : ay.ticks)
    out += "<line x1=\"" + px(left) + "\" y1=\"" + px(ay.map(t)) + "\" x2=\"" + px(right) + "\" y2=\"" + px(ay.map(t)) + "\"/>\n";
  out += "</g>\n<g font-size=\"11\" fill=\"#333\">\n";
  for (double t : ax.ticks)
    out += "<text x=\"" + px(ax.map(t)) + "\" y=\"" + px(bottom + 16) + "\" text-anchor=\"middle\">" +
           xml_escape(tick_label(ax, t)) + "</text>\n";
  for (double t : ay.ticks)
    out += "<text x=\"" + px(left - 6) + "\" y=\"" + px(ay.map(t) + 4) + "\" text-anchor=\"end\">" +
           xml_escape(tick_label(ay, t)) + "</text>\n";
  out += "</g>\n";
  out += "<rect x=\"" + px(left) + "\" y=\"" + px(top) + "\" width=\"" + px(right - left) + "\" height=\"" +
         px(bottom - top) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  if (!c.x_label.empty())
    out += "<text x=\"" + px((left + right) / 2) + "\" y=\"" + px(h - 12) + "\" text-anchor=\"middle\" font-size=\"13\">" +
           xml_escape(c.x_label) + "</text>\n";
  if (!c.y_label.empty())
    out += "<text transform=\"translate(16," + px((top + bottom) / 2) + ") rotate(-90)\" text-anchor=\"middle\" "
           "font-size=\"13\">" + xml_escape(c.y_label) + "</text>\n";

  // Series.
  out += "<g clip-path=\"url(#" + clip + ")\">\n";
  for (size_t si = 0; si < c.series.size(); ++si) {
    const Series& s = c.series[si];
    const char* color = kColors[si % (sizeof kColors / sizeof kColors[0])];
    const size_t n = std::min(s.x.size(), s.y.size());
    std::vector<size_t> ok;
    for (size_t i = 0; i < n; ++i)
      if (usable(s.x[i], c.log_x) && usable(s.y[i], c.log_y)) ok.push_back(i);
    if (s.kind == SeriesKind::Scatter) {
      out += "<g fill=\"" + std::string(color) + "\" fill-opacity=\"0.75\">\n";
      for (size_t k : thin(ok.size(), kMaxScatterPoints)) {
        const size_t i = ok[k];
        out += "<circle cx=\"" + px(ax.map(s.x[i])) + "\" cy=\"" + px(ay.map(s.y[i])) + "\" r=\"1.8\"/>\n";
      }
      out += "</g>\n";
    } else {
      // Break the line where a point is unusable; thin very long lines.
      const std::vector<size_t> keep = thin(n, kMaxLinePoints);
      std::string pts;
      size_t npts = 0;
      auto flush = [&] {
        if (npts >= 2)
          out += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
        else if (npts == 1)  // an isolated point between gaps still shows, as a dot
          out += "<circle cx=\"" + pts.substr(0, pts.find(',')) + "\" cy=\"" + pts.substr(pts.find(',') + 1) +
                 "\" r=\"2.5\" fill=\"" + color + "\"/>\n";
        pts.clear();
        npts = 0;
      };
      for (size_t i : keep) {
        if (!usable(s.x[i], c.log_x) || !usable(s.y[i], c.log_y)) {
          flush();
          continue;
        }
        pts += (pts.empty() ? "" : " ") + px(ax.map(s.x[i])) + "," + px(ay.map(s.y[i]));
        ++npts;
      }
      flush();
    }
  }
  out += "</g>\n";

  // Legend.
  if (c.series.size() > 1) {
    size_t longest = 0;
    for (const Series& s : c.series) longest = std::max(longest, s.label.size());
    const double lw = 42 + 7.2 * static_cast<double>(std::min<size_t>(longest, 40));
    const double lh = 8 + 17 * static_cast<double>(c.series.size());
    const double lx = right - lw - 8, ly = top + 8;
    out += "<g font-size=\"12\">\n<rect x=\"" + px(lx) + "\" y=\"" + px(ly) + "\" width=\"" + px(lw) + "\" height=\"" +
           px(lh) + "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n";
    for (size_t si = 0; si < c.series.size(); ++si) {
      const char* color = kColors[si % (sizeof kColors / sizeof kColors[0])];
      const double yy = ly + 14 + 17 * static_cast<double>(si);
      if (c.series[si].kind == SeriesKind::Scatter)
        out += "<circle cx=\"" + px(lx + 15) + "\" cy=\"" + px(yy - 4) + "\" r=\"3.5\" fill=\"" + color + "\"/>\n";
      else
        out += "<line x1=\"" + px(lx + 6) + "\" y1=\"" + px(yy - 4) + "\" x2=\"" + px(lx + 24) + "\" y2=\"" + px(yy - 4) +
               "\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
      out += "<text x=\"" + px(lx + 30) + "\" y=\"" + px(yy) + "\">" + xml_escape(c.series[si].label) + "</text>\n";
    }
    out += "</g>\n";
  }
  out += "</g>\n";
}

std::string open_svg(double w, double h) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(w) +
         "\" height=\"" + px(h) + "\" viewBox=\"0 0 " + px(w) + " " + px(h) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, bool log_axis) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi < lo) std::swap(lo, hi);
  if (log_axis) {
    if (!(lo > 0)) return {1, 10};
    int e0 = static_cast<int>(std::floor(std::log10(lo) + 1e-12));
    int e1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-12));
    if (e1 <= e0) e1 = e0 + 1;
    const int k = std::max(1, (e1 - e0 + 7) / 8);  // at most ~9 labelled decades
    e1 = e0 + k * ((e1 - e0 + k - 1) / k);
    for (int e = e0; e <= e1; e += k) ticks.push_back(std::pow(10.0, e));
    return ticks;
  }
  if (hi == lo) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const double start = std::floor(lo / step + 1e-9), end = std::ceil(hi / step - 1e-9);
  for (double i = start; i <= end && ticks.size() < 100; i += 1) {
    double v = i * step;
    if (std::fabs(v) < step * 1e-9) v = 0;
    ticks.push_back(v);
  }
  if (ticks.size() < 2) ticks = {lo, hi};
  return ticks;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') out += '?';
        else out += ch;
    }
  }
  return out;
}

std::string render_svg(const Chart& chart) {
  const double w = std::max(chart.width, 160), h = std::max(chart.height, 120);
  std::string out = open_svg(w, h);
  render_panel(chart, 0, 0, 0, out);
  return out + "</svg>\n";
}

std::string render_svg(const std::vector<Chart>& panels, int columns) {
  if (panels.empty()) return open_svg(640, 420) + "</svg>\n";
  const size_t cols = static_cast<size_t>(std::max(1, std::min<int>(columns, static_cast<int>(panels.size()))));
  const size_t rows = (panels.size() + cols - 1) / cols;
  double cw = 0, ch = 0;
  for (const Chart& c : panels) {
    cw = std::max(cw, static_cast<double>(std::max(c.width, 160)));
    ch = std::max(ch, static_cast<double>(std::max(c.height, 120)));
  }
  std::string out = open_svg(cw * static_cast<double>(cols), ch * static_cast<double>(rows));
  for (size_t i = 0; i < panels.size(); ++i)
    render_panel(panels[i], static_cast<int>(i), cw * static_cast<double>(i % cols), ch * static_cast<double>(i / cols), out);
  return out + "</svg>\n";
}

}  // namespace linreg::plot
