// A full disk through the real binary, on a tiny tmpfs mounted by the test (root only; skipped
// with the reason elsewhere): the error names the file and says "No space left on device", the
// old files stay as they were (both the model and the plot of one run), nothing is left behind.
#include <gtest/gtest.h>

#include <string>

#include "io/io_support.hpp"
#include "support.hpp"

namespace linreg::test {
namespace {

TEST(FullDisk, GenerateSaysWhichFileAndWhyAndKeepsTheOldOne) {
  TinyFs fs(64);
  if (!fs.mounted()) GTEST_SKIP() << fs.why();
  write_text(fs.file("d.csv"), "the old file");
  const RunOutput r = run_linreg("generate --examples 20000 --out " + sq(fs.file("d.csv")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--out '" + fs.file("d.csv") + "': cannot write: No space left on device"), std::string::npos)
      << r.err;
  EXPECT_EQ(read_file(fs.file("d.csv")), "the old file");
  EXPECT_EQ(names_in(fs.path()), std::vector<std::string>{"d.csv"});
}

TEST(FullDisk, AModelAndItsPlotAreReplacedTogetherOrNotAtAll) {
  TinyFs fs(64);
  if (!fs.mounted()) GTEST_SKIP() << fs.why();
  TempDir work;
  const std::string data = work.file("data.csv");
  ASSERT_EQ(run_linreg("generate --examples 3000 --out " + sq(data)).exit_code, 0);
  write_text(fs.file("m.json"), "old model");
  write_text(fs.file("p.svg"), "old plot");
  // The model fits in 64 KiB, the plot of 2000 points does not.
  const RunOutput r = run_linreg("train --device cpu --solver normal --data " + sq(data) + " --save " +
                                 sq(fs.file("m.json")) + " --plot " + sq(fs.file("p.svg")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");  // the exact solver prints after its files are written
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("p.svg"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(fs.file("m.json")), "old model");
  EXPECT_EQ(read_file(fs.file("p.svg")), "old plot");
  EXPECT_EQ(names_in(fs.path()), (std::vector<std::string>{"m.json", "p.svg"}));
}

}  // namespace
}  // namespace linreg::test
