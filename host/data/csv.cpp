// CSV reader and writer (see csv.hpp for the accepted format).
//
// The reader is a single forward scan per chunk: the header picks a destination for every file
// column (a feature index, the target, or skipped); each data cell of a kept column goes through
// std::from_chars straight into X or y. When the body has no quote character, it is cut at line
// ends into chunks parsed on several threads: each chunk writes at a row offset bounded by the
// newlines before it, and the chunks are compacted afterwards (blank lines make the bound loose).
#include "host/data/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <climits>
#include <cstdint>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <utility>

#include "host/core/error.hpp"

namespace linreg::data {
namespace {

constexpr int32_t kTarget = -1;
constexpr int32_t kSkip = -2;

inline bool is_blank(char c) { return c == ' ' || c == '\t'; }
inline bool ends_field(char c) { return c == ',' || c == '\n' || c == '\r'; }

// The length of the UTF-8 sequence at s[i] (1 to 4), or 0 when it is not valid UTF-8 (a stray
// continuation byte, an overlong form, a surrogate, beyond U+10FFFF, cut short). *cp gets the
// code point.
size_t utf8_at(std::string_view s, size_t i, uint32_t* cp) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) len = 2, v = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0) len = 3, v = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0) len = 4, v = c & 0x07, min = 0x10000;
  else return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char t = static_cast<unsigned char>(s[i + k]);
    if ((t & 0xC0) != 0x80) return 0;
    v = (v << 6) | (t & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

// A control character: C0, DEL, or C1 (U+0080..U+009F, which terminals also obey).
bool is_control(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// A field's text made safe for a one-line message: control characters and bytes that are not
// UTF-8 become '?', long text is cut.
std::string printable(std::string_view s, size_t max_len = 40) {
  std::string out;
  size_t i = 0;
  while (i < s.size() && i < max_len) {
    uint32_t cp = 0;
    const size_t len = utf8_at(s, i, &cp);
    if (len == 0 || is_control(cp)) {
      out += '?';
      i += len == 0 ? 1 : len;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  if (s.size() > i) out += "...";
  return out;
}

std::string name_list(const std::vector<std::string>& names) {
  std::string s;
  const size_t shown = std::min<size_t>(names.size(), 12);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + printable(names[i]);
  if (shown < names.size()) s += ", ... (" + std::to_string(names.size()) + " columns)";
  return s;
}

// What the header decided: where each file column goes.
struct Plan {
  std::string source;
  std::vector<std::string> names;  // the header
  std::vector<int32_t> dest;       // per file column: feature index, kTarget or kSkip
  int64_t d = 0;
  bool has_target = false;
  int64_t header_line = 1;
  // Each name's first and second column (second: SIZE_MAX when it is unique), built once so that
  // a header of a million columns is checked in linear time.
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> where;
};

[[noreturn]] void fail_at(const Plan& pl, int64_t line, const std::string& what) {
  throw InputError(pl.source + ": line " + std::to_string(line) + ": " + what);
}

[[noreturn]] void fail_cell(const Plan& pl, int64_t line, size_t col, const std::string& what) {
  throw InputError(pl.source + ": line " + std::to_string(line) + ", column " + std::to_string(col + 1) + " (" +
                   printable(pl.names[col]) + "): " + what);
}

// Counts the fields of the row that starts at `p` (commas outside quotes, up to the line end).
int64_t count_fields(const char* p, const char* end) {
  int64_t fields = 1;
  bool quoted = false;
  for (; p < end; ++p) {
    if (*p == '"') quoted = !quoted;
    else if (!quoted && *p == ',') ++fields;
    else if (!quoted && (*p == '\n' || *p == '\r')) break;
  }
  return fields;
}

[[noreturn]] void fail_ragged(const Plan& pl, int64_t line, const char* row_start, const char* end) {
  const int64_t got = count_fields(row_start, end);
  fail_at(pl, line, std::to_string(got) + (got == 1 ? " field" : " fields") + ", but the header has " +
                        std::to_string(pl.names.size()) + " columns");
}

// Skips blanks; returns the first other position.
inline const char* skip_blanks(const char* p, const char* end) {
  while (p < end && is_blank(*p)) ++p;
  return p;
}

// A quoted field starting at p (*p == '"'). Returns the position after the closing quote and
// fills `content` (with "" unescaped). Counts the newlines inside it into `line`.
const char* scan_quoted(const Plan& pl, const char* p, const char* end, int64_t& line, size_t col,
                        std::string* content) {
  const int64_t start_line = line;
  ++p;
  for (;;) {
    const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (!q) {
      if (col == static_cast<size_t>(-1)) fail_at(pl, start_line, "unterminated quote");
      fail_cell(pl, start_line, col, "unterminated quote");
    }
    line += std::count(p, q, '\n');
    if (content) content->append(p, q);
    if (q + 1 < end && q[1] == '"') {  // "" inside quotes: a literal quote
      if (content) content->push_back('"');
      p = q + 2;
      continue;
    }
    return q + 1;
  }
}

// The end of a field that starts at p (unquoted): the next ',', '\n', '\r' or end.
inline const char* field_end(const char* p, const char* end) {
  while (p < end && !ends_field(*p)) ++p;
  return p;
}

// Parses the text of a cell that from_chars did not accept outright; throws with the reason.
[[noreturn]] void fail_number(const Plan& pl, int64_t line, size_t col, std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  if (text.empty()) fail_cell(pl, line, col, "empty cell (every cell of a selected column needs a number)");
  fail_cell(pl, line, col, "not a number: '" + printable(text) + "'");
}

// from_chars on [b, e) with an optional leading '+'. Returns true and sets v when the whole
// range is one number; values too small for float32 become 0 or subnormal, too large ones fail.
bool parse_float_text(const char* b, const char* e, float& v, bool& out_of_range) {
  out_of_range = false;
  if (b < e && *b == '+') {
    ++b;
    if (b < e && (*b == '+' || *b == '-')) return false;
  }
  if (b == e) return false;
  const auto r = std::from_chars(b, e, v);
  if (r.ec == std::errc() && r.ptr == e) return true;
  if (r.ec == std::errc::result_out_of_range && r.ptr == e) {
    // Decide between underflow (accept as the nearest float) and overflow (refuse) in double.
    double dv = 0;
    const auto rd = std::from_chars(b, e, dv);
    if (rd.ec == std::errc() && std::fabs(dv) <= static_cast<double>(FLT_MAX)) {
      v = static_cast<float>(dv);
      return true;
    }
    if (rd.ec == std::errc::result_out_of_range) {
      // Tiny enough to underflow even in double? then it is 0; else it is huge.
      std::string tmp(b, e);
      const double sd = std::strtod(tmp.c_str(), nullptr);
      if (std::fabs(sd) < 1.0) {
        v = 0.0f;
        return true;
      }
    }
    out_of_range = true;
  }
  return false;
}

// The common plain decimal, [-]digits[.digits][(e|E)[+-]digits] with at most 15 digits and a
// decimal exponent within ±22: m and 10^|E| are exact in double, so m·10^E (or m/10^−E) is the
// correctly rounded double (Clinger's fast path); rounding that to float is then correct unless the
// double lies exactly halfway between two floats, or in the subnormal/overflow range — those go to
// std::from_chars. Returns false (and leaves v alone) when it does not apply. Tested bit for bit
// against std::from_chars (tests/data/test_csv_reader.cpp).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

inline bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

inline bool fast_decimal(const char* s, const char* end, float& v, const char*& out) {
  bool neg = false;
  if (s < end && *s == '-') {
    neg = true;
    ++s;
  }
  uint64_t m = 0;
  int digits = 0, frac = 0;
  while (s < end && is_digit(*s) && digits < 16) {
    m = m * 10 + static_cast<uint64_t>(*s - '0');
    ++s;
    ++digits;
  }
  if (s < end && *s == '.') {
    ++s;
    while (s < end && is_digit(*s) && digits < 16) {
      m = m * 10 + static_cast<uint64_t>(*s - '0');
      ++s;
      ++digits;
      ++frac;
    }
  }
  if (digits == 0 || digits > 15 || (s < end && is_digit(*s))) return false;
  int e = 0;
  if (s < end && (*s == 'e' || *s == 'E')) {
    ++s;
    bool eneg = false;
    if (s < end && (*s == '+' || *s == '-')) {
      eneg = *s == '-';
      ++s;
    }
    const char* e0 = s;
    while (s < end && is_digit(*s) && s - e0 < 4) e = e * 10 + (*s++ - '0');
    if (s == e0 || (s < end && is_digit(*s))) return false;
    if (eneg) e = -e;
  }
  const int E = e - frac;
  if (E < -22 || E > 22) return false;
  double dv = static_cast<double>(m);
  dv = E < 0 ? dv / kPow10[-E] : dv * kPow10[E];
  if (dv != 0.0 && (dv < 2.0 * static_cast<double>(FLT_MIN) || dv > static_cast<double>(FLT_MAX))) return false;
  uint64_t bits;
  std::memcpy(&bits, &dv, sizeof bits);
  if ((bits & 0x1FFFFFFFu) == 0x10000000u) return false;  // exactly halfway between two floats
  const float f = static_cast<float>(dv);
  v = neg ? -f : f;
  out = s;
  return true;
}

// Parses one numeric cell starting at p; returns the position of the delimiter after it.
inline const char* parse_number(const Plan& pl, const char* p, const char* end, int64_t& line, size_t col,
                                float& v) {
  const char* s = skip_blanks(p, end);
  const char* e = nullptr;
  bool oor = false;
  if (s < end && *s == '"') {  // a quoted number: "1.5"
    const int64_t cell_line = line;
    std::string content;
    const char* after = scan_quoted(pl, s, end, line, col, &content);
    after = skip_blanks(after, end);
    if (after < end && !ends_field(*after)) fail_cell(pl, cell_line, col, "text after a closing quote");
    std::string_view t(content);
    while (!t.empty() && is_blank(t.front())) t.remove_prefix(1);
    while (!t.empty() && is_blank(t.back())) t.remove_suffix(1);
    if (!parse_float_text(t.data(), t.data() + t.size(), v, oor)) {
      if (oor) fail_cell(pl, cell_line, col, "'" + printable(t) + "' is out of the float32 range");
      fail_number(pl, cell_line, col, t);
    }
    e = after;
  } else {
    // Fast path: from_chars stops at the first byte that cannot continue a number.
    const char* b = s;
    if (b < end && *b == '+' && b + 1 < end && b[1] != '+' && b[1] != '-') ++b;
    std::from_chars_result r{b, std::errc()};
    if (!fast_decimal(b, end, v, r.ptr)) r = std::from_chars(b, end, v);
    e = r.ptr;
    if (r.ec == std::errc() && e > b) {
      e = skip_blanks(e, end);
      if (!(e == end || ends_field(*e))) fail_number(pl, line, col, std::string_view(s, field_end(s, end) - s));
    } else {
      e = field_end(s, end);
      if (!parse_float_text(s, e, v, oor)) {
        if (oor) fail_cell(pl, line, col, "'" + printable(std::string_view(s, e - s)) + "' is out of the float32 range");
        fail_number(pl, line, col, std::string_view(s, e - s));
      }
    }
  }
  if (!std::isfinite(v)) {
    fail_cell(pl, line, col, std::isnan(v) ? "NaN is not allowed (drop or fill the row)"
                                           : "an infinite value is not allowed (drop or fill the row)");
  }
  return e;
}

// Skips one cell of a column that is not used; returns the position of the delimiter after it.
inline const char* skip_cell(const Plan& pl, const char* p, const char* end, int64_t& line, size_t col) {
  const char* s = skip_blanks(p, end);
  if (s < end && *s == '"') {
    const int64_t cell_line = line;
    const char* after = skip_blanks(scan_quoted(pl, s, end, line, col, nullptr), end);
    if (after < end && !ends_field(*after)) fail_cell(pl, cell_line, col, "text after a closing quote");
    return after;
  }
  return field_end(s, end);
}

// Parses the data rows of [p, end), the first of which is on line `line`. Row r goes to
// X[r·d ...] and y[r]. Returns the number of rows; never writes more than `max_rows`.
int64_t parse_rows(const Plan& pl, const char* p, const char* end, int64_t line, float* X, float* y,
                   int64_t max_rows) {
  const size_t ncols = pl.dest.size();
  const int64_t d = pl.d;
  const int32_t* dest = pl.dest.data();
  int64_t r = 0;
  while (p < end) {
    // Blank lines (only blanks / CR) are skipped.
    const char* q = p;
    while (q < end && (is_blank(*q) || *q == '\r')) ++q;
    if (q == end) break;
    if (*q == '\n') {
      p = q + 1;
      ++line;
      continue;
    }
    if (r >= max_rows) fail_at(pl, line, "internal error: more rows than line ends");
    const char* row_start = p;
    const int64_t row_line = line;
    float* xr = X + r * d;
    for (size_t c = 0; c < ncols; ++c) {
      const int32_t dst = dest[c];
      if (dst == kSkip) {
        p = skip_cell(pl, p, end, line, c);
      } else {
        float v;
        p = parse_number(pl, p, end, line, c, v);
        if (dst >= 0) xr[dst] = v;
        else y[r] = v;
      }
      if (c + 1 < ncols) {
        if (p < end && *p == ',') {
          ++p;
          continue;
        }
        fail_ragged(pl, row_line, row_start, end);
      }
    }
    if (p < end && *p == ',') fail_ragged(pl, row_line, row_start, end);
    if (p < end && *p == '\r') ++p;
    if (p < end) {
      if (*p != '\n') fail_at(pl, line, "a carriage return inside a row");
      ++p;
    }
    ++line;
    ++r;
  }
  return r;
}

// Parses the header record at p; advances p past its line end and `line` past its lines.
std::vector<std::string> parse_header(const Plan& pl, const char*& p, const char* end, int64_t& line,
                                      bool* any_quoted = nullptr) {
  std::vector<std::string> names;
  for (;;) {
    const char* s = skip_blanks(p, end);
    std::string name;
    if (s < end && *s == '"') {
      if (any_quoted) *any_quoted = true;
      const char* after = skip_blanks(scan_quoted(pl, s, end, line, static_cast<size_t>(-1), &name), end);
      if (after < end && !ends_field(*after)) fail_at(pl, line, "header: text after a closing quote");
      p = after;
    } else {
      const char* e = field_end(s, end);
      const char* t = e;
      while (t > s && is_blank(t[-1])) --t;
      name.assign(s, t);
      p = e;
    }
    names.push_back(std::move(name));
    if (p < end && *p == ',') {
      ++p;
      continue;
    }
    break;
  }
  if (p < end && *p == '\r') ++p;
  if (p < end) {
    if (*p != '\n') fail_at(pl, line, "header: a carriage return inside the row");
    ++p;
  }
  ++line;
  return names;
}

constexpr size_t kNone = static_cast<size_t>(-1);

void index_names(Plan& pl) {
  pl.where.reserve(pl.names.size());
  for (size_t i = 0; i < pl.names.size(); ++i) {
    const auto [it, fresh] = pl.where.try_emplace(pl.names[i], i, kNone);
    if (!fresh && it->second.second == kNone) it->second.second = i;
  }
}

// The first column named `name`, or kNone.
size_t find_column(const Plan& pl, const std::string& name) {
  const auto it = pl.where.find(name);
  return it == pl.where.end() ? kNone : it->second.first;
}

// A used column: its name must be unique, non-empty, and fit for every output.
void check_unique(const Plan& pl, size_t col) {
  const auto& hits = pl.where.at(pl.names[col]);
  if (hits.second != kNone)
    throw InputError(pl.source + ": the header names column '" + printable(pl.names[col]) + "' more than once (columns " +
                     std::to_string(hits.first + 1) + " and " + std::to_string(hits.second + 1) + ")");
  if (pl.names[col].empty())
    throw InputError(pl.source + ": column " + std::to_string(col + 1) +
                     " has no name in the header; choose the features by name with --columns");
  const std::string why = name_problem(pl.names[col]);
  if (!why.empty())
    throw InputError(pl.source + ": line " + std::to_string(pl.header_line) + ", column " + std::to_string(col + 1) +
                     ": the name '" + printable(pl.names[col]) + "' " + why);
}

void make_plan(Plan& pl, const CsvOptions& opt) {
  const size_t ncols = pl.names.size();
  pl.dest.assign(ncols, kSkip);
  size_t target_col = ncols;  // none
  if (opt.target.empty()) {
    if (!opt.target_required) throw InputError("parse_csv: a target name is needed when it is optional");
    target_col = ncols - 1;
  } else {
    const size_t hit = find_column(pl, opt.target);
    if (hit == kNone) {
      if (opt.target_required)
        throw InputError(opt.target_flag + " '" + printable(opt.target) + "': no such column in " + pl.source +
                         " (columns: " + name_list(pl.names) + ")");
    } else {
      target_col = hit;
    }
  }
  if (target_col < ncols) {
    check_unique(pl, target_col);
    pl.dest[target_col] = kTarget;
    pl.has_target = true;
  }
  if (opt.columns.empty()) {
    int32_t j = 0;
    for (size_t c = 0; c < ncols; ++c) {
      if (c == target_col) continue;
      check_unique(pl, c);
      pl.dest[c] = j++;
    }
    if (j == 0)
      throw InputError(pl.source + ": no feature columns (the only column is the target '" +
                       printable(pl.names[target_col]) + "')");
  } else {
    int32_t j = 0;
    for (const std::string& name : opt.columns) {
      const size_t c = find_column(pl, name);
      if (c == kNone)
        throw InputError(opt.columns_flag + " '" + printable(name) + "': no such column in " + pl.source +
                         " (columns: " + name_list(pl.names) + ")");
      if (c == target_col)
        throw InputError(opt.columns_flag + " '" + printable(name) + "' is the target column; it cannot be a feature too");
      if (pl.dest[c] >= 0) throw InputError(opt.columns_flag + " names '" + printable(name) + "' twice");
      check_unique(pl, c);
      pl.dest[c] = j++;
    }
  }
  pl.d = 0;
  for (int32_t v : pl.dest) pl.d += v >= 0 ? 1 : 0;
}

int pick_threads(const CsvOptions& opt, size_t bytes) {
  if (opt.threads > 0) return opt.threads;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const size_t by_size = bytes / (4u << 20);  // at least 4 MiB per thread
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>({hw, 16, by_size})));
}

}  // namespace

std::string read_whole_file(const std::string& path, const ReadOptions& opt) {
  const InputBytes in = read_input(path, opt);
  return std::string(in.view());
}

std::string name_problem(std::string_view name) {
  for (size_t i = 0; i < name.size();) {
    uint32_t cp = 0;
    const size_t len = utf8_at(name, i, &cp);
    if (len == 0) return "is not valid UTF-8 (byte " + std::to_string(i + 1) + "); rename the column in UTF-8";
    if (is_control(cp)) return "contains a control character (byte " + std::to_string(i + 1) + "); rename the column";
    i += len;
  }
  return "";
}

CsvRead parse_csv(std::string_view text, const std::string& source, const CsvOptions& opt) {
  Plan pl;
  pl.source = source;
  const char* p = text.data();
  const char* end = p + text.size();
  if (text.size() >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;  // UTF-8 BOM

  // Leading blank lines, then the header.
  int64_t line = 1;
  for (;;) {
    const char* q = p;
    while (q < end && (is_blank(*q) || *q == '\r')) ++q;
    if (q < end && *q == '\n') {
      p = q + 1;
      ++line;
      continue;
    }
    if (q == end) throw InputError(source + ": the file is empty (expected a header row naming the columns)");
    break;
  }
  pl.header_line = line;
  if (opt.header) {
    bool quoted = false;
    pl.names = parse_header(pl, p, end, line, &quoted);
    // A first row of numbers only is data: a file without a header would otherwise lose its
    // first row to the names and train on the rest without a word.
    bool numbers = !quoted;
    for (size_t c = 0; numbers && c < pl.names.size(); ++c) {
      float v;
      bool oor = false;
      const std::string& t = pl.names[c];
      numbers = !t.empty() && (parse_float_text(t.data(), t.data() + t.size(), v, oor) || oor);
    }
    if (numbers)
      fail_at(pl, pl.header_line, "the first row looks like data, not a header (every cell is a number, e.g. '" +
                                      printable(pl.names[0]) + "'); give " + opt.no_header_flag +
                                      " when the file has no header row, or quote the names");
  } else {
    // No header: the columns are c1, c2, ... as many as the first row has.
    const char* q = p;
    int64_t l = line;
    const size_t ncols = parse_header(pl, q, end, l).size();
    for (size_t c = 0; c < ncols; ++c) pl.names.push_back("c" + std::to_string(c + 1));
  }
  index_names(pl);
  make_plan(pl, opt);
  const std::vector<std::string>& names = pl.names;

  // Chunks: cut the body at line ends (only when no quote can hold a line end).
  const size_t body = static_cast<size_t>(end - p);
  const bool has_quote = body && std::memchr(p, '"', body) != nullptr;
  int threads = has_quote ? 1 : pick_threads(opt, body);
  std::vector<const char*> cuts{p};
  for (int t = 1; t < threads; ++t) {
    const char* c = p + body * static_cast<size_t>(t) / static_cast<size_t>(threads);
    if (c < cuts.back()) c = cuts.back();
    const char* nl = static_cast<const char*>(std::memchr(c, '\n', static_cast<size_t>(end - c)));
    c = nl ? nl + 1 : end;
    cuts.push_back(c);
  }
  cuts.push_back(end);
  threads = static_cast<int>(cuts.size()) - 1;

  // Upper bound on the rows of each chunk: its line ends (+1 for the chunk that ends the file, whose
  // last line may lack one). Exact without blank lines, so the compaction below moves nothing.
  std::vector<int64_t> newlines(static_cast<size_t>(threads), 0);
  {
    auto count = [&](int t) {
      newlines[t] = std::count(cuts[t], cuts[t + 1], '\n');
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(count, t);
    count(0);
    for (auto& th : pool) th.join();
  }
  std::vector<int64_t> row_base(static_cast<size_t>(threads) + 1, 0), line_base(static_cast<size_t>(threads), line);
  for (int t = 0; t < threads; ++t) {
    row_base[t + 1] = row_base[t] + newlines[t] + (cuts[t + 1] == end ? 1 : 0);
    if (t > 0) line_base[t] = line_base[t - 1] + newlines[t - 1];
  }
  const int64_t max_rows = row_base[threads];
  // Row indices are 32-bit on both backends.
  if (max_rows > INT32_MAX)
    throw InputError(source + ": more than " + std::to_string(INT32_MAX) + " lines of data; linreg trains on at most " +
                     std::to_string(INT32_MAX) + " rows");
  if (pl.d > 0 && max_rows > INT64_MAX / pl.d) throw InputError(source + ": too many cells to hold");

  CsvRead out;
  HostDataset& ds = out.data;
  ds.d = pl.d;
  ds.X.resize(static_cast<size_t>(max_rows * pl.d));
  if (pl.has_target) ds.y.resize(static_cast<size_t>(max_rows));
  std::vector<int64_t> rows(static_cast<size_t>(threads), 0);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  {
    auto work = [&](int t) {
      try {
        rows[t] = parse_rows(pl, cuts[t], cuts[t + 1], line_base[t], ds.X.data() + row_base[t] * pl.d,
                             pl.has_target ? ds.y.data() + row_base[t] : nullptr, row_base[t + 1] - row_base[t]);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);  // the first error in file order

  // Compact the chunks.
  int64_t n = rows[0];
  for (int t = 1; t < threads; ++t) {
    if (rows[t] == 0) continue;
    if (n != row_base[t]) std::memmove(ds.X.data() + n * pl.d, ds.X.data() + row_base[t] * pl.d,
                 static_cast<size_t>(rows[t] * pl.d) * sizeof(float));
    if (pl.has_target && n != row_base[t])
      std::memmove(ds.y.data() + n, ds.y.data() + row_base[t], static_cast<size_t>(rows[t]) * sizeof(float));
    n += rows[t];
  }
  if (n == 0) throw InputError(source + ": the header has no data rows under it");
  ds.n = n;
  ds.X.resize(static_cast<size_t>(n * pl.d));
  ds.X.shrink_to_fit();
  if (pl.has_target) {
    ds.y.resize(static_cast<size_t>(n));
    ds.y.shrink_to_fit();
  }
  ds.feature_names.assign(static_cast<size_t>(pl.d), std::string());
  for (size_t c = 0; c < names.size(); ++c) {
    if (pl.dest[c] >= 0) ds.feature_names[static_cast<size_t>(pl.dest[c])] = names[c];
    if (pl.dest[c] == kTarget) ds.target_name = names[c];
  }
  if (!pl.has_target) ds.target_name = opt.target;
  out.has_target = pl.has_target;
  out.header_columns = static_cast<int64_t>(names.size());
  return out;
}

CsvRead read_csv(const std::string& path, const CsvOptions& opt) {
  // Read into private memory, not mapped: a file truncated while it is parsed must be an error
  // naming it, never a SIGBUS.
  const InputBytes in = read_input(path, opt.read);
  return parse_csv(in.view(), input_name(path), opt);
}

std::vector<std::string> split_names(const std::string& text, const std::string& flag) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t b = item.find_first_not_of(" \t");
    const size_t e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? std::string() : item.substr(b, e - b + 1);
    if (item.empty()) throw InputError(flag + ": empty name in '" + printable(text) + "'");
    out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string shortest(float v) {
  char buf[48];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string shortest(double v) {
  char buf[48];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

namespace {
std::string csv_name(const std::string& name) {
  if (name.find_first_of(",\"\r\n") == std::string::npos && (name.empty() || (!is_blank(name.front()) && !is_blank(name.back()))))
    return name;
  std::string q = "\"";
  for (char c : name) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + '"';
}
}  // namespace

std::string format_csv(const std::vector<std::string>& names, const std::vector<const float*>& cols, int64_t rows) {
  if (names.size() != cols.size()) throw InputError("format_csv: names and columns differ in number");
  std::string out;
  for (size_t c = 0; c < names.size(); ++c) out += (c ? "," : "") + csv_name(names[c]);
  out += '\n';
  out.reserve(out.size() + static_cast<size_t>(rows) * cols.size() * 12);
  char buf[48];
  for (int64_t i = 0; i < rows; ++i) {
    for (size_t c = 0; c < cols.size(); ++c) {
      char* q = buf;
      if (c) *q++ = ',';
      q = std::to_chars(q, buf + sizeof buf, cols[c][i]).ptr;
      out.append(buf, q);
    }
    out += '\n';
  }
  return out;
}

}  // namespace linreg::data
