// `linreg train` through the real binary: the lab's problem end to end, --json's contract, and
// every bad input (non-zero exit, one stderr line naming the flag, empty stdout).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "support.hpp"

namespace linreg {
namespace {

using test::count_lines;
using test::run_linreg;

TEST(CliTrain, LabProblemOnTheCpu) {
  const auto r = run_linreg("train --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("device: cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 1, loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 3, loss "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("epoch 4,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("true w: [2, -3.4]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("samples/s"), std::string::npos) << r.out;
}

TEST(CliTrain, JsonIsOneObjectWithTheDocumentedKeys) {
  const auto r = run_linreg("train --device cpu --examples 3000 --features 5 --batch-size 64 --epochs 4 --seed 9 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(count_lines(r.out), 1) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"device", "backend", "examples", "features", "batch_size", "lr", "epochs", "seed", "loss",
                          "epoch_losses", "w", "b", "true_w", "true_b", "train_seconds", "samples_per_second"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["backend"], "cpu");
  EXPECT_EQ(j["examples"], 3000);
  EXPECT_EQ(j["features"], 5);
  EXPECT_EQ(j["epochs"], 4);
  EXPECT_EQ(j["seed"], 9);
  EXPECT_EQ(j["lr"].get<double>(), 0.03);
  EXPECT_EQ(j["epoch_losses"].size(), 4u);
  EXPECT_EQ(j["w"].size(), 5u);
  EXPECT_EQ(j["true_w"], nlohmann::json::parse("[-2.0, -1.2, -0.4, 0.4, 1.2]"));
  EXPECT_DOUBLE_EQ(j["loss"].get<double>(), j["epoch_losses"].back().get<double>());
  EXPECT_GT(j["samples_per_second"].get<double>(), 0);
}

TEST(CliTrain, SameSeedSameResult) {
  const auto a = run_linreg("train --device cpu --json --seed 5");
  const auto b = run_linreg("train --device cpu --json --seed 5");
  const auto c = run_linreg("train --device cpu --json --seed 6");
  ASSERT_EQ(a.exit_code, 0);
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out), jc = nlohmann::json::parse(c.out);
  EXPECT_EQ(ja["w"], jb["w"]);
  EXPECT_EQ(ja["epoch_losses"], jb["epoch_losses"]);
  EXPECT_NE(ja["w"], jc["w"]);
}

TEST(CliTrain, TrueWeightsSetTheFeatureCount) {
  const auto r = run_linreg("train --device cpu --true-w 1,2,3 --true-b -1 --epochs 5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["features"], 3);
  EXPECT_NEAR(j["w"][2].get<double>(), 3.0, 5e-3);
  EXPECT_NEAR(j["b"].get<double>(), -1.0, 5e-3);
}

TEST(CliTrain, MseLossIsTwiceHalfMseAtTheSameParameters) {
  // Same data, same shuffles; with mse the gradient doubles, so use half the lr: identical steps.
  const auto h = run_linreg("train --device cpu --json --loss half-mse --lr 0.02");
  const auto m = run_linreg("train --device cpu --json --loss mse --lr 0.01");
  ASSERT_EQ(h.exit_code, 0);
  ASSERT_EQ(m.exit_code, 0);
  const auto jh = nlohmann::json::parse(h.out), jm = nlohmann::json::parse(m.out);
  EXPECT_EQ(jm["loss_kind"], "mse");
  for (size_t e = 0; e < 3; ++e)
    EXPECT_NEAR(jm["epoch_losses"][e].get<double>(), 2 * jh["epoch_losses"][e].get<double>(),
                1e-6 * jm["epoch_losses"][e].get<double>());
}

struct BadInput {
  const char* args;
  const char* flag;  // the message must name it
};

class CliTrainBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliTrainBadInput, OneLineNamingTheFlagAndNothingOnStdout) {
  const auto r = run_linreg(std::string("train --device cpu ") + GetParam().args);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(GetParam().flag), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Issue2, CliTrainBadInput,
    ::testing::Values(BadInput{"--batch-size 0", "--batch-size"}, BadInput{"--batch-size 1001", "--batch-size"},
                      BadInput{"--batch-size -3", "--batch-size"}, BadInput{"--lr -0.1", "--lr"},
                      BadInput{"--lr 0", "--lr"}, BadInput{"--lr nan", "--lr"}, BadInput{"--lr inf", "--lr"},
                      BadInput{"--lr abc", "--lr"}, BadInput{"--epochs 0", "--epochs"},
                      BadInput{"--examples 0", "--examples"}, BadInput{"--noise -1", "--noise"},
                      BadInput{"--features 3 --true-w 1,2", "--true-w"}, BadInput{"--true-w 1,two", "--true-w"},
                      BadInput{"--true-w ''", "--true-w"}, BadInput{"--device tpu", "--device"},
                      BadInput{"--loss l1", "--loss"}, BadInput{"--strategy warp", "--strategy"},
                      BadInput{"--examples 12x", "--examples"}, BadInput{"--bogus 1", "--bogus"}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

TEST(CliTrain, DeviceAutoWithoutGpuNotesTheFallbackOnStderr) {
  const auto r = run_linreg("train --device auto --epochs 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);  // stdout is still one JSON object
  if (j["backend"] == "cpu") {
    EXPECT_NE(r.err.find("training on the CPU"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
}

TEST(CliTrain, DivergenceStopsWithAHintAndFails) {
  const auto r = run_linreg("train --device cpu --lr 50 --epochs 20");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("diverged at epoch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("smaller --lr"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("epoch 20,"), std::string::npos) << r.out;  // stopped early
  const auto j = run_linreg("train --device cpu --lr 50 --epochs 20 --json");
  EXPECT_NE(j.exit_code, 0);
  EXPECT_EQ(j.out, "");
}

TEST(Cli, HelpReadsWell) {
  const auto top = run_linreg("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("train"), std::string::npos);
  const auto train = run_linreg("train --help");
  EXPECT_EQ(train.exit_code, 0);
  for (const char* flag : {"--device", "--examples", "--features", "--true-w", "--true-b", "--noise", "--batch-size",
                           "--lr", "--epochs", "--seed", "--loss", "--json"})
    EXPECT_NE(train.out.find(flag), std::string::npos) << flag;
  const auto none = run_linreg("");
  EXPECT_NE(none.exit_code, 0);
  EXPECT_EQ(count_lines(none.err), 1) << none.err;
}

}  // namespace
}  // namespace linreg

namespace linreg {
namespace {

TEST(CliTrain, TooLargeForMemoryIsOneClearLine) {
  // 10^9 × 4096 floats: 16 TB, more than any machine running this suite has.
  const auto r = test::run_linreg("train --device cpu --examples 1000000000 --features 4096 --batch-size 10");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--examples"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GB"), std::string::npos) << r.err;
}

TEST(CliTrain, NegativeSeedIsRefused) {
  const auto r = test::run_linreg("train --device cpu --seed -1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--seed"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace linreg
