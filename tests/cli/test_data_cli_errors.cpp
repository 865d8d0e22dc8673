// Every bad input of the data commands through the real binary: a non-zero exit, exactly one line
// on stderr naming the file (and line and column where that applies), nothing on stdout, and no
// output file left behind (not even a temporary one).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace linreg::test {
namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Names in the folder (inputs are known; anything else is a leftover).
std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct Case {
  const char* name;
  std::string csv;                  // written to in.csv ("" with no_file: not written)
  std::string args;                 // {in}, {dir} substituted
  std::vector<std::string> expect;  // parts of the stderr line
  bool no_file = false;
};

void check_case(const Case& c) {
  TempDir dir;
  const std::string in = dir.file("in.csv");
  if (!c.no_file) write(in, c.csv);
  std::string args = c.args;
  for (size_t p; (p = args.find("{in}")) != std::string::npos;) args.replace(p, 4, "'" + in + "'");
  for (size_t p; (p = args.find("{dir}")) != std::string::npos;) args.replace(p, 5, dir.path());
  const auto before = listing(dir.path());
  const RunOutput r = run_linreg(args);
  EXPECT_NE(r.exit_code, 0) << c.name;
  EXPECT_EQ(r.out, "") << c.name;
  EXPECT_EQ(count_lines(r.err), 1) << c.name << ": " << r.err;
  for (const auto& part : c.expect) EXPECT_NE(r.err.find(part), std::string::npos) << c.name << ": '" << r.err << "' lacks '" << part << "'";
  EXPECT_EQ(listing(dir.path()), before) << c.name << ": an output file was left behind";
}

const std::string kOut = " --device cpu --save {dir}/model.json --plot {dir}/fit.svg";

TEST(DataCliErrors, BadCsvFilesNameFileLineAndColumn) {
  const std::vector<Case> cases = {
      {"missing file", "", "train --data {dir}/nope.csv" + kOut, {"cannot open", "nope.csv"}, true},
      {"a directory", "", "train --data {dir}" + kOut, {"is a directory"}, true},
      {"empty file", "", "train --data {in}" + kOut, {"in.csv", "empty"}},
      {"header only", "a,b,y\n", "train --data {in}" + kOut, {"in.csv", "no data rows"}},
      {"ragged row", "a,y\n1,2\n3\n", "train --data {in}" + kOut, {"in.csv: line 3", "1 field", "2 columns"}},
      {"non-numeric", "a,y\n1,2\n3,x7\n", "train --data {in}" + kOut, {"in.csv: line 3, column 2 (y)", "not a number: 'x7'"}},
      {"empty cell", "a,b,y\n1,2,3\n4,,6\n", "train --data {in}" + kOut, {"in.csv: line 3, column 2 (b)", "empty cell"}},
      {"NaN", "a,y\n1,2\nNaN,3\n", "train --data {in}" + kOut, {"in.csv: line 3, column 1 (a)", "NaN"}},
      {"inf", "a,y\n1,2\n2,-inf\n", "train --data {in}" + kOut, {"in.csv: line 3, column 2 (y)", "infinite"}},
      {"unknown target", "a,y\n1,2\n", "train --data {in} --target price" + kOut, {"--target 'price'", "in.csv", "columns: a, y"}},
      {"unknown column", "a,b,y\n1,2,3\n", "train --data {in} --columns a,zz" + kOut, {"--columns 'zz'", "in.csv"}},
      {"target as column", "a,b,y\n1,2,3\n", "train --data {in} --columns a,y" + kOut, {"'y' is the target"}},
  };
  for (const auto& c : cases) check_case(c);
}

TEST(DataCliErrors, BadFlagsNameTheFlag) {
  const std::string csv = "a,b,y\n1,2,3\n2,1,4\n3,5,1\n4,4,4\n5,0,2\n";
  const std::vector<Case> cases = {
      {"unknown solver", csv, "train --data {in} --solver lu" + kOut, {"--solver", "lu"}},
      {"val fraction 1.5", csv, "train --data {in} --val-fraction 1.5" + kOut, {"--val-fraction"}},
      {"val fraction leaves nothing", csv, "train --data {in} --val-fraction 0.05" + kOut, {"--val-fraction", "no validation rows"}},
      {"examples with data", csv, "train --data {in} --examples 10" + kOut, {"--examples", "not used with --data"}},
      {"features with data", csv, "train --data {in} --features 3" + kOut, {"--features", "not used with --data"}},
      {"target without data", csv, "train --target y" + kOut, {"--target", "needs --data"}},
      {"plot feature without plot", csv, "train --data {in} --plot-feature a --device cpu", {"--plot-feature", "needs --plot"}},
      {"unknown plot feature", csv, "train --data {in} --plot-feature q" + kOut, {"--plot-feature 'q'"}},
      {"save into a missing folder", csv, "train --data {in} --device cpu --save {dir}/no/such/m.json", {"--save", "no/such"}},
      {"batch larger than the rows", csv, "train --data {in} --batch-size 100" + kOut, {"--batch-size", "(100)"}},
      {"lr zero", csv, "train --data {in} --lr 0" + kOut, {"--lr"}},
      {"generate without out", "", "generate --examples 10", {"--out"}, true},
      {"generate bad examples", "", "generate --examples 0 --out {dir}/g.csv", {"--examples"}, true},
      {"predict without model", csv, "predict --data {in} --out {dir}/p.csv", {"--model"}},
      {"predict --json to stdout", csv, "predict --model {in} --data {in} --json", {"--json", "--out"}},
  };
  for (const auto& c : cases) check_case(c);
}

TEST(DataCliErrors, SingularNormalEquationsNameTheColumn) {
  const std::vector<Case> cases = {
      {"constant column", "a,c,y\n1,5,2\n2,5,3\n3,5,5\n4,5,4\n", "train --data {in} --solver normal" + kOut,
       {"column 'c' is constant", "intercept"}},
      {"duplicated column", "a,b,y\n1,1,2\n2,2,3\n3,3,5\n4,4,4\n", "train --data {in} --solver normal" + kOut,
       {"column 'b' duplicates column 'a'"}},
      {"too few rows", "a,b,y\n1,2,3\n2,1,4\n", "train --data {in} --solver normal" + kOut, {"more rows than"}},
  };
  for (const auto& c : cases) check_case(c);
}

TEST(DataCliErrors, PredictRefusesMismatchedModelsAndData) {
  TempDir dir;
  const std::string train = dir.file("train.csv"), model = dir.file("m.json");
  write(train, "a,b,y\n1,2,3\n2,1,4\n3,5,1\n4,4,4\n5,0,2\n");
  ASSERT_EQ(run_linreg("train --data '" + train + "' --solver normal --device cpu --save '" + model + "'").exit_code, 0);
  std::ifstream in(model);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  // A model of another width: one weight more than it names features.
  std::string wide = text;
  const size_t w = wide.find("\"weights\": [");
  ASSERT_NE(w, std::string::npos);
  wide.insert(w + 12, "1.0, ");
  write(dir.file("wide.json"), wide);

  const std::vector<Case> cases = {
      {"model of another width", "a,b\n1,2\n", "predict --model {dir}/wide.json --data {in} --out {dir}/p.csv",
       {"wide.json", "'weights' has 3 values but 'features' names 2 columns"}},
      {"data lacks a model column", "a,c,y\n1,2,3\n",
       "predict --model {dir}/m.json --data {in} --out {dir}/p.csv", {"'b': no such column in", "in.csv"}},
      {"not a model", "a,b\n1,2\n", "predict --model {in} --data {in} --out {dir}/p.csv", {"in.csv", "not a JSON model"}},
      {"bad cell in predict data", "b,a\n1,2\n3,oops\n", "predict --model {dir}/m.json --data {in} --out {dir}/p.csv",
       {"in.csv: line 3, column 2 (a)", "'oops'"}},
  };
  for (const auto& c : cases) {
    // The model files live in the case's own folder: copy them there first.
    TempDir cdir;
    std::filesystem::copy_file(model, cdir.file("m.json"));
    std::filesystem::copy_file(dir.file("wide.json"), cdir.file("wide.json"));
    write(cdir.file("in.csv"), c.csv);
    std::string args = c.args;
    for (size_t p; (p = args.find("{in}")) != std::string::npos;) args.replace(p, 4, "'" + cdir.file("in.csv") + "'");
    for (size_t p; (p = args.find("{dir}")) != std::string::npos;) args.replace(p, 5, cdir.path());
    const auto before = listing(cdir.path());
    const RunOutput r = run_linreg(args);
    EXPECT_NE(r.exit_code, 0) << c.name;
    EXPECT_EQ(r.out, "") << c.name;
    EXPECT_EQ(count_lines(r.err), 1) << c.name << ": " << r.err;
    for (const auto& part : c.expect) EXPECT_NE(r.err.find(part), std::string::npos) << c.name << ": '" << r.err << "' lacks '" << part << "'";
    EXPECT_EQ(listing(cdir.path()), before) << c.name;
  }
}

}  // namespace
}  // namespace linreg::test
