// libFuzzer target for the CSV reader: any bytes in, either a dataset whose shape and values are
// sound or an InputError; anything else (a crash, a sanitizer report, another exception) is a bug.
// The first byte picks the options (threads, target, columns) so that every path is reached.
// Build and run: fuzz/run.sh. The corpus it keeps is replayed by tests/data/test_csv_corpus.cpp.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/data/csv.hpp"
#include "host/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  linreg::data::CsvOptions opt;
  opt.threads = 1 + (mode & 3);  // 1..4 (threads only split quote-free bodies)
  if (mode & 4) opt.target = "y";
  if (mode & 8) opt.columns = {"a", "b"};
  if ((mode & 16) && !opt.target.empty()) opt.target_required = false;
  try {
    const linreg::data::CsvRead r = linreg::data::parse_csv(text, "fuzz.csv", opt);
    const auto& ds = r.data;
    if (ds.n <= 0 || ds.d <= 0 || ds.X.size() != static_cast<size_t>(ds.n * ds.d)) std::abort();
    if (r.has_target != (ds.y.size() == static_cast<size_t>(ds.n)) || (!r.has_target && !ds.y.empty())) std::abort();
    if (ds.feature_names.size() != static_cast<size_t>(ds.d)) std::abort();
    for (float v : ds.X)
      if (!std::isfinite(v)) std::abort();
    for (float v : ds.y)
      if (!std::isfinite(v)) std::abort();
  } catch (const linreg::InputError& e) {
    // Expected for bad input; the message must be one line.
    for (const char* p = e.what(); *p; ++p)
      if (*p == '\n') std::abort();
  }
  return 0;
}
