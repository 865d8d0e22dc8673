// CSV reader and writer (see csv.hpp for the accepted format).
//
// The reader is a single forward scan per chunk: the header picks a destination for every file
// column (a feature index, the target, the weights, or skipped); each data cell of a kept column
// is parsed once to its correctly rounded double (Clinger's fast path, else std::from_chars),
// which goes into X64 or y64, and the float32 for X or y is rounded from that double when that is
// exact (almost always), else read again from the text as float. When the body has no quote
// character, it is cut at line ends into chunks parsed on several threads: each chunk writes at a
// row offset bounded by the newlines before it, and the chunks are compacted afterwards (blank
// lines make the bound loose).
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <unordered_map>
#include <utility>

#include "host/core/error.hpp"

namespace linreg::data {
namespace {

constexpr int32_t kTarget = -1;
constexpr int32_t kSkip = -2;
constexpr int32_t kWeight = -3;

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
  std::vector<int32_t> dest;       // per file column: feature index, kTarget, kWeight or kSkip
  int64_t d = 0;
  bool has_target = false;
  size_t weight_col = static_cast<size_t>(-1);  // the weights column, or none
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

// from_chars<double> on [b, e) with an optional leading '+', as parse_float_text: std::errc()
// and dv when the whole range is one number that double holds; result_out_of_range when it is a
// number too small or too large for double (dv untouched; callers decide); invalid_argument else.
std::errc parse_double_text(const char* b, const char* e, double& dv) {
  if (b < e && *b == '+') {
    ++b;
    if (b < e && (*b == '+' || *b == '-')) return std::errc::invalid_argument;
  }
  if (b == e) return std::errc::invalid_argument;
  const auto r = std::from_chars(b, e, dv);
  if (r.ptr != e) return std::errc::invalid_argument;
  return r.ec;
}

// The common plain decimal, [-]digits[.digits][(e|E)[+-]digits] with at most 15 digits and a
// decimal exponent within ±22: m and 10^|E| are exact in double, so m·10^E (or m/10^−E) is the
// correctly rounded double (Clinger's fast path). Returns false (and leaves dv alone) when it does
// not apply; std::from_chars<double> reads those. Tested bit for bit against std::from_chars
// (tests/data/test_csv_reader.cpp).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

inline bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

inline bool fast_decimal(const char* s, const char* end, double& dv, const char*& out) {
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
  const double a = E < 0 ? static_cast<double>(m) / kPow10[-E] : static_cast<double>(m) * kPow10[E];
  dv = neg ? -a : a;
  out = s;
  return true;
}

// Whether static_cast<float>(dv), dv the correctly rounded double of a decimal, is also the
// correctly rounded float of that decimal. Every point halfway between two floats is a double,
// and rounding to double is monotonic, so a decimal on one side of such a point never gets a
// double on the other side; only a double exactly halfway (the decimal may be just off it) can
// round the wrong way. Also refused: |dv| in float's subnormal range, where halfway points sit
// elsewhere in the bits, and beyond FLT_MAX or non-finite, where the float reader decides
// between FLT_MAX, an error, NaN and inf. Those few go to the float reader, as before.
inline bool float_from_double_is_exact(double dv) {
  const double a = std::fabs(dv);
  if (a == 0.0) return true;  // only a zero decimal parses to a zero double (underflow is an error)
  if (!(a >= 2.0 * static_cast<double>(FLT_MIN) && a <= static_cast<double>(FLT_MAX))) return false;
  uint64_t bits;
  std::memcpy(&bits, &a, sizeof bits);
  return (bits & 0x1FFFFFFFu) != 0x10000000u;  // not exactly halfway between two floats
}

// One numeric cell, both ways: f the correctly rounded float32 and dv the correctly rounded
// double of its text.
struct Cell {
  float f;
  double dv;
};

// Parses one numeric cell starting at p; returns the position of the delimiter after it. The
// float follows the float32 rules (too small: 0 or a subnormal; too large: refused; NaN and inf
// refused). The double is the text's own double; when the text underflows even double it is the
// float (0).
inline const char* parse_number(const Plan& pl, const char* p, const char* end, int64_t& line, size_t col,
                                Cell& out) {
  const char* s = skip_blanks(p, end);
  const char* e = nullptr;
  bool oor = false;
  float v = 0;
  double dv = 0;
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
    if (parse_double_text(t.data(), t.data() + t.size(), dv) != std::errc()) dv = static_cast<double>(v);  // underflow: 0
    e = after;
  } else {
    // Fast path: the double first (Clinger, else from_chars, which stops at the first byte that
    // cannot continue a number), the float from it when that is exact.
    const char* b = s;
    if (b < end && *b == '+' && b + 1 < end && b[1] != '+' && b[1] != '-') ++b;
    const char* ptr = b;
    bool ok = fast_decimal(b, end, dv, ptr);
    if (!ok) {
      const auto rd = std::from_chars(b, end, dv);
      ok = rd.ec == std::errc() && rd.ptr > b;
      ptr = rd.ptr;
    }
    if (ok && float_from_double_is_exact(dv)) {
      v = static_cast<float>(dv);
      e = skip_blanks(ptr, end);
      if (!(e == end || ends_field(*e))) fail_number(pl, line, col, std::string_view(s, field_end(s, end) - s));
    } else {
      // The float reader, exactly as for float32 alone: its value, its errors.
      const auto r = std::from_chars(b, end, v);
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
      if (!ok) dv = static_cast<double>(v);  // the double underflowed: the float's 0
    }
  }
  if (!std::isfinite(v)) {
    fail_cell(pl, line, col, std::isnan(v) ? "NaN is not allowed (drop or fill the row)"
                                           : "an infinite value is not allowed (drop or fill the row)");
  }
  out.f = v;
  out.dv = dv;
  return e;
}

// Parses one cell of the weights column (double only) starting at p; returns the position of the
// delimiter after it. A weight is a finite number >= 0; one too small for double is 0.
const char* parse_weight(const Plan& pl, const char* p, const char* end, int64_t& line, size_t col, double& w) {
  const char* s = skip_blanks(p, end);
  const int64_t cell_line = line;
  std::string content;
  std::string_view t;  // the cell's text, blanks around it removed
  const char* e = nullptr;
  if (s < end && *s == '"') {
    e = skip_blanks(scan_quoted(pl, s, end, line, col, &content), end);
    if (e < end && !ends_field(*e)) fail_cell(pl, cell_line, col, "text after a closing quote");
    t = content;
    while (!t.empty() && is_blank(t.front())) t.remove_prefix(1);
  } else {
    e = field_end(s, end);
    t = std::string_view(s, static_cast<size_t>(e - s));
  }
  while (!t.empty() && is_blank(t.back())) t.remove_suffix(1);
  const char* tb = t.data();
  const char* te = tb + t.size();
  const char* ptr = nullptr;
  if (!(fast_decimal(tb, te, w, ptr) && ptr == te)) {
    const std::errc ec = parse_double_text(tb, te, w);
    if (ec == std::errc::result_out_of_range) {
      // Too small for double (0) or too large (refused)?
      const std::string tmp(t);
      if (std::fabs(std::strtod(tmp.c_str(), nullptr)) >= 1.0)
        fail_cell(pl, cell_line, col, "the weight '" + printable(t) + "' is out of the double range");
      w = 0.0;
    } else if (ec != std::errc()) {
      fail_number(pl, cell_line, col, t);
    }
  }
  if (std::isnan(w)) fail_cell(pl, cell_line, col, "a NaN weight is not allowed (weights must be finite and >= 0)");
  if (std::isinf(w)) fail_cell(pl, cell_line, col, "an infinite weight is not allowed (weights must be finite and >= 0)");
  if (w < 0) fail_cell(pl, cell_line, col, "a negative weight '" + printable(t) + "' is not allowed (weights must be >= 0)");
  if (w == 0) w = 0.0;  // -0 is 0
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

// Where the rows of one chunk go: row r of the chunk to X[r·d ...], X64[r·d ...], y[r], y64[r],
// weights[r] (y, y64 null without a target, weights null without a weights column).
struct RowsOut {
  float* X;
  double* X64;
  float* y;
  double* y64;
  double* weights;
};

// Parses the data rows of [p, end), the first of which is on line `line`. Returns the number of
// rows; never writes more than `max_rows`.
int64_t parse_rows(const Plan& pl, const char* p, const char* end, int64_t line, const RowsOut& out,
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
    float* xr = out.X + r * d;
    double* xr64 = out.X64 + r * d;
    for (size_t c = 0; c < ncols; ++c) {
      const int32_t dst = dest[c];
      if (dst == kSkip) {
        p = skip_cell(pl, p, end, line, c);
      } else if (dst == kWeight) {
        p = parse_weight(pl, p, end, line, c, out.weights[r]);
      } else {
        Cell v;
        p = parse_number(pl, p, end, line, c, v);
        if (dst >= 0) {
          xr[dst] = v.f;
          xr64[dst] = v.dv;
        } else {
          out.y[r] = v.f;
          out.y64[r] = v.dv;
        }
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
  size_t weight_col = kNone;
  if (!opt.weights.empty()) {
    weight_col = find_column(pl, opt.weights);
    if (weight_col == kNone)
      throw InputError(opt.weights_flag + " '" + printable(opt.weights) + "': no such column in " + pl.source +
                       " (columns: " + name_list(pl.names) + ")");
    if (weight_col == target_col)
      throw InputError(opt.weights_flag + " '" + printable(opt.weights) + "' is the target column (" + opt.target_flag +
                       "); it cannot be the weights too");
    check_unique(pl, weight_col);
    pl.dest[weight_col] = kWeight;
    pl.weight_col = weight_col;
  }
  if (opt.columns.empty()) {
    int32_t j = 0;
    for (size_t c = 0; c < ncols; ++c) {
      if (c == target_col || c == weight_col) continue;
      check_unique(pl, c);
      pl.dest[c] = j++;
    }
    if (j == 0) {
      std::string only;
      if (target_col < ncols) only = "the target '" + printable(pl.names[target_col]) + "'";
      if (weight_col != kNone) only += (only.empty() ? "" : " and ") + std::string("the weights '") +
                                       printable(pl.names[weight_col]) + "'";
      throw InputError(pl.source + ": no feature columns (the only " +
                       (target_col < ncols && weight_col != kNone ? "columns are " : "column is ") + only + ")");
    }
  } else {
    int32_t j = 0;
    for (const std::string& name : opt.columns) {
      const size_t c = find_column(pl, name);
      if (c == kNone)
        throw InputError(opt.columns_flag + " '" + printable(name) + "': no such column in " + pl.source +
                         " (columns: " + name_list(pl.names) + ")");
      if (c == target_col)
        throw InputError(opt.columns_flag + " '" + printable(name) + "' is the target column; it cannot be a feature too");
      if (c == weight_col)
        throw InputError(opt.columns_flag + " '" + printable(name) + "' is the weights column (" + opt.weights_flag +
                         "); it cannot be a feature too");
      if (pl.dest[c] >= 0) throw InputError(opt.columns_flag + " names '" + printable(name) + "' twice");
      check_unique(pl, c);
      pl.dest[c] = j++;
    }
  }
  pl.d = 0;
  for (int32_t v : pl.dest) pl.d += v >= 0 ? 1 : 0;
}

// v.resize(count), with the memory asked for in transparent huge pages first where the system
// has them: the arrays are hundreds of MB for a large file, and touching them in 4 KiB pages (a
// fault and a zero-fill each) had cost more than parsing the cells. Only a hint; nothing changes
// where it is refused.
template <class T>
void resize_huge(std::vector<T>& v, size_t count) {
  v.reserve(count);
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const size_t bytes = count * sizeof(T);
  if (bytes >= 4 * kHuge) {
    const uintptr_t b = reinterpret_cast<uintptr_t>(v.data());
    const uintptr_t lo = (b + kHuge - 1) & ~(kHuge - 1), hi = (b + bytes) & ~(kHuge - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
  }
#endif
  v.resize(count);
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
  const bool has_weights = pl.weight_col != kNone;
  ds.d = pl.d;
  resize_huge(ds.X, static_cast<size_t>(max_rows * pl.d));
  resize_huge(ds.X64, static_cast<size_t>(max_rows * pl.d));
  if (pl.has_target) {
    resize_huge(ds.y, static_cast<size_t>(max_rows));
    resize_huge(ds.y64, static_cast<size_t>(max_rows));
  }
  if (has_weights) resize_huge(ds.weights, static_cast<size_t>(max_rows));
  std::vector<int64_t> rows(static_cast<size_t>(threads), 0);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  {
    auto work = [&](int t) {
      try {
        const int64_t r0 = row_base[t];
        const RowsOut dst{ds.X.data() + r0 * pl.d, ds.X64.data() + r0 * pl.d,
                          pl.has_target ? ds.y.data() + r0 : nullptr, pl.has_target ? ds.y64.data() + r0 : nullptr,
                          has_weights ? ds.weights.data() + r0 : nullptr};
        rows[t] = parse_rows(pl, cuts[t], cuts[t + 1], line_base[t], dst, row_base[t + 1] - r0);
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

  // Compact the chunks: every array moves its rows down to follow the previous chunk's.
  int64_t n = rows[0];
  for (int t = 1; t < threads; ++t) {
    if (rows[t] == 0 || n == row_base[t]) {
      n += rows[t];
      continue;
    }
    auto move_rows = [&](auto& v, int64_t width) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      std::memmove(v.data() + n * width, v.data() + row_base[t] * width, static_cast<size_t>(rows[t] * width) * sizeof(T));
    };
    move_rows(ds.X, pl.d);
    move_rows(ds.X64, pl.d);
    if (pl.has_target) {
      move_rows(ds.y, 1);
      move_rows(ds.y64, 1);
    }
    if (has_weights) move_rows(ds.weights, 1);
    n += rows[t];
  }
  if (n == 0) throw InputError(source + ": the header has no data rows under it");
  ds.n = n;
  // The arrays were sized for one row per line end (+1): cut to the rows read, and give memory
  // back only when blank lines left much of it unused (shrink_to_fit copies the whole array).
  auto trim = [n](auto& v, int64_t width) {
    v.resize(static_cast<size_t>(n * width));
    if (v.capacity() - v.size() > v.size() / 8) v.shrink_to_fit();
  };
  trim(ds.X, pl.d);
  trim(ds.X64, pl.d);
  if (pl.has_target) {
    trim(ds.y, 1);
    trim(ds.y64, 1);
  }
  if (has_weights) {
    trim(ds.weights, 1);
    if (std::all_of(ds.weights.begin(), ds.weights.end(), [](double w) { return w == 0.0; }))
      throw InputError(source + ": every weight in column '" + printable(pl.names[pl.weight_col]) +
                       "' is 0 (at least one row must weigh more than 0)");
  }
  ds.feature_names.assign(static_cast<size_t>(pl.d), std::string());
  for (size_t c = 0; c < names.size(); ++c) {
    if (pl.dest[c] >= 0) ds.feature_names[static_cast<size_t>(pl.dest[c])] = names[c];
    if (pl.dest[c] == kTarget) ds.target_name = names[c];
  }
  if (!pl.has_target) ds.target_name = opt.target;
  out.has_target = pl.has_target;
  out.total_rows = out.data.n;
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
