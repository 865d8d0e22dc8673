// Regression metrics against values worked by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "host/data/metrics.hpp"

namespace linreg::data {
namespace {

TEST(Metrics, HandWorkedExample) {
  // y = [1, 2, 3, 4], ŷ = [1.5, 2, 2, 4]: residuals 0.5, 0, −1, 0.
  HostDataset ds;
  ds.n = 4;
  ds.d = 1;
  ds.X = {1, 2, 3, 4};
  ds.y = {1, 2, 3, 4};
  const std::vector<double> pred{1.5, 2, 2, 4};
  const Metrics m = compute_metrics(ds.y, pred);
  EXPECT_DOUBLE_EQ(m.mse, 1.25 / 4);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.25 / 4));
  EXPECT_DOUBLE_EQ(m.mae, 1.5 / 4);
  EXPECT_DOUBLE_EQ(m.r2, 1.0 - 1.25 / 5.0);  // SS_tot = 2.25 + 0.25 + 0.25 + 2.25
  EXPECT_EQ(m.rows, 4);
}

TEST(Metrics, PerfectFitAndPredict) {
  HostDataset ds;
  ds.n = 3;
  ds.d = 2;
  ds.X = {1, 0, 0, 1, 2, 2};
  ds.y = {3, -1, 1};  // y = 2·x0 − 2·x1 + 1 exactly
  const Metrics m = compute_metrics(ds, {2, -2}, 1);
  EXPECT_DOUBLE_EQ(m.mse, 0);
  EXPECT_DOUBLE_EQ(m.r2, 1);
  EXPECT_EQ(predict(ds, {2, -2}, 1), (std::vector<double>{3, -1, 1}));
}

TEST(Metrics, ConstantTargetHasNoR2) {
  const Metrics m = compute_metrics(std::vector<float>{2, 2, 2}, std::vector<double>{2, 2, 2.5});
  EXPECT_TRUE(std::isnan(m.r2));
  EXPECT_TRUE(metrics_json(m)["r2"].is_null());
  EXPECT_NE(metrics_text(m).find("n/a"), std::string::npos);
}

TEST(Metrics, AccumulatesInDouble) {
  // 10⁶ residuals of 1e-4 on labels near 1e4: float sums would lose them; double keeps 1e-8.
  std::vector<float> y(1000000, 10000.0f);
  std::vector<double> pred(y.size(), 10000.0001);
  const Metrics m = compute_metrics(y, pred);
  EXPECT_NEAR(m.mse, 1e-8, 1e-12);
  EXPECT_NEAR(m.mae, 1e-4, 1e-10);
}

}  // namespace
}  // namespace linreg::data
