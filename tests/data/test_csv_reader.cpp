// The CSV reader: names, selection, the accepted number forms, every refusal with its line and
// column, threaded parsing equal to single-threaded, the fast decimal path equal to
// std::from_chars bit for bit, both copies of every value (float32 and double, each correctly
// rounded from the text), and the weights column.
#include <gtest/gtest.h>

#include <charconv>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "host/data/csv.hpp"
#include "host/core/error.hpp"
#include "support.hpp"

namespace linreg::data {
namespace {

CsvRead parse(const std::string& text, CsvOptions opt = {}) { return parse_csv(text, "t.csv", opt); }

// The message of the InputError that parsing throws ("" when none).
std::string error_of(const std::string& text, CsvOptions opt = {}) {
  try {
    parse(text, opt);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(CsvReader, HeaderNamesTargetDefaultsToLastColumn) {
  const CsvRead r = parse("a,b,price\n1,2,3\n4,5,6\n");
  EXPECT_EQ(r.data.n, 2);
  EXPECT_EQ(r.data.d, 2);
  EXPECT_EQ(r.data.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.data.target_name, "price");
  EXPECT_EQ(r.data.X, (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(r.data.y, (std::vector<float>{3, 6}));
  EXPECT_EQ(r.data.X64, (std::vector<double>{1, 2, 4, 5}));
  EXPECT_EQ(r.data.y64, (std::vector<double>{3, 6}));
  EXPECT_TRUE(r.data.weights.empty());
  EXPECT_TRUE(r.has_target);
  EXPECT_EQ(r.header_columns, 3);
}

TEST(CsvReader, TargetAndColumnsByNameInTheGivenOrder) {
  CsvOptions opt;
  opt.target = "a";
  opt.columns = {"c", "b"};
  const CsvRead r = parse("a,b,c,d\n1,2,3,4\n5,6,7,8\n", opt);
  EXPECT_EQ(r.data.feature_names, (std::vector<std::string>{"c", "b"}));
  EXPECT_EQ(r.data.X, (std::vector<float>{3, 2, 7, 6}));
  EXPECT_EQ(r.data.y, (std::vector<float>{1, 5}));
}

TEST(CsvReader, UnselectedTextColumnsAreNotParsed) {
  CsvOptions opt;
  opt.columns = {"x"};
  const CsvRead r = parse("name,x,y\n\"Smith, J\",1,2\nbob,3,4\n", opt);
  EXPECT_EQ(r.data.X, (std::vector<float>{1, 3}));
  EXPECT_EQ(r.data.y, (std::vector<float>{2, 4}));
  // Without --columns the text column is a feature and is refused, naming it.
  const std::string err = error_of("name,x,y\nbob,1,2\n");
  EXPECT_TRUE(contains(err, "line 2, column 1 (name): not a number: 'bob'")) << err;
}

TEST(CsvReader, NumbersAsCAndPythonPrintThem) {
  const CsvRead r = parse("x,y\n1e-3,-0.5\n2.0,7\n+3,.5\n5.,1E+2\n-0,1.5e-45\n 4 , 2\t\n");
  const std::vector<float> X{1e-3f, 2.0f, 3.0f, 5.0f, -0.0f, 4.0f};
  const std::vector<float> y{-0.5f, 7.0f, 0.5f, 100.0f, 1.5e-45f, 2.0f};
  EXPECT_EQ(r.data.X, X);
  EXPECT_EQ(r.data.y, y);
  EXPECT_TRUE(std::signbit(r.data.X[4]));
}

TEST(CsvReader, TinyValuesUnderflowHugeOnesAreRefused) {
  EXPECT_EQ(parse("x,y\n1e-60,1\n").data.X[0], 0.0f);
  const std::string err = error_of("x,y\n1,2\n1e39,3\n");
  EXPECT_TRUE(contains(err, "t.csv: line 3, column 1 (x)")) << err;
  EXPECT_TRUE(contains(err, "out of the float32 range")) << err;
}

TEST(CsvReader, CrlfBomQuotesAndBlankLines) {
  const CsvRead r = parse("\xEF\xBB\xBF\"a b\",\"c\"\"q\"\r\n\r\n1,\"2.5\"\r\n  \r\n3,4\r\n\n");
  EXPECT_EQ(r.data.feature_names, (std::vector<std::string>{"a b"}));
  EXPECT_EQ(r.data.target_name, "c\"q");
  EXPECT_EQ(r.data.X, (std::vector<float>{1, 3}));
  EXPECT_EQ(r.data.y, (std::vector<float>{2.5f, 4}));
}

TEST(CsvReader, LastLineWithoutNewline) {
  const CsvRead r = parse("x,y\n1,2\n3,4");
  EXPECT_EQ(r.data.n, 2);
  EXPECT_EQ(r.data.y[1], 4.0f);
}

TEST(CsvReader, OptionalTargetMayBeAbsent) {
  CsvOptions opt;
  opt.target = "price";
  opt.target_required = false;
  opt.columns = {"b", "a"};
  const CsvRead r = parse("a,b\n1,2\n", opt);
  EXPECT_FALSE(r.has_target);
  EXPECT_TRUE(r.data.y.empty());
  EXPECT_TRUE(r.data.y64.empty());
  EXPECT_EQ(r.data.X, (std::vector<float>{2, 1}));
  EXPECT_EQ(r.data.X64, (std::vector<double>{2, 1}));
  EXPECT_EQ(r.data.target_name, "price");
}

struct BadCase {
  const char* name;
  std::string text;
  std::vector<std::string> expect;  // parts the message must contain
};

TEST(CsvReader, EveryBadInputIsOneLineNamingLineAndColumn) {
  const std::vector<BadCase> cases = {
      {"empty file", "", {"t.csv", "empty"}},
      {"only blank lines", "\n \r\n", {"t.csv", "empty"}},
      {"header, no data", "a,b\n", {"t.csv", "no data rows"}},
      {"header, blank lines", "a,b\n\n\n", {"t.csv", "no data rows"}},
      {"ragged short", "a,b,c\n1,2,3\n4,5\n", {"t.csv: line 3", "2 fields", "3 columns"}},
      {"ragged long", "a,b\n1,2\n3,4,5\n", {"t.csv: line 3", "3 fields", "2 columns"}},
      {"non-numeric", "a,b\n1,2\n3,abc\n", {"line 3, column 2 (b)", "not a number: 'abc'"}},
      {"trailing garbage", "a,b\n1,2x\n", {"line 2, column 2 (b)", "'2x'"}},
      {"empty cell", "a,b\n1,2\n,4\n", {"line 3, column 1 (a)", "empty cell"}},
      {"empty last cell", "a,b\n1,\n", {"line 2, column 2 (b)", "empty cell"}},
      {"NaN", "a,b\n1,2\nnan,3\n", {"line 3, column 1 (a)", "NaN"}},
      {"NaN capital", "a,b\nNaN,3\n", {"line 2, column 1 (a)", "NaN"}},
      {"inf", "a,b\n1,inf\n", {"line 2, column 2 (b)", "infinite"}},
      {"-Infinity", "a,b\n1,-Infinity\n", {"line 2, column 2 (b)", "infinite"}},
      {"quoted NaN", "a,b\n1,\"nan\"\n", {"line 2, column 2 (b)", "NaN"}},
      {"hex", "a,b\n0x10,1\n", {"line 2, column 1 (a)", "'0x10'"}},
      {"double sign", "a,b\n+-1,1\n", {"line 2, column 1 (a)", "not a number"}},
      {"unterminated quote", "a,b\n1,\"2\n", {"line 2, column 2 (b)", "unterminated quote"}},
      {"text after quote", "a,b\n1,\"2\"x\n", {"line 2, column 2 (b)", "after a closing quote"}},
      {"duplicate names", "a,a,y\n1,2,3\n", {"t.csv", "'a' more than once", "columns 1 and 2"}},
      {"unnamed column", "a,,y\n1,2,3\n", {"t.csv", "column 2 has no name"}},
      {"only target", "y\n1\n", {"t.csv", "no feature columns"}},
      {"line counts blank lines", "a,b\n1,2\n\n\n1,x\n", {"line 5, column 2 (b)"}},
  };
  for (const auto& c : cases) {
    const std::string err = error_of(c.text);
    EXPECT_FALSE(err.empty()) << c.name << ": no error";
    EXPECT_EQ(err.find('\n'), std::string::npos) << c.name << ": " << err;
    for (const auto& part : c.expect) EXPECT_TRUE(contains(err, part)) << c.name << ": '" << err << "' lacks '" << part << "'";
  }
}

TEST(CsvReader, QuotedLineEndsCountInLineNumbers) {
  CsvOptions opt;
  opt.columns = {"a"};
  const std::string err = error_of("s,a,b\n\"x\ny\",1,2\nz,1,q\n", opt);
  EXPECT_TRUE(contains(err, "line 4, column 3 (b)")) << err;
}

TEST(CsvReader, UnknownNamesAreRefusedNamingTheFlag) {
  CsvOptions opt;
  opt.target = "price";
  std::string err = error_of("a,b\n1,2\n", opt);
  EXPECT_TRUE(contains(err, "--target 'price': no such column in t.csv (columns: a, b)")) << err;
  opt = {};
  opt.columns = {"a", "zz"};
  err = error_of("a,b,y\n1,2,3\n", opt);
  EXPECT_TRUE(contains(err, "--columns 'zz': no such column")) << err;
  opt.columns = {"a", "y"};
  err = error_of("a,b,y\n1,2,3\n", opt);
  EXPECT_TRUE(contains(err, "'y' is the target column")) << err;
  opt.columns = {"a", "a"};
  err = error_of("a,b,y\n1,2,3\n", opt);
  EXPECT_TRUE(contains(err, "names 'a' twice")) << err;
}

TEST(CsvReader, AFirstRowOfNumbersIsNotTakenForAHeader) {
  EXPECT_TRUE(contains(error_of("1,2,3\n4,5,6\n"), "t.csv: line 1: the first row looks like data, not a header"));
  EXPECT_TRUE(contains(error_of("\n\n1.5,-2,3e4\n4,5,6\n"), "t.csv: line 3: the first row looks like data"));
  // One name that is not a number, or any quoted name, makes it a header.
  EXPECT_EQ(error_of("1,b,3\n4,5,6\n"), "");
  EXPECT_EQ(error_of("\"1\",2,3\n4,5,6\n"), "");
  CsvOptions opt;
  opt.header = false;
  const CsvRead r = parse("1,2,3\n4,5,6\n", opt);
  EXPECT_EQ(r.data.n, 2);
  EXPECT_EQ(r.data.feature_names, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(r.data.target_name, "c3");
  EXPECT_EQ(r.data.X, (std::vector<float>{1, 2, 4, 5}));
  EXPECT_EQ(r.data.y, (std::vector<float>{3, 6}));
}

TEST(CsvReader, UsedNamesMustBeUtf8WithoutControls) {
  EXPECT_EQ(name_problem("größe"), "");
  EXPECT_EQ(name_problem("日本"), "");
  EXPECT_TRUE(contains(name_problem("a\xff"), "not valid UTF-8 (byte 2)"));
  EXPECT_TRUE(contains(name_problem("\xc0\x80"), "not valid UTF-8"));          // overlong NUL
  EXPECT_TRUE(contains(name_problem("\xed\xa0\x80"), "not valid UTF-8"));     // a surrogate
  EXPECT_TRUE(contains(name_problem("a\tb"), "control character (byte 2)"));
  EXPECT_TRUE(contains(name_problem("\xc2\x85"), "control character"));        // C1 NEL
  EXPECT_TRUE(contains(error_of("a,b\xff,y\n1,2,3\n"), "t.csv: line 1, column 2: the name 'b?' is not valid UTF-8"));
  CsvOptions opt;
  opt.columns = {"a"};
  EXPECT_EQ(error_of("a,b\xff,y\n1,2,3\n", opt), "");  // not used: any name
}

TEST(CsvReader, ControlBytesInMessagesAreMadeVisible) {
  const std::string err = error_of(std::string("a,b\n1,\x01\x1b[31m\n"));
  EXPECT_TRUE(contains(err, "'??[31m'")) << err;
}

TEST(CsvReader, MissingFileAndDirectoryAreNamed) {
  try {
    read_csv("/nonexistent/linreg/x.csv", {});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "cannot open '/nonexistent/linreg/x.csv'")) << e.what();
  }
  try {
    read_csv("/tmp", {});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_TRUE(contains(e.what(), "/tmp")) << e.what();
  }
}

// A few thousand rows of mixed number forms, parsed with 1 and with several threads.
std::string mixed_csv(int rows, uint32_t seed) {
  std::mt19937 eng(seed);
  std::normal_distribution<float> nd(0.0f, 100.0f);
  std::string s = "a,b,c\n";
  char buf[64];
  for (int i = 0; i < rows; ++i) {
    if (i % 97 == 5) s += "\n";  // blank lines move the row/line bookkeeping
    const float v[3] = {nd(eng), nd(eng) * 1e-6f, nd(eng) * 1e5f};
    for (int c = 0; c < 3; ++c) {
      if (c) s += ',';
      switch ((i + c) % 3) {
        case 0: std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v[c])); break;
        case 1: std::snprintf(buf, sizeof buf, "%e", static_cast<double>(v[c])); break;
        default: buf[std::to_chars(buf, buf + sizeof buf, v[c]).ptr - buf] = 0;
      }
      s += buf;
    }
    s += (i % 5 == 0) ? "\r\n" : "\n";
  }
  return s;
}

TEST(CsvReader, ThreadedParseEqualsSingleThreaded) {
  const std::string text = mixed_csv(20011, 7);
  CsvOptions one, many;
  one.threads = 1;
  many.threads = 7;
  const CsvRead a = parse(text, one), b = parse(text, many);
  EXPECT_EQ(a.data.n, 20011);
  EXPECT_EQ(a.data.n, b.data.n);
  EXPECT_EQ(a.data.X, b.data.X);
  EXPECT_EQ(a.data.y, b.data.y);
  // The blank lines make the chunks' row bounds loose, so the compaction moves the double
  // arrays too: they must line up with the floats, row for row.
  EXPECT_EQ(a.data.X64, b.data.X64);
  EXPECT_EQ(a.data.y64, b.data.y64);
  ASSERT_EQ(b.data.X64.size(), b.data.X.size());
  ASSERT_EQ(b.data.y64.size(), b.data.y.size());
  // Every cell has at most 9 significant digits. Such a decimal is never within half a double
  // ulp of a point halfway between two floats unless it is that point, so rounding its double to
  // float gives its float: a double that landed in another row than its float shows here.
  for (size_t i = 0; i < b.data.X.size(); ++i)
    ASSERT_EQ(static_cast<float>(b.data.X64[i]), b.data.X[i]) << "cell " << i;
  for (size_t i = 0; i < b.data.y.size(); ++i) ASSERT_EQ(static_cast<float>(b.data.y64[i]), b.data.y[i]) << "row " << i;
}

TEST(CsvReader, ThreadedErrorsNameTheSameLine) {
  std::string text = mixed_csv(5000, 11);
  // Break a cell near the end: the line number must be the same with 1 and 6 threads.
  const size_t pos = text.rfind('\n', text.size() - 2000);
  text.insert(pos + 1, "oops");
  CsvOptions one, many;
  one.threads = 1;
  many.threads = 6;
  const std::string e1 = error_of(text, one), e6 = error_of(text, many);
  EXPECT_FALSE(e1.empty());
  EXPECT_EQ(e1, e6);
}

// The fast decimal path and the from_chars path must agree bit for bit on every form.
TEST(CsvReader, FastPathMatchesFromCharsBitForBit) {
  std::mt19937_64 eng(1234);
  std::string text = "x,y\n";
  std::vector<float> expect;
  char buf[64];
  const char* fmts[] = {"%.9g", "%.6g", "%.8e", "%.3f", "%.12g", "%.15g", "%.17g", "%g"};
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = static_cast<uint32_t>(eng());
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (!std::isfinite(f) || std::fabs(f) > 1e30f || (f != 0 && std::fabs(f) < 1e-30f)) f = static_cast<float>(eng() % 100000) / 997.0f;
    double dv = static_cast<double>(f);
    if (i % 3 == 1) dv = static_cast<double>(eng() % 10000000) / 1000.0;  // decimal-looking values
    std::snprintf(buf, sizeof buf, fmts[i % 8], dv);
    float ref = 0;
    const auto r = std::from_chars(buf, buf + std::strlen(buf), ref);
    if (r.ec != std::errc() || !std::isfinite(ref)) continue;
    text += buf;
    text += ",1\n";
    expect.push_back(ref);
  }
  // Halfway cases between two floats (as exact decimals): must round to even as from_chars does.
  for (uint32_t bits : {0x3f800001u, 0x40490fdbu, 0x4b7fffffu, 0x00800001u}) {
    float a;
    std::memcpy(&a, &bits, sizeof a);
    const double mid = (static_cast<double>(a) + static_cast<double>(std::nextafter(a, 1e30f))) / 2;
    std::snprintf(buf, sizeof buf, "%.17g", mid);
    float ref = 0;
    std::from_chars(buf, buf + std::strlen(buf), ref);
    text += buf;
    text += ",1\n";
    expect.push_back(ref);
  }
  const CsvRead got = parse(text);
  ASSERT_EQ(got.data.X.size(), expect.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < expect.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &expect[i], 4);
    std::memcpy(&b, &got.data.X[i], 4);
    if (a != b && ++mismatches <= 5) ADD_FAILURE() << "row " << i << ": from_chars " << expect[i] << " vs " << got.data.X[i];
  }
  EXPECT_EQ(mismatches, 0u);
}

// What the reader must give for one cell's text, worked out with std::from_chars alone.
struct Expected {
  float f;
  bool f_exact;  // false: the text is too small for float32 and must read as zero (either sign)
  double dv;     // from_chars<double>, or 0 when even double underflows
  bool usable;   // false: float32 refuses it (too large, or not finite); such text is left out
};

Expected expected_of(const std::string& text) {
  Expected x{0.0f, true, 0.0, true};
  const char* b = text.data();
  const char* e = b + text.size();
  const auto rf = std::from_chars(b, e, x.f);
  const auto rd = std::from_chars(b, e, x.dv);
  if (rd.ec == std::errc::result_out_of_range) x.dv = 0.0;  // only underflow reaches here (see below)
  if (rf.ec == std::errc() && rf.ptr == e && std::isfinite(x.f)) return x;
  // from_chars<float> reports out of range for a value that rounds to zero or to infinity; the
  // reader takes the first as 0 and refuses the second.
  const bool tiny = rf.ec == std::errc::result_out_of_range &&
                    (rd.ec == std::errc::result_out_of_range ? std::strtod(text.c_str(), nullptr) == 0.0
                                                             : std::fabs(x.dv) < 1.0);
  x.f_exact = false;
  x.usable = tiny;
  return x;
}

// The exact decimal expansion of a double, in scientific form without trailing zeros, and the
// two decimals just below and just above it (the last digit lowered and 9s appended; a 1
// appended), written with up to 120 significant digits: enough for every float midpoint,
// whose exact expansion has at most 105.
struct Around {
  std::string below, at, above;
};

Around around(double v) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%.120e", v);
  std::string s(buf);
  const size_t epos = s.find('e');
  std::string mant = s.substr(0, epos);
  const std::string exp = s.substr(epos);
  while (mant.back() == '0') mant.pop_back();
  if (mant.back() == '.') mant += '0';
  Around a;
  a.at = mant + exp;
  a.above = mant + "1" + exp;
  std::string low = mant;
  size_t k = low.size() - 1;
  while (low[k] == '0' || low[k] == '.') --k;  // the last nonzero digit (v != 0)
  low[k] = static_cast<char>(low[k] - 1);
  a.below = low + "999" + exp;
  return a;
}

// A double halfway between float f and the next float up (f >= 0).
double float_midpoint(float f) {
  return (static_cast<double>(f) + static_cast<double>(std::nextafter(f, INFINITY))) / 2.0;
}

// Fresh random decimal text of every kind the reader meets: short plain decimals (the fast
// path), 15 digits with small exponents (still the fast path), 17 significant digits with
// exponents from -330 to +38, round-trip forms of random doubles (subnormal ones too) and of
// random floats, and 20 to 25 digits (more than 64 bits of mantissa).
std::string random_decimal(std::mt19937_64& eng) {
  char buf[96];
  auto digits = [&](int n) {
    std::string d;
    for (int i = 0; i < n; ++i) d += static_cast<char>('0' + eng() % 10);
    if (d[0] == '0') d[0] = static_cast<char>('1' + eng() % 9);
    return d;
  };
  const char* sign = eng() % 2 ? "-" : "";
  switch (eng() % 7) {
    case 0: {  // 1 to 7 digits, a point somewhere
      const std::string d = digits(1 + static_cast<int>(eng() % 7));
      const size_t point = eng() % (d.size() + 1);
      return sign + d.substr(0, point) + (point == 0 ? "0." : ".") + d.substr(point) + (point == d.size() ? "0" : "");
    }
    case 1: {  // 15 digits, exponent within ±22 after the point moves
      const std::string d = digits(15);
      return sign + d.substr(0, 1) + "." + d.substr(1) + "e" + std::to_string(static_cast<int>(eng() % 30) - 15);
    }
    case 2: {  // 17 digits, exponent -330 .. +37
      const std::string d = digits(17);
      return sign + d.substr(0, 1) + "." + d.substr(1) + "e" + std::to_string(static_cast<int>(eng() % 368) - 330);
    }
    case 3: {  // a random double up to float's range, subnormal ones included, %.17g
      const uint64_t exp_field = eng() % (1023 + 128);  // 0: subnormal double
      const uint64_t bits = (exp_field << 52) | (eng() & ((uint64_t{1} << 52) - 1));
      double v;
      std::memcpy(&v, &bits, sizeof v);
      std::snprintf(buf, sizeof buf, "%s%.17g", sign, v);
      return buf;
    }
    case 4: {  // the same, shortest round-trip form of the double
      const uint64_t exp_field = eng() % (1023 + 128);
      const uint64_t bits = (exp_field << 52) | (eng() & ((uint64_t{1} << 52) - 1));
      double v;
      std::memcpy(&v, &bits, sizeof v);
      return sign + std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    }
    case 5: {  // a random float (subnormal ones included), shortest form or 9 digits
      const uint32_t bits = static_cast<uint32_t>(eng()) & 0x7F7FFFFFu;  // exponent field below 255
      float f;
      std::memcpy(&f, &bits, sizeof f);
      if (eng() % 2) return sign + std::string(buf, std::to_chars(buf, buf + sizeof buf, f).ptr);
      std::snprintf(buf, sizeof buf, "%s%.9g", sign, static_cast<double>(f));
      return buf;
    }
    default: {  // 20 to 25 digits, float-sized exponent
      const std::string d = digits(20 + static_cast<int>(eng() % 6));
      return sign + d.substr(0, 1) + "." + d.substr(1) + "e" + std::to_string(static_cast<int>(eng() % 80) - 45);
    }
  }
}

// Halfway between two floats and just off it, where rounding the double to float would be
// wrong: the decimal just above the midpoint of 1 and the next float has the midpoint as its
// double, which rounds (to even) down to 1, while the float of the text is the float above.
// Midpoints of normal floats, of subnormal floats, around FLT_MIN and just under FLT_MAX.
std::vector<std::string> halfway_texts(std::mt19937_64& eng) {
  std::vector<std::string> out = {"1.00000005960464477539062", "1.000000059604644775390625",
                                  "1.00000005960464477539063", "16777217", "16777219", "-16777217"};
  std::vector<float> lows = {1.0f, 3.14159274f, 16777215.0f, FLT_MIN, std::nextafter(FLT_MIN, 0.0f),
                             std::nextafter(FLT_MAX, 0.0f), 0.0f, 1.4e-45f, 2.8e-45f, 1e-40f};
  for (int i = 0; i < 40; ++i) {
    uint32_t bits = static_cast<uint32_t>(eng()) & 0x7F7FFFFEu;  // finite, below FLT_MAX
    if (i % 4 == 0) bits &= 0x007FFFFFu;                       // a subnormal float
    float f;
    std::memcpy(&f, &bits, sizeof f);
    lows.push_back(f);
  }
  for (float f : lows) {
    const Around a = around(float_midpoint(f));
    for (const std::string& t : {a.below, a.at, a.above}) {
      out.push_back(t);
      out.push_back("-" + t);
    }
  }
  return out;
}

// A cell of float32 or double compared bit for bit.
template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Both copies of every cell, on fresh random text, with 1 and with 3 threads: the double is
// from_chars<double> of the text bit for bit, and the float is from_chars<float> of the text bit
// for bit, as it was before the reader kept doubles (a value too small for float32 is zero).
TEST(CsvReader, DoublesAndFloatsAreEachCorrectlyRoundedBitForBit) {
  std::mt19937_64 eng(20240611);
  std::vector<std::string> cells = halfway_texts(eng);
  while (cells.size() < 2 * 60000) cells.push_back(random_decimal(eng));
  // x and y take the kept cells in turn.
  std::vector<Expected> expect;
  std::string text = "x,y\n";
  std::vector<std::string> kept;
  for (const std::string& c : cells) {
    const Expected x = expected_of(c);
    if (!x.usable) continue;
    kept.push_back(c);
    expect.push_back(x);
  }
  if (kept.size() % 2) {
    kept.push_back("1");
    expect.push_back(expected_of("1"));
  }
  for (size_t i = 0; i < kept.size(); i += 2) text += kept[i] + "," + kept[i + 1] + "\n";
  // Enough of each kind for the test to mean something: most random text fits float32, the
  // special cases all do, and some tiny values are zero in float but not in double.
  ASSERT_GT(kept.size(), cells.size() * 3 / 4);
  size_t tiny_nonzero_double = 0;
  for (const Expected& x : expect) tiny_nonzero_double += !x.f_exact && x.dv != 0.0;
  EXPECT_GT(tiny_nonzero_double, 1000u);

  for (int threads : {1, 3}) {
    CsvOptions opt;
    opt.threads = threads;
    const CsvRead r = parse(text, opt);
    ASSERT_EQ(r.data.n * 2, static_cast<int64_t>(kept.size())) << threads << " threads";
    ASSERT_EQ(r.data.X64.size(), r.data.X.size());
    ASSERT_EQ(r.data.y64.size(), r.data.y.size());
    size_t bad = 0;
    for (size_t i = 0; i < kept.size(); ++i) {
      const size_t row = i / 2;
      const float f = i % 2 ? r.data.y[row] : r.data.X[row];
      const double dv = i % 2 ? r.data.y64[row] : r.data.X64[row];
      const Expected& x = expect[i];
      const bool f_ok = x.f_exact ? same_bits(f, x.f) : f == 0.0f;
      const bool d_ok = same_bits(dv, x.dv);
      if ((!f_ok || !d_ok) && ++bad <= 8) {
        ADD_FAILURE() << threads << " threads, cell '" << kept[i] << "': float " << std::hexfloat << f << " (want "
                      << x.f << "), double " << dv << " (want " << x.dv << ")" << std::defaultfloat;
      }
    }
    EXPECT_EQ(bad, 0u) << threads << " threads";
  }
}

// The cases above where rounding the double to float would give another float than the text's
// own: the float reader must have been asked.
TEST(CsvReader, HalfwayBetweenFloatsRoundsAsTheText) {
  const CsvRead r = parse("x,y\n1.00000005960464477539063,1.00000005960464477539062\n");
  EXPECT_EQ(r.data.X[0], std::nextafter(1.0f, 2.0f));  // just above the midpoint: up
  EXPECT_EQ(r.data.y[0], 1.0f);                        // just below: down
  // Both texts have the midpoint itself as their double.
  const double mid = 1.0 + std::ldexp(1.0, -24);
  EXPECT_EQ(r.data.X64[0], mid);
  EXPECT_EQ(r.data.y64[0], mid);
  EXPECT_EQ(static_cast<float>(mid), 1.0f);  // so the double alone would round both down
}

// What float32 cannot hold but double can stays exact in X64: integers above 2^24, decimals
// such as 0.1, 17-digit values, values below float's smallest subnormal; quoted or not.
TEST(CsvReader, DoubleKeepsWhatFloatCannot) {
  const CsvRead r = parse(
      "x,y\n16777217,0.1\n0.30000000000000004,\"0.1\"\n1e-310,1e-400\n123456789.123456789,\"1e-310\"\n"
      "+2.5e-320,-1e-400\n");
  EXPECT_EQ(r.data.X64, (std::vector<double>{16777217.0, 0.30000000000000004, 1e-310, 123456789.123456789, 2.5e-320}));
  EXPECT_EQ(r.data.X, (std::vector<float>{16777216.0f, 0.3f, 0.0f, 123456792.0f, 0.0f}));
  EXPECT_EQ(r.data.y64, (std::vector<double>{0.1, 0.1, 0.0, 1e-310, 0.0}));
  EXPECT_EQ(r.data.y, (std::vector<float>{0.1f, 0.1f, 0.0f, 0.0f, 0.0f}));
  EXPECT_NE(static_cast<double>(r.data.y[0]), r.data.y64[0]);  // 0.1f is not 0.1
}

// The float32 rules still decide what is refused: a value that double holds but float32 does
// not is out of range, exactly as before, quoted or not, and also just above the largest float's
// rounding boundary (which double rounding would have missed).
TEST(CsvReader, TooLargeForFloatIsRefusedThoughDoubleHoldsIt) {
  for (const std::string cell : {"1e39", "\"1e39\"", "-3.5e38", "1e300", "1e400"}) {
    const std::string err = error_of("x,y\n1,2\n" + cell + ",3\n");
    EXPECT_TRUE(contains(err, "t.csv: line 3, column 1 (x)")) << cell << ": " << err;
    EXPECT_TRUE(contains(err, "out of the float32 range")) << cell << ": " << err;
  }
  // Just below the rounding boundary above FLT_MAX (half an ulp above it, 2^128 − 2^103):
  // FLT_MAX in float, the value itself in double; just above it: refused.
  const Around a = around(static_cast<double>(FLT_MAX) + std::ldexp(1.0, 103));
  const CsvRead r = parse("x,y\n" + a.below + ",1\n");
  EXPECT_EQ(r.data.X[0], FLT_MAX);
  EXPECT_GT(r.data.X64[0], static_cast<double>(FLT_MAX));
  EXPECT_TRUE(contains(error_of("x,y\n" + a.above + ",1\n"), "out of the float32 range"));
}

// A weight column of the file: excluded from the default features, read in double.
TEST(CsvWeights, ReadInDoubleAndLeftOutOfTheDefaultFeatures) {
  const std::string text = "a,w,b,y\n1,2,3,4\n5,0,6,7\n9,\"0.5\",1,2\n3,1e-400,2,1\n4,-0,5,6\n8,0.1,7,7\n";
  CsvOptions opt;
  opt.weights = "w";
  const CsvRead r = parse(text, opt);
  EXPECT_EQ(r.data.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.data.d, 2);
  EXPECT_EQ(r.data.X, (std::vector<float>{1, 3, 5, 6, 9, 1, 3, 2, 4, 5, 8, 7}));
  EXPECT_EQ(r.data.y64, (std::vector<double>{4, 7, 2, 1, 6, 7}));
  // A zero weight among positive ones is fine; a weight too small for double is 0; -0 is 0;
  // 0.1 is the double 0.1, not the float.
  EXPECT_EQ(r.data.weights, (std::vector<double>{2, 0, 0.5, 0, 0, 0.1}));
  EXPECT_FALSE(std::signbit(r.data.weights[4]));
  // Chosen features with the weights column elsewhere.
  opt.columns = {"b"};
  const CsvRead s = parse(text, opt);
  EXPECT_EQ(s.data.feature_names, (std::vector<std::string>{"b"}));
  EXPECT_EQ(s.data.X64, (std::vector<double>{3, 6, 1, 2, 5, 7}));
  EXPECT_EQ(s.data.weights, r.data.weights);
  // Without --weights the column is an ordinary feature and there are no weights.
  const CsvRead u = parse(text);
  EXPECT_EQ(u.data.d, 3);
  EXPECT_TRUE(u.data.weights.empty());
  // Weights beyond float32's range are fine: they are only ever doubles.
  opt = {};
  opt.weights = "w";
  EXPECT_EQ(parse("x,w,y\n1,1e300,2\n2,4.9e-324,3\n", opt).data.weights, (std::vector<double>{1e300, 4.9e-324}));
}

// The weights of a threaded parse with blank lines (which make the compaction move rows) are
// the single-threaded ones, each on its own row.
TEST(CsvWeights, ThreadedParseKeepsEachWeightWithItsRow) {
  std::string text = "x,w,y\n";
  std::vector<double> want;
  for (int i = 0; i < 30011; ++i) {
    if (i % 89 == 3) text += "\n\n";
    const double w = (i % 5) * 0.25;  // a fifth of the weights are 0
    text += std::to_string(i) + "," + shortest(w) + "," + std::to_string(2 * i) + "\n";
    want.push_back(w);
  }
  CsvOptions opt;
  opt.weights = "w";
  for (int threads : {1, 4}) {
    opt.threads = threads;
    const CsvRead r = parse(text, opt);
    EXPECT_EQ(r.data.weights, want) << threads << " threads";
    ASSERT_EQ(r.data.n, 30011);
    for (int64_t i = 0; i < r.data.n; ++i) ASSERT_EQ(r.data.X64[static_cast<size_t>(i)], static_cast<double>(i));
  }
}

TEST(CsvWeights, EveryBadWeightIsOneLineNamingLineAndColumn) {
  struct Case {
    const char* name;
    std::string text;
    std::string weights, target;
    std::vector<std::string> columns;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {"unknown column", "a,w,y\n1,1,1\n", "zz", "", {}, {"--weights 'zz': no such column in t.csv (columns: a, w, y)"}},
      {"the default target", "a,w,y\n1,1,1\n", "y", "", {}, {"--weights 'y' is the target column (--target)"}},
      {"the named target", "a,w,y\n1,1,1\n", "w", "w", {}, {"--weights 'w' is the target column (--target)"}},
      {"also a listed feature", "a,w,y\n1,1,1\n", "w", "", {"a", "w"},
       {"--columns 'w' is the weights column (--weights)"}},
      {"negative", "a,w,y\n1,1,1\n1,-0.5,2\n", "w", "", {}, {"t.csv: line 3, column 2 (w)", "a negative weight '-0.5'"}},
      {"quoted negative", "a,w,y\n1,\"-2\",1\n", "w", "", {}, {"line 2, column 2 (w)", "a negative weight '-2'"}},
      {"tiny negative", "a,w,y\n1,-1e-300,1\n", "w", "", {}, {"line 2, column 2 (w)", "a negative weight"}},
      {"NaN", "a,w,y\n1,1,1\n1,nan,2\n", "w", "", {}, {"line 3, column 2 (w)", "NaN weight"}},
      {"inf", "a,w,y\n1,inf,1\n", "w", "", {}, {"line 2, column 2 (w)", "infinite weight"}},
      {"too large for double", "a,w,y\n1,1e400,1\n", "w", "", {}, {"line 2, column 2 (w)", "out of the double range"}},
      {"empty", "a,w,y\n1, ,1\n", "w", "", {}, {"line 2, column 2 (w)", "empty cell"}},
      {"text", "a,w,y\n1,heavy,1\n", "w", "", {}, {"line 2, column 2 (w)", "not a number: 'heavy'"}},
      {"trailing text", "a,w,y\n1,2kg,1\n", "w", "", {}, {"line 2, column 2 (w)", "not a number: '2kg'"}},
      {"every weight 0", "a,w,y\n1,0,1\n2,-0,2\n3,0.0e5,3\n", "w", "", {}, {"t.csv: every weight in column 'w' is 0"}},
      {"no features left", "w,y\n1,1\n", "w", "", {}, {"t.csv: no feature columns", "the target 'y' and the weights 'w'"}},
      {"duplicate name", "a,w,w,y\n1,1,1,1\n", "w", "", {"a"}, {"'w' more than once"}},
  };
  for (const Case& c : cases) {
    CsvOptions opt;
    opt.weights = c.weights;
    opt.target = c.target;
    opt.columns = c.columns;
    const std::string err = error_of(c.text, opt);
    EXPECT_FALSE(err.empty()) << c.name << ": no error";
    EXPECT_EQ(err.find('\n'), std::string::npos) << c.name << ": " << err;
    for (const auto& part : c.expect) EXPECT_TRUE(contains(err, part)) << c.name << ": '" << err << "' lacks '" << part << "'";
  }
  // The flag named in messages is the caller's.
  CsvOptions opt;
  opt.weights = "zz";
  opt.weights_flag = "--sample-weights";
  EXPECT_TRUE(contains(error_of("a,w,y\n1,1,1\n", opt), "--sample-weights 'zz': no such column")) << error_of("a,w,y\n1,1,1\n", opt);
  // One positive weight is enough.
  opt = {};
  opt.weights = "w";
  EXPECT_EQ(error_of("a,w,y\n1,0,1\n2,0,2\n3,1e-300,3\n", opt), "");
}

TEST(CsvWriter, FormatRoundTripsExactly) {
  std::vector<float> a{1.0f, -0.1f, 3.4028235e38f, 1e-45f}, b{0.3f, 2e-7f, -5.0f, 123456.79f};
  const std::string text = format_csv({"a", "the, target"}, {a.data(), b.data()}, 4);
  EXPECT_EQ(text.substr(0, text.find('\n')), "a,\"the, target\"");
  const CsvRead r = parse(text);
  EXPECT_EQ(r.data.X, a);
  EXPECT_EQ(r.data.y, b);
  EXPECT_EQ(r.data.target_name, "the, target");
}

TEST(CsvWriter, SplitNames) {
  EXPECT_EQ(split_names(" a, b ,c", "--columns"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_THROW(split_names("a,,b", "--columns"), InputError);
}

}  // namespace
}  // namespace linreg::data
