#include "bench/bench_math.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace linreg::bench {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
bool positive(double x) { return std::isfinite(x) && x > 0; }
}  // namespace

double median(std::vector<double> s) {
  if (s.empty()) return kNaN;
  const size_t mid = s.size() / 2;
  std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(mid), s.end());
  const double upper = s[mid];
  if (s.size() % 2 == 1) return upper;
  const double lower = *std::max_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

double bytes_per_epoch(int64_t examples, int64_t features) {
  if (examples <= 0 || features <= 0) return kNaN;
  return static_cast<double>(examples) * static_cast<double>(features + 1) * sizeof(float);
}

double effective_bandwidth(double bytes, double seconds) {
  return positive(bytes) && positive(seconds) ? bytes / seconds : kNaN;
}

double bandwidth_share(double bandwidth, double copy_bw) {
  return positive(bandwidth) && positive(copy_bw) ? bandwidth / copy_bw : kNaN;
}

double samples_per_second(int64_t examples, double epoch_seconds) {
  return examples > 0 && positive(epoch_seconds) ? static_cast<double>(examples) / epoch_seconds : kNaN;
}

double speedup(double fast, double base) { return positive(fast) && positive(base) ? fast / base : kNaN; }

double copy_bandwidth(double bytes_copied, double seconds) {
  return positive(bytes_copied) && positive(seconds) ? 2.0 * bytes_copied / seconds : kNaN;
}

}  // namespace linreg::bench
