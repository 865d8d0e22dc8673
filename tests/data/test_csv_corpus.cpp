// Replays the CSV fuzzer's kept corpus (tests/fixtures/csv_corpus/, grown by fuzz/run.sh) through
// the reader with the same option decoding as fuzz/csv_fuzz.cpp: no input may crash it, and the
// only exception allowed is InputError, with a one-line message.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support.hpp"
#include "host/data/csv.hpp"
#include "host/core/error.hpp"

namespace linreg::data {
namespace {

TEST(CsvCorpus, ReplaysWithoutCrashesAndOnlyInputErrors) {
  const std::filesystem::path dir = std::filesystem::path(::linreg::test::source_path("tests/fixtures/csv_corpus"));
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0, parsed = 0, refused = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    ++files;
    if (bytes.empty()) continue;
    // The fuzzer's decoding of the first byte, and every thread count for the same text.
    const uint8_t mode = static_cast<uint8_t>(bytes[0]);
    const std::string text = bytes.substr(1);
    for (int threads : {1, 2, 4}) {
      CsvOptions opt;
      opt.threads = threads;
      if (mode & 4) opt.target = "y";
      if (mode & 8) opt.columns = {"a", "b"};
      if ((mode & 16) && !opt.target.empty()) opt.target_required = false;
      try {
        const CsvRead r = parse_csv(text, "corpus.csv", opt);
        ++parsed;
        EXPECT_EQ(r.data.X.size(), static_cast<size_t>(r.data.n * r.data.d)) << entry.path();
        for (float v : r.data.X) EXPECT_TRUE(std::isfinite(v)) << entry.path();
      } catch (const InputError& e) {
        ++refused;
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << entry.path() << ": " << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << entry.path() << ": not an InputError: " << e.what();
      }
    }
  }
  EXPECT_GE(files, 5);
  std::cout << "[ corpus ] " << files << " inputs, " << parsed << " parses, " << refused << " refusals\n";
}

}  // namespace
}  // namespace linreg::data
