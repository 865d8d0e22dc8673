// Flag helpers shared by the subcommands (see flags.hpp).
#include "host/cli/flags.hpp"
#include "host/cli/output_plan.hpp"

#include <cctype>
#include <cerrno>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace linreg::cli {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)? — decimal only.
bool decimal_syntax(const std::string& s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t mant = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++mant;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++mant;
  }
  if (mant == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

bool names_non_finite(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.erase(0, 1);
  return s == "nan" || s == "inf" || s == "infinity";
}

// "" when `text` is a decimal number within range; else why not.
std::string check_decimal(const std::string& text, bool float32, double* value) {
  if (text.empty()) return "an empty value is not a number";
  if (names_non_finite(text)) return "'" + text + "' is not a finite number";
  if (!decimal_syntax(text)) return "'" + text + "' is not a decimal number";
  errno = 0;
  const double v = std::strtod(text.c_str(), nullptr);
  if ((errno == ERANGE && std::fabs(v) > 1.0) || !std::isfinite(v)) return "'" + text + "' is out of range";
  if (float32 && std::fabs(v) > static_cast<double>(FLT_MAX))
    return "'" + text + "' is out of the float32 range (at most 3.4e+38 in magnitude)";
  if (value) *value = v;
  return "";
}

}  // namespace

CLI::Validator decimal_integer(bool non_negative) {
  return CLI::Validator(
      [non_negative](std::string& value) -> std::string {
        if (value.empty()) return "an empty value is not a number";
        size_t i = 0;
        bool neg = false;
        if (value[0] == '+' || value[0] == '-') {
          neg = value[0] == '-';
          i = 1;
        }
        if (i == value.size() || value.find_first_not_of("0123456789", i) != std::string::npos)
          return "'" + value + "' is not a whole number in decimal";
        while (i + 1 < value.size() && value[i] == '0') ++i;  // 010 is ten, not octal eight
        const std::string digits = value.substr(i);
        if (neg && digits == "0") neg = false;
        if (neg && non_negative) return "'" + value + "' is negative; give a whole number >= 0";
        // Within the flag's type: uint64 for the seeds, int64 for the counts.
        const std::string limit = non_negative ? "18446744073709551615" : (neg ? "9223372036854775808" : "9223372036854775807");
        if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit))
          return "'" + value + "' is too large (at most " + (neg ? "-" : "") + limit + ")";
        value = (neg ? "-" : "") + digits;
        return {};
      },
      non_negative ? "UINT" : "INT");
}

CLI::Validator decimal_number(bool float32) {
  return CLI::Validator([float32](std::string& value) -> std::string { return check_decimal(value, float32, nullptr); },
                        "NUMBER");
}

std::vector<float> parse_decimal_list(const std::string& text, const std::string& flag) {
  if (text.empty()) throw UsageError(flag + ": expected a comma-separated list of numbers");
  std::vector<float> out;
  size_t start = 0, pos = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    ++pos;
    const size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? std::string() : item.substr(b, e - b + 1);
    if (item.empty())
      throw UsageError(flag + ": item " + std::to_string(pos) + " is empty" +
                       (comma == std::string::npos && pos > 1 ? " (a trailing comma?)" : ""));
    double v = 0;
    const std::string why = check_decimal(item, true, &v);
    if (!why.empty()) throw UsageError(flag + ": item " + std::to_string(pos) + ": " + why);
    out.push_back(static_cast<float>(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void check_labels_fit_float32(const SyntheticSpec& spec) {
  constexpr double kMaxAbsX = 6.67;
  double bound = std::fabs(static_cast<double>(spec.true_b)) + kMaxAbsX * static_cast<double>(spec.noise);
  for (float w : spec.true_w) bound += kMaxAbsX * std::fabs(static_cast<double>(w));
  if (bound > static_cast<double>(FLT_MAX)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", bound);
    throw UsageError(std::string("--true-w: labels could reach ") + buf +
                     ", beyond the float32 range (3.4e+38); use smaller weights, bias or noise");
  }
}

std::string count_of(int64_t n, const std::string& singular, const std::string& plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : (plural.empty() ? singular + "s" : plural));
}

std::string shortest_text(double v) {
  if (std::isnan(v)) return "nan";  // never "-nan"
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

uint64_t parse_byte_size(const std::string& text, const std::string& flag) {
  const auto bad = [&] {
    return UsageError(flag + ": '" + terminal_text(text) + "' is not a size (bytes, or a number with K, M, G or T)");
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 15) throw bad();
  uint64_t value = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit == "B") unit.clear();
  if (unit.size() == 3 && unit.substr(1) == "IB") unit = unit.substr(0, 1);
  if (unit.size() == 2 && unit[1] == 'B') unit = unit.substr(0, 1);
  int shift = 0;
  if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else if (!unit.empty()) throw bad();
  if (shift > 0 && value > (UINT64_MAX >> shift)) throw bad();
  value <<= shift;
  if (value == 0) throw UsageError(flag + ": must be more than 0 bytes");
  return value;
}

}  // namespace linreg::cli
