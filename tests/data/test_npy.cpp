// NumPy .npy input and output: files NumPy itself wrote (tests/fixtures/npy: format 1.0 and 2.0,
// big-endian float32, a labels vector) against their known values; linreg's writer read back
// bit for bit; every malformed header and body refused with one line naming the problem; and
// through the binary: generate → train on .npy gives exactly the CSV route's fit, predict writes
// a float64 vector, and the flags that belong to the other format are refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/data/npy.hpp"
#include "support.hpp"

namespace linreg::data {
namespace {

using test::TempDir;

const double kA[3][3] = {{1.5, -2.0, 0.1}, {3.0, 4.25, 1e-300}, {5.5, 6.0, -7.125}};

std::string fixture(const char* name) { return test::source_path(std::string("tests/fixtures/npy/") + name); }

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

// A hand-made version-1.0 file: `dict` as the header, `data` after it.
std::string with_header(const std::string& dict, const std::string& data) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

std::string error_of(const std::string& path, const NpyOptions& opt = {}) {
  try {
    read_npy(path, opt);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, ReadsWhatNumpyWrote) {
  // Format 1.0 and 2.0 of the same float64 matrix: the target is the last column, the features
  // x0 and x1, every value as stored (X64, y64) and its float32 rounding (X, y).
  for (const char* name : {"f8_3x3.npy", "f8_v2_3x3.npy"}) {
    const CsvRead r = read_npy(fixture(name), {});
    const HostDataset& ds = r.data;
    ASSERT_EQ(ds.n, 3) << name;
    ASSERT_EQ(ds.d, 2) << name;
    EXPECT_EQ(ds.feature_names, (std::vector<std::string>{"x0", "x1"})) << name;
    EXPECT_EQ(ds.target_name, "y");
    EXPECT_TRUE(r.has_target);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 2; ++j) {
        EXPECT_EQ(ds.X64[i * 2 + j], kA[i][j]) << name;
        EXPECT_EQ(ds.X[i * 2 + j], static_cast<float>(kA[i][j])) << name;
      }
      EXPECT_EQ(ds.y64[i], kA[i][2]) << name;
      EXPECT_EQ(ds.y[i], static_cast<float>(kA[i][2])) << name;
    }
  }
  // Big-endian float32: the bytes swapped; float data have no double copy (they are exact).
  const HostDataset be = read_npy(fixture("f4_be_3x3.npy"), {}).data;
  EXPECT_TRUE(be.X64.empty());
  EXPECT_EQ(be.X[2], 3.0f);
  EXPECT_EQ(be.X[3], 4.25f);
  EXPECT_EQ(be.y[1], 0.0f) << "1e-300 is 0 in float32";
  EXPECT_EQ(be.y[2], -7.125f);
}

TEST(Npy, TargetColumnAndLabelsFile) {
  NpyOptions mid;
  mid.target_column = 1;
  const HostDataset m = read_npy(fixture("f8_3x3.npy"), mid).data;
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"x0", "x2"})) << "features keep their column numbers";
  EXPECT_EQ(m.y64[1], 4.25);
  EXPECT_EQ(m.X64[1 * 2 + 1], 1e-300);
  // A labels file: every column of the matrix is a feature.
  NpyOptions lab;
  lab.labels = fixture("f8_y3.npy");
  const HostDataset l = read_npy(fixture("f8_3x3.npy"), lab).data;
  EXPECT_EQ(l.d, 3);
  EXPECT_EQ(l.y64, (std::vector<double>{1, 2, 3}));
  // Its row count must match; a matrix is not a labels file; both ways of giving the target is one too many.
  NpyOptions bad = lab;
  bad.labels = fixture("f8_3x3.npy");
  EXPECT_NE(error_of(fixture("f8_3x3.npy"), bad).find("one value per row"), std::string::npos);
  TempDir dir;
  const double two[2] = {1, 2};
  write(dir.file("y2.npy"), format_npy(two, 2, 0));
  bad.labels = dir.file("y2.npy");
  EXPECT_NE(error_of(fixture("f8_3x3.npy"), bad).find("2 labels for the 3 rows"), std::string::npos);
  bad.target_column = 0;
  EXPECT_NE(error_of(fixture("f8_3x3.npy"), bad).find("give one"), std::string::npos);
  NpyOptions far;
  far.target_column = 3;  // the edge: column 2 is the last that exists
  EXPECT_NE(error_of(fixture("f8_3x3.npy"), far).find("column 3 does not exist"), std::string::npos);
  far.target_column = 2;
  EXPECT_EQ(error_of(fixture("f8_3x3.npy"), far), "");
}

TEST(Npy, WriterRoundTripsBitForBit) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0, 100);
  const int64_t rows = 257, cols = 7;
  std::vector<float> m(static_cast<size_t>(rows * cols));
  for (float& v : m) v = g(rng);
  m[5] = FLT_MIN / 4;  // a subnormal survives
  TempDir dir;
  const std::string bytes = format_npy(m.data(), rows, cols);
  EXPECT_EQ((bytes.size() - static_cast<size_t>(rows * cols * 4)) % 64, 0u) << "the data start on a 64-byte boundary";
  write(dir.file("m.npy"), bytes);
  EXPECT_TRUE(file_is_npy(dir.file("m.npy")));
  const HostDataset ds = read_npy(dir.file("m.npy"), {}).data;
  ASSERT_EQ(ds.d, cols - 1);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols - 1; ++j) ASSERT_EQ(std::memcmp(&ds.X[i * (cols - 1) + j], &m[i * cols + j], 4), 0);
    ASSERT_EQ(std::memcmp(&ds.y[i], &m[i * cols + cols - 1], 4), 0);
  }
  // A 1-D float64 vector (predict's output) parses back with its shape.
  const double v[3] = {0.1, -2, 1e300};
  const NpyHeader h = parse_npy_header(format_npy(v, 3, 0), "v");
  EXPECT_EQ(h.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(h.itemsize, 8);
}

TEST(Npy, MalformedFilesAreOneClearError) {
  TempDir dir;
  const std::string f4x2 = std::string(8, '\0');  // two float32 zeros
  struct Case {
    const char* name;
    std::string bytes;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"magic", "NUMPY not really", "not an .npy file"},
      {"version", std::string("\x93NUMPY\x04\x00\x10\x00", 10) + std::string(16, ' '), "format version 4.0"},
      {"short", std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 17), "cut short"},
      {"dtype", with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", f4x2), "dtype '<i4'"},
      {"fortran", with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", f4x2), "Fortran"},
      {"rank", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2), }", f4x2), "3 dimensions"},
      {"truncated", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4x2), "truncated"},
      {"extra", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", f4x2), "extra bytes"},
      {"key", with_header("{'descr': '<f4', 'order': False, 'shape': (1, 2), }", f4x2), "unknown key 'order'"},
      {"missing", with_header("{'descr': '<f4', 'shape': (1, 2), }", f4x2), "a key missing"},
      {"norows", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }", ""), "no rows"},
      {"onecol", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4x2), "one column only"},
      {"nocols", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }", ""), "one column only"},
  };
  for (const Case& c : cases) {
    const std::string path = dir.file(std::string(c.name) + ".npy");
    write(path, c.bytes);
    const std::string e = error_of(path);
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.name << ": " << e;
    EXPECT_NE(e.find(path), std::string::npos) << c.name << ": the message names the file: " << e;
  }
  // The edge that must pass: the same header with the data it announces.
  write(dir.file("ok.npy"), with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f4x2));
  EXPECT_EQ(error_of(dir.file("ok.npy")), "");
}

TEST(Npy, ReadFloatsWritesTheFloatsReadGivesIntoTheCallersBuffer) {
  // read_floats (the streamers' way: straight into a chunk or pinned buffer) against read's
  // floats, on every decoding path: float32 side by side with the target last (the bytes copied
  // as they are), the target in the middle (features not side by side), float64, and a labels
  // file; whole files and ranges; a bad value is the same error either way.
  TempDir dir;
  std::mt19937 rng(5);
  std::normal_distribution<double> nd;
  const int64_t rows = 300, cols = 4;
  std::vector<float> f32(static_cast<size_t>(rows * cols));
  std::vector<double> f64(f32.size()), labels(static_cast<size_t>(rows));
  for (size_t i = 0; i < f32.size(); ++i) f64[i] = f32[i] = static_cast<float>(nd(rng));
  for (double& v : labels) v = nd(rng);
  write(dir.file("f4.npy"), format_npy(f32.data(), rows, cols));
  write(dir.file("f8.npy"), format_npy(f64.data(), rows, cols));
  write(dir.file("y.npy"), format_npy(labels.data(), rows, 0));
  NpyOptions last, middle, with_labels;
  middle.target_column = 1;
  with_labels.labels = dir.file("y.npy");
  struct Case {
    std::string file;
    NpyOptions opt;
  };
  for (const Case& c : {Case{"f4.npy", last}, Case{"f4.npy", middle}, Case{"f8.npy", last}, Case{"f8.npy", middle},
                        Case{"f4.npy", with_labels}}) {
    const NpyRows file(dir.file(c.file), c.opt);
    const int64_t d = file.features();
    for (const auto& [r0, count] : {std::pair<int64_t, int64_t>{0, rows}, {17, 101}, {299, 1}, {5, 0}}) {
      HostDataset want;
      file.read(r0, count, want, /*floats_only=*/true);
      std::vector<float> X(static_cast<size_t>(count * d) + 1, -1.0f), y(static_cast<size_t>(count) + 1, -1.0f);
      file.read_floats(r0, count, X.data(), y.data());
      EXPECT_EQ(X.back(), -1.0f) << c.file << ": wrote past the rows";
      EXPECT_EQ(y.back(), -1.0f) << c.file << ": wrote past the rows";
      X.pop_back();
      y.pop_back();
      EXPECT_EQ(X, want.X) << c.file << " target " << c.opt.target_column << " rows " << r0 << "+" << count;
      EXPECT_EQ(y, want.y) << c.file << " target " << c.opt.target_column << " rows " << r0 << "+" << count;
    }
    std::vector<float> X(static_cast<size_t>(rows * d)), y(static_cast<size_t>(rows));
    EXPECT_THROW(file.read_floats(rows - 1, 2, X.data(), y.data()), std::logic_error);
  }
  f32[7 * cols + 2] = NAN;
  write(dir.file("nan.npy"), format_npy(f32.data(), rows, cols));
  const NpyRows bad(dir.file("nan.npy"), last);
  std::vector<float> X(static_cast<size_t>(rows * 3)), y(static_cast<size_t>(rows));
  try {
    bad.read_floats(0, rows, X.data(), y.data());
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("row 8, column 2: NaN"), std::string::npos) << e.what();
  }
}

TEST(Npy, NonFiniteAndOutOfRangeValuesNameTheirPlace) {
  TempDir dir;
  double m[2][3] = {{1, 2, 3}, {4, NAN, 6}};
  write(dir.file("nan.npy"), format_npy(&m[0][0], 2, 3));
  EXPECT_NE(error_of(dir.file("nan.npy")).find("row 2, column 1: NaN"), std::string::npos) << error_of(dir.file("nan.npy"));
  // float32 files (the bytes are copied as floats, then checked): NaN and inf in a feature and in
  // the target, named the same way.
  float f[3][3] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  f[2][0] = NAN;
  write(dir.file("nan32.npy"), format_npy(&f[0][0], 3, 3));
  EXPECT_NE(error_of(dir.file("nan32.npy")).find("row 3, column 0: NaN"), std::string::npos) << error_of(dir.file("nan32.npy"));
  f[2][0] = 7;
  f[1][2] = -INFINITY;
  write(dir.file("inf32.npy"), format_npy(&f[0][0], 3, 3));
  EXPECT_NE(error_of(dir.file("inf32.npy")).find("row 2, column 2: an infinite value"), std::string::npos)
      << error_of(dir.file("inf32.npy"));
  m[1][1] = 1e39;  // past float32
  write(dir.file("big.npy"), format_npy(&m[0][0], 2, 3));
  EXPECT_NE(error_of(dir.file("big.npy")).find("too large for float32"), std::string::npos);
  m[1][1] = static_cast<double>(FLT_MAX);  // the edge that must pass
  write(dir.file("max.npy"), format_npy(&m[0][0], 2, 3));
  EXPECT_EQ(error_of(dir.file("max.npy")), "");
  m[1][2] = -INFINITY;
  write(dir.file("inf.npy"), format_npy(&m[0][0], 2, 3));
  EXPECT_NE(error_of(dir.file("inf.npy")).find("row 2, column 2: an infinite value"), std::string::npos);
}

TEST(Npy, DamagedFilesAreAnErrorOrASoundDataset) {
  // Random damage to valid files (bytes flipped in the header and the data, truncation at every
  // length of the header): each read ends in an InputError or a dataset whose shape and values
  // are sound, never a crash or another exception (ASan and UBSan run this too).
  const double m[2][3] = {{1, 2, 3}, {4, 5, 6}};
  const std::string good = format_npy(&m[0][0], 2, 3);
  TempDir dir;
  const std::string path = dir.file("x.npy");
  std::mt19937 rng(11);
  int errors = 0, reads = 0;
  const auto attempt = [&](const std::string& bytes) {
    write(path, bytes);
    try {
      const CsvRead r = read_npy(path, {});
      const HostDataset& ds = r.data;
      ASSERT_GT(ds.n, 0);
      ASSERT_EQ(ds.X.size(), static_cast<size_t>(ds.n * ds.d));
      ASSERT_EQ(ds.y.size(), static_cast<size_t>(ds.n));
      for (float v : ds.X) ASSERT_TRUE(std::isfinite(v));
      ++reads;
    } catch (const InputError&) {
      ++errors;
    }
  };
  for (size_t cut = 0; cut < good.size(); ++cut) attempt(good.substr(0, cut));
  for (int k = 0; k < 2000; ++k) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    attempt(bytes);
  }
  EXPECT_GT(errors, 100) << "damage must be noticed";
  EXPECT_GT(reads, 0) << "a flip inside the data leaves a readable file";
}

TEST(NpyCli, TrainOnNpyIsTheCsvRouteBitForBit) {
  // generate writes the same floats to either format. SGD trains on those floats: the same fit
  // bit for bit. The exact solver reads a CSV cell as the double nearest its decimal text (the
  // shortest text of the float, within half a float ulp of it) and an .npy float32 as the float
  // itself: data apart by ≤ 2^-24 relative, so coefficients apart by about cond · 2^-24 relative
  // (cond ≈ 1 here, independent normal columns); 8·cond·2^-24 of the largest is the bound.
  TempDir dir;
  const std::string csv = dir.file("d.csv"), npy = dir.file("d.npy");
  ASSERT_EQ(test::run_linreg("generate --examples 300 --features 3 --out '" + csv + "'").exit_code, 0);
  ASSERT_EQ(test::run_linreg("generate --examples 300 --features 3 --out '" + npy + "'").exit_code, 0);
  for (const std::string args : {"--epochs 3 --batch-size 7", "--solver qr"}) {
    const auto a = test::run_linreg("train --device cpu --json " + args + " --data '" + csv + "'");
    const auto b = test::run_linreg("train --device cpu --json " + args + " --data '" + npy + "'");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
    EXPECT_EQ(jb["feature_names"], nlohmann::json({"x0", "x1", "x2"}));
    if (args.find("sgd") == std::string::npos && args.find("qr") != std::string::npos) {
      const double cond = ja["inference"]["condition_number"].get<double>();
      double top = std::fabs(ja["b"].get<double>());
      for (const auto& w : ja["w"]) top = std::max(top, std::fabs(w.get<double>()));
      const double tol = 8 * cond * FLT_EPSILON / 2 * top;
      for (size_t j = 0; j < 3; ++j) EXPECT_NEAR(ja["w"][j].get<double>(), jb["w"][j].get<double>(), tol) << j;
      EXPECT_NEAR(ja["b"].get<double>(), jb["b"].get<double>(), tol);
    } else {
      EXPECT_EQ(ja["w"], jb["w"]) << args;
      EXPECT_EQ(ja["b"], jb["b"]) << args;
    }
  }
  // predict on the .npy data writes a float64 vector: b + x·w of each row (the model's numbers,
  // the file's floats), to the rounding of a 4-term double sum.
  const std::string model = dir.file("m.json"), p_npy = dir.file("p.npy");
  ASSERT_EQ(test::run_linreg("train --device cpu --solver qr --data '" + npy + "' --save '" + model + "'").exit_code, 0);
  const auto pn = test::run_linreg("predict --model '" + model + "' --data '" + npy + "' --out '" + p_npy + "'");
  ASSERT_EQ(pn.exit_code, 0) << pn.err;
  EXPECT_NE(pn.out.find("present in"), std::string::npos) << "the last column is the target: " << pn.out;
  const nlohmann::json m = nlohmann::json::parse(test::read_file(model));
  NpyOptions lab;
  lab.labels = p_npy;  // the predictions read back as a labels file
  const HostDataset back = read_npy(npy, lab).data;
  ASSERT_EQ(back.d, 4) << "every column of d.npy is a feature now";
  ASSERT_EQ(back.n, 300);
  for (int64_t i = 0; i < back.n; ++i) {
    double want = m["bias"].get<double>(), size = std::fabs(want);
    for (int64_t j = 0; j < 3; ++j) {
      const double t = m["weights"][j].get<double>() * static_cast<double>(back.X[i * 4 + j]);
      want += t;
      size += std::fabs(t);
    }
    EXPECT_NEAR(back.y64[i], want, 8 * DBL_EPSILON * size) << i;
  }
}

TEST(NpyCli, FlagsOfTheOtherFormatAreRefused) {
  TempDir dir;
  const std::string npy = dir.file("d.npy"), csv = dir.file("d.csv");
  ASSERT_EQ(test::run_linreg("generate --examples 20 --out '" + npy + "'").exit_code, 0);
  ASSERT_EQ(test::run_linreg("generate --examples 20 --out '" + csv + "'").exit_code, 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--data '" + npy + "' --target y", "--target: names a CSV column"},
      {"--data '" + npy + "' --columns x0", "--columns: names a CSV column"},
      {"--data '" + csv + "' --target-column 1", "--target-column: for .npy input"},
      {"--data '" + npy + "' --target-column 9", "column 9 does not exist"},
      {"--target-column 1", "--target-column: needs --data FILE"},
      {"--data '" + npy + "' --labels '" + dir.file("none.npy") + "'", "none.npy"},
  };
  const std::string model = dir.file("m.json");
  ASSERT_EQ(test::run_linreg("train --device cpu --solver qr --data '" + npy + "' --save '" + model + "'").exit_code, 0);
  const auto p = test::run_linreg("predict --model '" + model + "' --data '" + npy + "' --no-header");
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.err.find("--no-header: for CSV input"), std::string::npos) << p.err;
  EXPECT_TRUE(p.out.empty());
  for (const auto& [args, expect] : cases) {
    const auto r = test::run_linreg("train --device cpu " + args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
  }
}

}  // namespace
}  // namespace linreg::data
