// The CSV reader: names, selection, the accepted number forms, every refusal with its line and
// column, threaded parsing equal to single-threaded, and the fast decimal path equal to
// std::from_chars bit for bit.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
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
  EXPECT_EQ(r.data.X, (std::vector<float>{2, 1}));
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
