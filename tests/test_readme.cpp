// The README's sample output is what a fresh build prints: the same numbers in every build for the
// default seed. Only the timings may differ (the "trained ..." line is compared up to "in").
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace linreg {
namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string untimed(const std::string& line) {
  if (line.rfind("trained ", 0) != 0) return line;
  return line.substr(0, line.find(" in "));
}

TEST(Readme, SampleOutputIsWhatTrainPrints) {
  const std::string readme = test::read_file(test::source_path("README.md"));
  const std::string marker = "Output (CPU, `linreg train --device cpu`):";
  const size_t at = readme.find(marker);
  ASSERT_NE(at, std::string::npos) << "the README lost its sample output";
  std::vector<std::string> sample;
  bool started = false;
  for (const std::string& line : lines_of(readme.substr(at + marker.size()))) {
    if (line.rfind("    ", 0) == 0) {
      sample.push_back(line.substr(4));
      started = true;
    } else if (started) {
      break;
    }
  }
  ASSERT_GE(sample.size(), 5u);
  const auto r = test::run_linreg("train --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> got = lines_of(r.out);
  ASSERT_EQ(got.size(), sample.size()) << r.out;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(untimed(got[i]), untimed(sample[i])) << "line " << i + 1;
}

}  // namespace
}  // namespace linreg
