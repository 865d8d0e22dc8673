// Every step of PyTorch's reference output (tests/fixtures/pytorch-reference.txt: what PyTorch
// prints for the lab's deterministic steps, recorded by running the lab's code) is one test case: `linreg tutorial` must print the
// same expression and, character for character, the same result. Plus the command itself.
// The GPU step (2.36, derived from PyTorch's printing rules: the file says why) runs only where a
// GPU is usable; here its text is checked against the formatting of the same values tagged as
// cuda:0, and the one-line skip note against the device probe.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "host/tensor/tensor.hpp"
#include "host/tutorial/tutorial.hpp"
#include "support.hpp"

namespace {

using linreg::tutorial::Step;

struct RefStep {
  std::string id, expr, output;
};

std::vector<RefStep> load_reference() {
  const std::string path = ::linreg::test::source_path("tests/fixtures/pytorch-reference.txt");
  std::ifstream in(path);
  std::vector<RefStep> steps;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) == 0) continue;  // a note about the reference, not PyTorch's output
    if (line.rfind("## ", 0) == 0) {
      const size_t colon = line.find(": ");
      steps.push_back({line.substr(3, colon - 3), line.substr(colon + 2), ""});
    } else if (!steps.empty()) {
      steps.back().output += (steps.back().output.empty() ? "" : "\n") + line;
    }
  }
  for (RefStep& s : steps)  // a blank line before the next header is not part of the output
    while (!s.output.empty() && s.output.back() == '\n') s.output.pop_back();
  return steps;
}

// Sections 2 and 3 run once; their steps by id.
const std::map<std::string, Step>& tutorial_steps() {
  static const std::map<std::string, Step> steps = [] {
    std::map<std::string, Step> m;
    linreg::tutorial::Options opt;
    for (int section : {2, 3})
      for (Step& s : linreg::tutorial::run_section(section, opt, nullptr)) m[s.id] = s;
    return m;
  }();
  return steps;
}

// The step that needs a GPU; the others are the CPU tutorial's.
constexpr const char* kGpuStep = "2.36";

std::vector<RefStep> cpu_reference() {
  std::vector<RefStep> out;
  for (const RefStep& s : load_reference())
    if (s.id != kGpuStep) out.push_back(s);
  return out;
}

RefStep gpu_reference() {
  for (const RefStep& s : load_reference())
    if (s.id == kGpuStep) return s;
  return {};
}

class TutorialReference : public ::testing::TestWithParam<RefStep> {};

TEST_P(TutorialReference, MatchesPyTorch) {
  const RefStep& ref = GetParam();
  const auto it = tutorial_steps().find(ref.id);
  ASSERT_NE(it, tutorial_steps().end()) << "the tutorial has no step " << ref.id;
  EXPECT_EQ(it->second.expr, ref.expr) << "step " << ref.id;
  EXPECT_EQ(it->second.output, ref.output) << "step " << ref.id << ": " << ref.expr;
}

std::string step_name(const ::testing::TestParamInfo<RefStep>& info) {
  std::string n = "step_" + info.param.id;
  for (char& c : n)
    if (c == '.') c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Steps, TutorialReference, ::testing::ValuesIn(cpu_reference()), step_name);

TEST(TutorialReferenceFile, HasEveryStep) {
  // Guards the parser: the reference holds 35 CPU steps of section 2, the GPU step, and 17 of
  // section 3.
  const std::vector<RefStep> ref = cpu_reference();
  ASSERT_EQ(ref.size(), 52u);
  EXPECT_EQ(load_reference().size(), 53u);
  EXPECT_EQ(ref.front().id, "2.1");
  EXPECT_EQ(ref.back().id, "3.17");
  EXPECT_EQ(ref[5].output.find("\n\n") != std::string::npos, true) << "2.6 keeps its blank line between blocks";
}

// The GPU step's reference is what the Tensor library prints for those values on cuda:0 (the
// formatting half of the step, checked without a GPU), and, where a GPU is usable, the tutorial
// prints exactly it.
TEST(TutorialGpuStep, ReferenceMatchesThePrintingRules) {
  namespace T = linreg::tensor;
  const RefStep ref = gpu_reference();
  ASSERT_EQ(ref.id, kGpuStep);
  EXPECT_EQ(ref.expr, linreg::tutorial::gpu_step_expr());
  const T::Tensor x = T::tensor({1.0, 2, 4, 8});
  const T::Tensor z = x + T::ones_like(x);
  EXPECT_EQ(T::repr_as(z, T::Device("cuda")) + "\n" + T::repr(z.to("cpu", T::kDouble)), ref.output);
  const auto it = tutorial_steps().find(kGpuStep);
  if (!T::cuda::is_available()) {
    EXPECT_EQ(it, tutorial_steps().end()) << "the GPU step ran without a GPU";
  } else {
    ASSERT_NE(it, tutorial_steps().end());
    EXPECT_EQ(it->second.expr, ref.expr);
    EXPECT_EQ(it->second.output, ref.output);
  }
}

TEST(TutorialGpuStep, SkipsInOneLineWithoutAGpu) {
  namespace T = linreg::tensor;
  if (T::cuda::is_available()) GTEST_SKIP() << "a GPU is usable: the step runs (TutorialGpuStep.ReferenceMatches...)";
  const linreg::test::RunOutput r = linreg::test::run_linreg("tutorial --section 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string line = "# Tensor on GPU: skipped, torch.cuda.is_available() is False here: no usable GPU (" +
                           T::cuda::unavailable_reason() + ")\n";
  EXPECT_NE(r.out.find("tensor([[1., 1., 1.],\n        [1., 1., 1.]], dtype=torch.float64)\n" + line),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("## 2.36"), std::string::npos);
  EXPECT_EQ(r.out.substr(r.out.size() - line.size()), line) << "the note ends section 2";
  // --device cpu: the same walk-through, the step skipped because it was asked.
  const linreg::test::RunOutput c = linreg::test::run_linreg("tutorial --section 2 --device cpu");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out.substr(0, c.out.rfind("# Tensor on GPU")), r.out.substr(0, r.out.rfind("# Tensor on GPU")));
  EXPECT_NE(c.out.find("# Tensor on GPU: skipped (--device cpu)\n"), std::string::npos);
  // --device gpu makes the GPU a requirement: one line naming why, nothing on stdout.
  const linreg::test::RunOutput g = linreg::test::run_linreg("tutorial --device gpu");
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_EQ(g.out, "");
  EXPECT_NE(g.err.find("--device gpu: no usable GPU (" + T::cuda::unavailable_reason() + ")"), std::string::npos)
      << g.err;
  const linreg::test::RunOutput bad = linreg::test::run_linreg("tutorial --device tpu");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST(TutorialCommand, PrintsAllSectionsInOrder) {
  const linreg::test::RunOutput r = linreg::test::run_linreg("tutorial");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t pos = 0;
  for (const char* id : {"## 2.1: ", "## 2.35: ", "## 3.1: ", "## 3.17: ", "## 4.1: ", "## 4.6: ", "## 5.5: "}) {
    const size_t at = r.out.find(id, pos);
    ASSERT_NE(at, std::string::npos) << id << " missing or out of order";
    pos = at;
  }
  EXPECT_NE(r.out.find("epoch 3, loss "), std::string::npos);
}

TEST(TutorialCommand, OneSectionPrintsOnlyIt) {
  const linreg::test::RunOutput r = linreg::test::run_linreg("tutorial --section 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("## 2."), std::string::npos);
  EXPECT_EQ(r.out.find("## 4."), std::string::npos);
  EXPECT_NE(r.out.find("## 3.11: a = torch.tensor(0.7, requires_grad=True); d = f(a); d.backward(); a.grad\n"
                       "tensor(2048.)\n"),
            std::string::npos);
}

TEST(TutorialCommand, Section4WritesTheScatterPlot) {
  linreg::test::TempDir dir;
  const std::string svg = dir.file("scatter.svg");
  const linreg::test::RunOutput r = linreg::test::run_linreg("tutorial --section 4 --plot '" + svg + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote " + svg), std::string::npos);
  std::ifstream in(svg);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  EXPECT_EQ(doc.rfind("<?xml", 0), 0u);
  EXPECT_NE(doc.find("Scatter plot of Feature 1 vs Labels"), std::string::npos);
  EXPECT_NE(doc.find("Feature 1"), std::string::npos);
  size_t circles = 0;
  for (size_t p = doc.find("<circle"); p != std::string::npos; p = doc.find("<circle", p + 1)) ++circles;
  EXPECT_EQ(circles, 1000u) << "one point per example";
  EXPECT_NE(doc.find("</svg>"), std::string::npos);
}

TEST(TutorialCommand, BadArgumentsFailCleanly) {
  for (const char* args : {"tutorial --section 6", "tutorial --section 1", "tutorial --plot out.png",
                           "tutorial --section 2 --plot x.svg"}) {
    const linreg::test::RunOutput r = linreg::test::run_linreg(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find("error"), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(r.out, "") << args;
  }
}

TEST(TutorialCommand, ShowCppAddsTheCppLine) {
  const linreg::test::RunOutput r = linreg::test::run_linreg("tutorial --section 2 --show-cpp");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("## 2.28: X[1, 2] = 9; X\n// C++: X.index_put_({1, 2}, 9); X\n"), std::string::npos);
}

TEST(TutorialSections, RandomStepsAreSeeded) {
  linreg::tutorial::Options opt;
  const auto a = linreg::tutorial::run_section(4, opt, nullptr);
  const auto b = linreg::tutorial::run_section(4, opt, nullptr);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].output, b[i].output) << a[i].id;
}

TEST(TutorialSections, Section5CompletesTheLabLoop) {
  linreg::tutorial::Options opt;
  const auto steps = linreg::tutorial::run_section(5, opt, nullptr);
  std::string loop;
  for (const auto& s : steps)
    if (s.id == "5.5") loop = s.output;
  // Three lines in the lab's format, ending near the noise floor (MSE ≈ 0.01² = 1e-4).
  ASSERT_EQ(linreg::test::count_lines(loop), 3) << loop;
  EXPECT_EQ(loop.rfind("epoch 1, loss ", 0), 0u);
  const double last = std::stod(loop.substr(loop.rfind("loss ") + 5));
  EXPECT_LT(last, 2e-4);
  EXPECT_GT(last, 5e-5);
}

TEST(TutorialSections, UnknownSectionThrows) {
  linreg::tutorial::Options opt;
  EXPECT_THROW(linreg::tutorial::run_section(7, opt, nullptr), std::exception);
}

}  // namespace
