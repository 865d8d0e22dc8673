// The command line as a hostile user types it, through the real binary: numbers are decimal only
// (010 is ten, hexadecimal is refused), one exit-status convention (2: the command line is wrong;
// 1: the run failed), plain English counts, an exact solver that refuses SGD-only flags, a
// diverged run that prints its epoch's line and then the error ("nan", never "-nan"), long runs
// with a thinned history, overflow named as such in predict and generate, model-file errors in
// words, and one terminal-safe line for every error.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "io/io_support.hpp"
#include "support.hpp"

namespace linreg::test {
namespace {

nlohmann::json json_of(const RunOutput& r) { return nlohmann::json::parse(r.out); }

void expect_refused(const std::string& args, int status, const std::string& part) {
  const RunOutput r = run_linreg(args);
  EXPECT_EQ(r.exit_code, status) << args << "\n" << r.err;
  EXPECT_EQ(r.out, "") << args;
  EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << args << "\n" << r.err;
}

TEST(CliHostile, NumbersAreDecimalOnly) {
  // Leading zeros mean nothing: 010 is ten (never octal eight), in every command.
  const auto a = json_of(run_linreg("train --device cpu --epochs 1 --seed 010 --json"));
  const auto b = json_of(run_linreg("train --device cpu --epochs 1 --seed 10 --json"));
  EXPECT_EQ(a["seed"], 10);
  EXPECT_EQ(a["w"], b["w"]);
  EXPECT_EQ(json_of(run_linreg("train --device cpu --epochs 1 --examples 010 --json"))["examples"], 10);
  EXPECT_EQ(run_linreg("generate --examples 3 --seed 010 --out -").out, run_linreg("generate --examples 3 --seed 10 --out -").out);
  // Hexadecimal, exponents in integers, empty values, non-finite and out-of-range numbers.
  expect_refused("train --device cpu --examples 0x10", 2, "--examples: '0x10' is not a whole number in decimal");
  expect_refused("train --device cpu --examples 1e3", 2, "--examples: '1e3' is not a whole number");
  expect_refused("train --device cpu --examples ''", 2, "--examples: an empty value is not a number");
  expect_refused("train --device cpu --lr 0x1p-5", 2, "--lr: '0x1p-5' is not a decimal number");
  expect_refused("train --device cpu --lr nan", 2, "--lr: 'nan' is not a finite number");
  expect_refused("train --device cpu --noise 1e39", 2, "--noise: '1e39' is out of the float32 range");
  expect_refused("train --device cpu --seed 99999999999999999999", 2, "--seed: '99999999999999999999' is too large");
  expect_refused("generate --examples 0x10 --out -", 2, "--examples");
  expect_refused("bench --device cpu --epochs 0x10", 2, "--epochs");
  expect_refused("tutorial --section 0x4", 2, "--section");
  expect_refused("train --device cpu --true-w 0x1,2", 2, "--true-w: item 1: '0x1' is not a decimal number");
  // A weight too small for float32 is 0 (as in the CSV reader), not "not a finite number".
  const RunOutput tiny = run_linreg("train --device cpu --epochs 1 --true-w 1e-320 --json");
  ASSERT_EQ(tiny.exit_code, 0) << tiny.err;
  EXPECT_EQ(json_of(tiny)["true_w"], nlohmann::json::parse("[0.0]"));
}

TEST(CliHostile, OneExitStatusConvention) {
  TempDir dir;
  write_text(dir.file("d.csv"), "a,y\n1,2\n2,3\n3,5\n");
  const std::string data = " --data " + sq(dir.file("d.csv"));
  // 2: the command line is wrong, whichever layer notices.
  for (const std::string& args : std::vector<std::string>{"frobnicate", "train --bogus 1", "train --lr abc", "train --lr 0", "train --lr -1",
                                 "train --batch-size 0", "train --epochs 0", "train --device tpu",
                                 "train --val-fraction 1.5", "train --examples 5" + data, "train --target y",
                                 "train --batch-size 100" + data, "generate --examples 0 --out -",
                                 "bench --budget -5", "tutorial --plot ''", "predict --model m --data d --json"}) {
    const RunOutput r = run_linreg(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
  }
  // 1: the command line is fine, the run failed.
  for (const std::string& args : std::vector<std::string>{"train --device cpu --data " + sq(dir.file("missing.csv")),
                                 "train --device cpu --lr 50 --epochs 20",
                                 "predict --model " + sq(dir.file("d.csv")) + " --data " + sq(dir.file("d.csv"))}) {
    const RunOutput r = run_linreg(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  }
  expect_refused("frobnicate", 2, "unknown command 'frobnicate' (choose train, tutorial, bench, generate, predict");
}

TEST(CliHostile, CountsReadAsEnglish) {
  TempDir dir;
  write_text(dir.file("one.csv"), "a,y\n1,2\n");
  const RunOutput r = run_linreg("train --device cpu --batch-size 1 --epochs 1 --data " + sq(dir.file("one.csv")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": 1 row (1 train, 0 validation), 1 feature, target 'y'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("trained 1 epoch of 1 example in"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(1 row)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("1 rows"), std::string::npos) << r.out;
  const RunOutput g = run_linreg("generate --examples 1 --features 1 --out -");
  EXPECT_NE(g.err.find("wrote 1 example with 1 feature"), std::string::npos) << g.err;
  expect_refused("train --device cpu --val-fraction 1", 2, "(got 1)");
  expect_refused("train --device cpu --val-fraction 1.5", 2, "(got 1.5)");
}

TEST(CliHostile, TheExactSolverRefusesSgdOnlyFlags) {
  for (const char* flag : {"--lr 0.1", "--epochs 5", "--batch-size 20", "--strategy fused"})
    expect_refused(std::string("train --device cpu --solver normal ") + flag, 2, "not used by --solver normal");
  // What it does use (the loss convention of the reported loss, the seed of the data) is fine,
  // and the SGD settings it has none of are null, not the defaults.
  const RunOutput r = run_linreg("train --device cpu --solver normal --loss mse --seed 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json_of(r);
  EXPECT_TRUE(j["epochs"].is_null());
  EXPECT_TRUE(j["lr"].is_null());
  EXPECT_TRUE(j["batch_size"].is_null());
  EXPECT_EQ(j["loss_kind"], "mse");
}

TEST(CliHostile, DivergencePrintsTheEpochLineThenTheError) {
  const RunOutput r = run_linreg("train --device cpu --lr 50 --epochs 20");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("device: cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 1, loss nan\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("-nan"), std::string::npos) << r.out;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("training diverged at epoch 1 (loss nan): --lr 50 is too large"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("-nan"), std::string::npos) << r.err;
  // With a validation set both losses show, as nan.
  const RunOutput v = run_linreg("train --device cpu --lr 50 --epochs 20 --val-fraction 0.2");
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("epoch 1, loss nan, val loss nan\n"), std::string::npos) << v.out;
}

TEST(CliHostile, ALongRunPrintsAndKeepsAThinnedHistory) {
  const std::string args = "train --device cpu --examples 10 --batch-size 10 --epochs 20000";
  const RunOutput r = run_linreg(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("printing every 20th epoch's line and the last"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("epoch 19,"), std::string::npos);
  EXPECT_NE(r.out.find("epoch 20, loss"), std::string::npos);
  EXPECT_NE(r.out.find("epoch 20000, loss"), std::string::npos);
  EXPECT_LT(count_lines(r.out), 1020);
  const RunOutput j = run_linreg(args + " --json");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto js = json_of(j);
  ASSERT_EQ(js["epoch_losses"].size(), 1000u);
  ASSERT_EQ(js["epoch_loss_epochs"].size(), 1000u);
  EXPECT_EQ(js["epoch_loss_epochs"][0], 20);
  EXPECT_EQ(js["epoch_loss_epochs"][999], 20000);
  EXPECT_EQ(js["epochs_run"], 20000);
  // Up to 1000 epochs, every one.
  EXPECT_EQ(json_of(run_linreg("train --device cpu --examples 10 --batch-size 10 --epochs 1000 --json"))["epoch_losses"].size(),
            1000u);
}

TEST(CliHostile, OverflowIsAnErrorThatNamesTheCause) {
  TempDir dir;
  const std::string model = dir.file("m.json"), data = dir.file("d.csv"), out = dir.file("p.csv");
  write_text(model, R"({"format": "linreg-model", "version": 1, "target": "y", "features": ["a"],
                        "weights": [1e300], "bias": 0, "standardize": null})");
  write_text(data, "a,y\n1,1\n1e10,2\n");
  const RunOutput r = run_linreg("predict --model " + sq(model) + " --data " + sq(data) + " --out " + sq(out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("the prediction for row 2 of " + data + " is inf"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("overflow"), std::string::npos) << r.err;
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"d.csv", "m.json"}));
  expect_refused("generate --true-w 3e38,3e38 --out " + sq(out), 2, "--true-w: labels could reach");
  expect_refused("train --device cpu --true-w 3e38,3e38", 2, "beyond the float32 range");
}

TEST(CliHostile, ModelFileErrorsAreInWords) {
  TempDir dir;
  write_text(dir.file("d.csv"), "a,y\n1,1\n");
  const std::string pred = " --data " + sq(dir.file("d.csv"));
  write_text(dir.file("empty_target.json"), R"({"format": "linreg-model", "version": 1, "target": "",
                        "features": ["a"], "weights": [1], "bias": 0})");
  expect_refused("predict --model " + sq(dir.file("empty_target.json")) + pred, 1,
                 "'target' must be the label column's name (a non-empty string)");
  write_text(dir.file("broken.json"), "{\"format\": \"linreg-model\",\n oops}");
  const RunOutput r = run_linreg("predict --model " + sq(dir.file("broken.json")) + pred);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("not a JSON model file (line 2, column 2: syntax error"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
  write_text(dir.file("ctl.json"), R"({"format": "linreg-model", "version": 1, "target": "y",
                        "features": ["a\u001b[2J"], "weights": [1], "bias": 0})");
  expect_refused("predict --model " + sq(dir.file("ctl.json")) + pred, 1, "'features'[0] contains a control character");
}

TEST(CliHostile, AFileNameThatIsNotUtf8StillGivesValidOutputs) {
  TempDir dir;
  const std::string data = dir.file("d\xff.csv");
  write_text(data, "a,y\n1,2\n2,3\n3,5\n4,4\n");
  const std::string model = dir.file("m.json"), plot = dir.file("p.svg");
  const RunOutput r = run_linreg("train --device cpu --solver normal --json --data " + sq(data) + " --save " + sq(model) +
                                 " --plot " + sq(plot));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NO_THROW(nlohmann::json::parse(r.out)) << r.out;
  EXPECT_NO_THROW(nlohmann::json::parse(read_file(model)));
  const std::string svg = read_file(plot);
  EXPECT_EQ(svg.find('\xff'), std::string::npos) << "the SVG is not UTF-8";
  EXPECT_NE(svg.find("d?.csv"), std::string::npos);
}

TEST(CliHostile, EveryErrorIsOneTerminalSafeLine) {
  TempDir dir;
  // A path with a newline and an escape sequence in it.
  const RunOutput r = run_linreg("train --device cpu --data \"$(printf '%s/x\\n\\033[2Jy.csv' " + sq(dir.path()) + ")\"");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  expect_refused("bench --device cpu --budget -5", 2, "--budget: must be a number of seconds > 0 (got -5)");
  expect_refused("tutorial --plot ''", 2, "--plot: empty path");
}

}  // namespace
}  // namespace linreg::test
