// The SVG chart writer: nice ticks, well-formed XML with escaped text, legends, skipped
// non-finite points, deterministic thinning, grids of panels, log axes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "host/plot/svg_plot.hpp"

namespace {

namespace P = linreg::plot;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// A small XML well-formedness check: balanced tags, quoted attributes, only known entities.
::testing::AssertionResult well_formed(const std::string& doc) {
  std::vector<std::string> stack;
  size_t i = 0;
  if (doc.rfind("<?xml", 0) == 0) i = doc.find("?>") + 2;
  while (i < doc.size()) {
    if (doc[i] == '&') {
      const size_t semi = doc.find(';', i);
      const std::string ent = semi == std::string::npos ? "" : doc.substr(i, semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
        return ::testing::AssertionFailure() << "bad entity at " << i << ": " << doc.substr(i, 10);
      i = semi + 1;
      continue;
    }
    if (doc[i] != '<') {
      if (doc[i] == '>') return ::testing::AssertionFailure() << "stray '>' at " << i;
      ++i;
      continue;
    }
    const size_t end = doc.find('>', i);
    if (end == std::string::npos) return ::testing::AssertionFailure() << "unterminated tag at " << i;
    std::string tag = doc.substr(i + 1, end - i - 1);
    if (count(tag, "\"") % 2 != 0) return ::testing::AssertionFailure() << "unbalanced quotes in <" << tag << ">";
    if (tag.find('<') != std::string::npos) return ::testing::AssertionFailure() << "'<' inside <" << tag << ">";
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name)
        return ::testing::AssertionFailure() << "closing </" << name << "> does not match <"
                                             << (stack.empty() ? "" : stack.back()) << ">";
      stack.pop_back();
    } else if (!tag.empty() && tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
    }
    i = end + 1;
  }
  if (!stack.empty()) return ::testing::AssertionFailure() << "unclosed <" << stack.back() << ">";
  return ::testing::AssertionSuccess();
}

P::Chart line_chart() {
  P::Chart c;
  c.title = "Loss";
  c.x_label = "epoch";
  c.y_label = "loss";
  P::Series s;
  s.label = "train";
  s.x = {1, 2, 3};
  s.y = {0.04, 0.0002, 0.00005};
  c.series.push_back(s);
  return c;
}

TEST(PlotTicks, LinearTicksAre125Multiples) {
  EXPECT_EQ(P::nice_ticks(0, 1, false), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  const std::vector<double> t = P::nice_ticks(-3.3, 17.2, false);
  ASSERT_GE(t.size(), 3u);
  EXPECT_LE(t.front(), -3.3);
  EXPECT_GE(t.back(), 17.2);
  const double step = t[1] - t[0];
  EXPECT_DOUBLE_EQ(step, 5);
  for (double lo : {1e-9, 0.37, 12.0, 1e7})
    for (double span : {1e-3, 0.7, 3.0, 250.0}) {
      const std::vector<double> tk = P::nice_ticks(lo, lo + span * lo, false);
      ASSERT_GE(tk.size(), 2u);
      EXPECT_LE(tk.size(), 12u) << lo << " " << span;
      const double st = tk[1] - tk[0];
      const double mant = st / std::pow(10.0, std::floor(std::log10(st) + 1e-9));
      EXPECT_TRUE(std::fabs(mant - 1) < 1e-6 || std::fabs(mant - 2) < 1e-6 || std::fabs(mant - 5) < 1e-6) << st;
    }
}

TEST(PlotTicks, LogTicksAreDecades) {
  EXPECT_EQ(P::nice_ticks(3, 4000, true), (std::vector<double>{1, 10, 100, 1000, 10000}));
  EXPECT_EQ(P::nice_ticks(5, 5, true), (std::vector<double>{1, 10}));
  const std::vector<double> wide = P::nice_ticks(1e-12, 1e12, true);  // thinned to every k-th decade
  EXPECT_LE(wide.size(), 10u);
  EXPECT_LE(wide.front(), 1e-12);
  EXPECT_GE(wide.back(), 1e12);
}

TEST(PlotSvg, SingleSeriesIsWellFormedWithoutLegend) {
  const std::string svg = P::render_svg(line_chart());
  EXPECT_TRUE(well_formed(svg));
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(count(svg, "<polyline"), 1u);
  EXPECT_EQ(count(svg, ">train</text>"), 0u) << "no legend for a single series";
  EXPECT_NE(svg.find(">epoch</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Loss</text>"), std::string::npos);
}

TEST(PlotSvg, TextIsEscapedAndLegendShown) {
  P::Chart c = line_chart();
  c.title = "a < b & \"c\" 'd' > e";
  P::Series s2 = c.series[0];
  s2.label = "<val>";
  s2.kind = P::SeriesKind::Scatter;
  c.series.push_back(s2);
  const std::string svg = P::render_svg(c);
  EXPECT_TRUE(well_formed(svg));
  EXPECT_NE(svg.find("a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt; e"), std::string::npos);
  EXPECT_NE(svg.find(">&lt;val&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">train</text>"), std::string::npos);
  EXPECT_EQ(P::xml_escape(std::string("x\x01y")), "x?y");
}

TEST(PlotSvg, DistinctColorsPerSeries) {
  P::Chart c = line_chart();
  for (int k = 0; k < 3; ++k) c.series.push_back(c.series[0]);
  const std::string svg = P::render_svg(c);
  EXPECT_NE(svg.find("#1f77b4"), std::string::npos);
  EXPECT_NE(svg.find("#ff7f0e"), std::string::npos);
  EXPECT_NE(svg.find("#2ca02c"), std::string::npos);
  EXPECT_NE(svg.find("#d62728"), std::string::npos);
}

TEST(PlotSvg, NonFinitePointsAreSkipped) {
  P::Chart c;
  P::Series s;
  s.kind = P::SeriesKind::Scatter;
  s.x = {1, 2, NAN, 4, 5};
  s.y = {1, INFINITY, 3, 4, -INFINITY};
  c.series.push_back(s);
  std::string svg = P::render_svg(c);
  EXPECT_TRUE(well_formed(svg));
  EXPECT_EQ(count(svg, "<circle"), 2u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  // A line breaks into pieces at the gaps.
  c.series[0].kind = P::SeriesKind::Line;
  c.series[0].x = {1, 2, 3, 4, 5, 6};
  c.series[0].y = {1, 2, NAN, 4, 5, 6};
  svg = P::render_svg(c);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  // Non-positive values are skipped on a log axis.
  c.log_y = true;
  c.series[0].y = {1, 0, -3, 10, 100, 1000};
  svg = P::render_svg(c);
  EXPECT_TRUE(well_formed(svg));
  EXPECT_EQ(count(svg, "<polyline"), 1u);  // 10, 100, 1000
  EXPECT_EQ(count(svg, "<circle"), 1u);    // the isolated 1 before the gap
}

TEST(PlotSvg, ManyScatterPointsAreThinnedDeterministically) {
  P::Chart c;
  P::Series s;
  s.kind = P::SeriesKind::Scatter;
  for (int i = 0; i < 100000; ++i) {
    s.x.push_back(i);
    s.y.push_back(std::sin(i * 0.001));
  }
  c.series.push_back(s);
  const std::string a = P::render_svg(c), b = P::render_svg(c);
  EXPECT_EQ(a, b);
  EXPECT_EQ(count(a, "<circle"), P::kMaxScatterPoints);
  EXPECT_LT(a.size(), 300000u);
}

TEST(PlotSvg, ThinningKeepsTheFirstAndLastPoints) {
  // 100001 points, the first and the last far outside the others (x = −1e6 and +1e6 around
  // 0..99999): the axis spans them, so they are drawn at the plot area's left and right edges
  // only if thinning kept them.
  P::Chart c;
  P::Series s;
  s.kind = P::SeriesKind::Scatter;
  s.x.push_back(-1e6);
  s.y.push_back(0);
  for (int i = 1; i < 100000; ++i) {
    s.x.push_back(i);
    s.y.push_back(std::sin(i * 0.001));
  }
  s.x.push_back(1e6);
  s.y.push_back(0);
  c.series.push_back(s);
  const std::string svg = P::render_svg(c);
  std::vector<double> cx;
  for (size_t p = svg.find("<circle cx=\""); p != std::string::npos; p = svg.find("<circle cx=\"", p + 1))
    cx.push_back(std::stod(svg.substr(p + 12)));
  ASSERT_EQ(cx.size(), P::kMaxScatterPoints);
  const double lo = *std::min_element(cx.begin(), cx.end()), hi = *std::max_element(cx.begin(), cx.end());
  // Each outlier is 1e6 from the bulk, half the x range: well clear of the other points.
  EXPECT_LT(lo, *std::min_element(cx.begin() + 1, cx.end()) - 0.04 * (hi - lo)) << "the first point was dropped";
  EXPECT_GT(hi, *std::max_element(cx.begin(), cx.end() - 1) + 0.04 * (hi - lo)) << "the last point was dropped";
}

TEST(PlotSvg, EmptyAndDegenerateCharts) {
  P::Chart c;
  EXPECT_TRUE(well_formed(P::render_svg(c)));
  P::Series s;
  s.x = {3};
  s.y = {3};
  c.series.push_back(s);
  const std::string one = P::render_svg(c);
  EXPECT_TRUE(well_formed(one));
  EXPECT_EQ(count(one, "<circle"), 1u) << "a lone point of a line series is still drawn";
  c.series[0].x = {1, 2, 3};
  c.series[0].y = {7, 7, 7};  // flat: the y range is padded, not divided by zero
  const std::string flat = P::render_svg(c);
  EXPECT_TRUE(well_formed(flat));
  EXPECT_EQ(flat.find("nan"), std::string::npos);
}

TEST(PlotSvg, PanelsInAGrid) {
  P::Chart a = line_chart(), b = line_chart();
  b.log_y = true;
  b.log_x = true;
  const std::string svg = P::render_svg(std::vector<P::Chart>{a, b, a}, 2);
  EXPECT_TRUE(well_formed(svg));
  EXPECT_EQ(count(svg, "<clipPath"), 3u);
  EXPECT_NE(svg.find("width=\"1280.0\" height=\"840.0\""), std::string::npos);  // 2 columns × 2 rows of 640×420
  EXPECT_NE(svg.find("translate(640.0,0.0)"), std::string::npos);
  EXPECT_NE(svg.find("translate(0.0,420.0)"), std::string::npos);
  EXPECT_NE(svg.find(">1e-5</text>"), std::string::npos) << "decade labels on the log axis";
  EXPECT_TRUE(well_formed(P::render_svg(std::vector<P::Chart>{}, 3)));
}

}  // namespace
