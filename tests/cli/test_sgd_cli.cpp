// `linreg train`'s SGD rules through the real binary: what a run used is in its JSON and its
// report, a rule's setting given without the rule is refused, every bad value is one line naming
// its flag with nothing on stdout, and the GPU says plainly that it runs the plain step only.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "host/train/device.hpp"
#include "support.hpp"

namespace linreg {
namespace {

using test::run_linreg;
using test::RunOutput;

TEST(SgdCli, WhatRanIsReported) {
  const RunOutput r = run_linreg(
      "train --device cpu --json --optimizer adam --beta1 0.8 --lr 0.05 --lr-schedule step --lr-step-epochs 2 "
      "--lr-gamma 0.5 --penalty l2 --alpha 0.001 --epochs 4 --average");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["optimizer"], "adam");
  EXPECT_EQ(j["beta1"], 0.8);
  EXPECT_EQ(j["beta2"], 0.999);
  EXPECT_EQ(j["lr_schedule"], "step");
  EXPECT_EQ(j["lr_step_epochs"], 2);
  EXPECT_EQ(j["lr_gamma"], 0.5);
  EXPECT_EQ(j["penalty"], "l2");
  EXPECT_EQ(j["alpha"], 0.001);
  EXPECT_EQ(j["average"], true);
  EXPECT_EQ(j["momentum"], nullptr);
  // AdamW's default weight decay is torch's, 0.01; the others' 0.
  const RunOutput w = run_linreg("train --device cpu --json --optimizer adamw --epochs 1");
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_EQ(nlohmann::json::parse(w.out)["weight_decay"], 0.01);
  const RunOutput t = run_linreg("train --device cpu --optimizer nesterov --momentum 0.5 --epochs 2");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("steps: nesterov (momentum 0.5), learning rate constant"), std::string::npos) << t.out;
  // The defaults print nothing new: the lab's output stays the lab's.
  const RunOutput lab = run_linreg("train --device cpu");
  EXPECT_EQ(lab.out.find("steps:"), std::string::npos) << lab.out;
}

TEST(SgdCli, EarlyStoppingSaysWhy) {
  const RunOutput r = run_linreg("train --device cpu --epochs 40 --early-stopping --patience 2 --tol 1000");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("stopped early after epoch 3: the training loss did not improve by more than 1000 for 2 epochs"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("epoch 4,"), std::string::npos) << r.out;
  const RunOutput j = run_linreg("train --device cpu --json --epochs 40 --early-stopping --patience 2 --tol 1000");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto o = nlohmann::json::parse(j.out);
  EXPECT_EQ(o["epochs_run"], 3);
  EXPECT_EQ(o["best_epoch"], 3);
  EXPECT_EQ(o["epoch_losses"].size(), 3u);
}

TEST(SgdCli, BadValuesAreOneLineNamingTheFlag) {
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"--optimizer rmsprop", "--optimizer: unknown value 'rmsprop'"},
      {"--penalty l3", "--penalty: unknown value 'l3'"},
      {"--lr-schedule linear", "--lr-schedule: unknown value 'linear'"},
      {"--optimizer momentum --momentum 1", "--momentum"},
      {"--optimizer momentum --momentum -0.1", "--momentum"},
      {"--optimizer adam --beta1 1", "--beta1"},
      {"--optimizer adam --beta2 1.5", "--beta2"},
      {"--optimizer adam --eps 0", "--eps"},
      {"--weight-decay -1", "--weight-decay"},
      {"--penalty l2 --alpha -0.5", "--alpha"},
      {"--penalty elasticnet --l1-ratio 2", "--l1-ratio"},
      {"--penalty l1 --optimizer adam", "--penalty"},
      {"--lr-schedule step --lr-gamma 0", "--lr-gamma"},
      {"--lr-schedule step --lr-step-epochs 0", "--lr-step-epochs"},
      {"--lr-schedule invscaling --power-t -1", "--power-t"},
      {"--lr-schedule warmup-cosine --warmup-epochs 3 --epochs 3", "--warmup-epochs"},
      {"--early-stopping --patience 0", "--patience"},
      {"--early-stopping --tol -1", "--tol"},
      {"--momentum 0.5", "--momentum: used only with --optimizer momentum|nesterov"},
      {"--alpha 0.1", "--alpha: used only with --penalty"},
      {"--patience 3", "--patience: used only with --early-stopping"},
      {"--power-t 0.5", "--power-t: used only with --lr-schedule invscaling"},
      {"--optimizer adamw --lr 10 --weight-decay 0.5", "--weight-decay"},
      {"--solver qr --data '" + test::source_path("tests/fixtures/diabetes.csv") + "' --optimizer adam",
       "--optimizer: not used by --solver qr"},
      {"--solver auto --data '" + test::source_path("tests/fixtures/diabetes.csv") + "' --early-stopping",
       "--early-stopping: not used by --solver auto"},
  };
  for (const auto& c : cases) {
    const RunOutput r = run_linreg("train --device cpu " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << c.args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
  }
}

TEST(SgdCli, TheGpuRunsTheRulesOrSaysWhyNot) {
  // With a usable GPU the rules train there; without one,
  // --device gpu is one line naming why and nothing on stdout, and --device auto trains on the CPU.
  const RunOutput r = run_linreg("train --device gpu --optimizer adam --penalty l2 --alpha 0.001 --epochs 2 --json");
  if (probe_gpu().usable) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["backend"], "cuda");
  } else {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("--device gpu"), std::string::npos) << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
    const RunOutput a = run_linreg("train --device auto --optimizer adam --epochs 2 --json");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(nlohmann::json::parse(a.out)["backend"], "cpu");
  }
}

}  // namespace
}  // namespace linreg
