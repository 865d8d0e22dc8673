#include "bench/grid.hpp"

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "host/core/error.hpp"

namespace linreg::bench {

std::string count_label(int64_t n) {
  char buf[32];
  if (n >= 1000000 && n % 100000 == 0) {
    if (n % 1000000 == 0)
      std::snprintf(buf, sizeof buf, "%lldM", static_cast<long long>(n / 1000000));
    else
      std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(n) / 1e6);
  } else if (n >= 10000 && n % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%lldk", static_cast<long long>(n / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  }
  return buf;
}

std::string problem_label(const Problem& p) {
  return count_label(p.examples) + "x" + std::to_string(p.features) + " b" + std::to_string(p.batch);
}

std::vector<Problem> default_grid() {
  return {
      {1000, 2, 10, 3},          // the lab's problem: latency-bound, 300 dependent steps
      {100000, 2, 10, 1},        // 10k tiny steps: latency-bound
      {1000000, 16, 1024, 3},    // between the regimes
      {1000000, 256, 4096, 3},   // 1.03 GB per epoch: bandwidth-bound
      {10000000, 256, 65536, 3}, // 10.3 GB per epoch: bandwidth-bound, few steps
  };
}

std::vector<Problem> quick_grid() {
  return {
      {1000, 2, 10, 3},
      {100000, 2, 10, 1},
      {100000, 16, 1024, 3},
      {100000, 256, 4096, 3},
  };
}

namespace {

[[noreturn]] void bad_item(const std::string& item, const std::string& why) {
  throw InputError("--rows: '" + item + "' " + why +
                   " (give grid row numbers or problems like 1Mx16:b1024:e3, comma-separated)");
}

// "100k" → 100000, "1M" → 1000000, "1.5M" → 1500000; -1 when not a positive count.
int64_t parse_count(const std::string& s) {
  if (s.empty()) return -1;
  double mult = 1;
  std::string num = s;
  const char last = s.back();
  if (last == 'k' || last == 'K') mult = 1e3;
  if (last == 'm' || last == 'M') mult = 1e6;
  if (mult != 1) num.pop_back();
  if (num.empty()) return -1;
  for (char c : num)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return -1;
  char* end = nullptr;
  const double v = std::strtod(num.c_str(), &end) * mult;
  if (end != num.c_str() + num.size() || !(v >= 1) || v > 9e15 || v != static_cast<double>(static_cast<int64_t>(v)))
    return -1;
  return static_cast<int64_t>(v);
}

Problem parse_problem(const std::string& item) {
  // NxD:bB[:eE]
  std::vector<std::string> parts;
  std::stringstream ss(item);
  std::string part;
  while (std::getline(ss, part, ':')) parts.push_back(part);
  if (parts.size() < 2 || parts.size() > 3) bad_item(item, "is not NxD:bB[:eE]");
  const auto x = parts[0].find_first_of("xX");
  if (x == std::string::npos) bad_item(item, "has no NxD shape");
  Problem p;
  p.examples = parse_count(parts[0].substr(0, x));
  p.features = parse_count(parts[0].substr(x + 1));
  if (p.examples < 1) bad_item(item, "has no valid number of examples");
  if (p.features < 1) bad_item(item, "has no valid number of features");
  if (parts[1].size() < 2 || (parts[1][0] != 'b' && parts[1][0] != 'B')) bad_item(item, "has no batch (bB)");
  p.batch = parse_count(parts[1].substr(1));
  if (p.batch < 1) bad_item(item, "has no valid batch size");
  if (parts.size() == 3) {
    if (parts[2].size() < 2 || (parts[2][0] != 'e' && parts[2][0] != 'E')) bad_item(item, "has a third part that is not eE");
    p.epochs = parse_count(parts[2].substr(1));
    if (p.epochs < 1) bad_item(item, "has no valid epoch count");
  }
  if (p.examples >= (int64_t{1} << 31)) bad_item(item, "has 2^31 examples or more");
  if (p.features > (int64_t{1} << 20)) bad_item(item, "has more than 1048576 features");
  if (p.batch > p.examples) bad_item(item, "has a batch larger than its examples");
  return p;
}

}  // namespace

std::vector<Problem> parse_rows(const std::string& text, const std::vector<Problem>& grid) {
  std::vector<Problem> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty()) bad_item(item, "is empty");
    bool digits = true;
    for (char c : item) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (digits) {
      const long long k = std::atoll(item.c_str());
      if (item.size() > 6 || k < 1 || k > static_cast<long long>(grid.size()))
        bad_item(item, "is not a row number of the grid (1.." + std::to_string(grid.size()) + ")");
      out.push_back(grid[static_cast<size_t>(k - 1)]);
    } else {
      out.push_back(parse_problem(item));
    }
  }
  if (!text.empty() && text.back() == ',') bad_item(text, "ends with a comma");
  if (out.empty()) bad_item(text, "names no rows");
  return out;
}

}  // namespace linreg::bench
