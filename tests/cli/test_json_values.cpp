// Values in `linreg train --json` checked against numbers computed here: the exact solver's
// loss is in the chosen convention, and float settings read back as the very float that ran.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "support.hpp"

namespace linreg {
namespace {

TEST(JsonValues, ExactSolverLossFollowsTheLossConvention) {
  const std::string data = "'" + test::source_path("tests/fixtures/diabetes.csv") + "'";
  for (const char* kind : {"half-mse", "mse"}) {
    const auto r = test::run_linreg("train --device cpu --data " + data + " --solver normal --loss " + kind + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const double mse = j["metrics"]["train"]["mse"].get<double>();
    // half-mse: Σ r²/2 / n = MSE/2; mse: MSE itself.
    const double expect = std::string(kind) == "half-mse" ? 0.5 * mse : mse;
    EXPECT_NEAR(j["loss"].get<double>(), expect, 1e-12 * expect) << kind;
  }
}

TEST(JsonValues, FloatSettingsReadBackAsTheFloatThatRan) {
  // 0.10000001f needs 8 significant digits to read back as itself (0.1 is another float).
  const auto r = test::run_linreg("train --device cpu --epochs 1 --lr 0.10000001 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(static_cast<float>(j["lr"].get<double>()), 0.10000001f);
  EXPECT_NE(static_cast<float>(j["lr"].get<double>()), 0.1f);
}

}  // namespace
}  // namespace linreg
