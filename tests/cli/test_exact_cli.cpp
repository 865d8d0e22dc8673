// `linreg train` with the exact solvers through the real binary: every --solver name, the
// coefficient table against R's published summary(lm) of the diabetes data, fits through the
// origin, ridge, weights (against replicated rows), values that need double precision end to
// end (train, save, predict), rank-deficient designs under auto, the flags' bad values, and
// where an exact fit runs (the GPU's results against the CPU's, skipped without a GPU).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "host/train/device.hpp"
#include "support.hpp"

namespace linreg {
namespace {

using test::run_linreg;
using test::RunOutput;
using test::TempDir;

std::string q(const std::string& s) { return "'" + s + "'"; }

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

const std::string& diabetes() {
  static const std::string p = test::source_path("tests/fixtures/diabetes.csv");
  return p;
}

nlohmann::json train_json(const std::string& args) {
  const RunOutput r = run_linreg("train --device cpu --json " + args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{};
}

std::vector<double> weights_of(const nlohmann::json& j) { return j["w"].get<std::vector<double>>(); }

TEST(ExactCli, EverySolverNameGivesTheSameFitOnDiabetes) {
  // The diabetes design is well conditioned once scaled (cond ≈ 1e2), so every factorisation
  // agrees to about cond² · 1e-16 ≈ 1e-12 relative (Cholesky's bound, the loosest); 1e-9 leaves
  // room for the intercept's cancellation at this scale (|b| ≈ 335 from terms of ≈ 1e3).
  const nlohmann::json ref = train_json("--data " + q(diabetes()) + " --solver qr");
  ASSERT_FALSE(ref.empty());
  EXPECT_EQ(ref["solver"], "qr");
  const std::vector<double> w_ref = weights_of(ref);
  const double b_ref = ref["b"].get<double>();
  const std::vector<std::pair<std::string, std::string>> names = {
      {"cholesky", "cholesky"}, {"normal", "cholesky"}, {"svd", "svd"}, {"auto", "auto"}, {"exact", "auto"}};
  for (const auto& [flag, reported] : names) {
    const nlohmann::json j = train_json("--data " + q(diabetes()) + " --solver " + flag);
    ASSERT_FALSE(j.empty()) << flag;
    EXPECT_EQ(j["solver"], reported) << flag;
    EXPECT_TRUE(test::all_close(w_ref, weights_of(j), 0, 1e-9)) << flag;
    EXPECT_NEAR(j["b"].get<double>(), b_ref, 1e-9 * std::fabs(b_ref)) << flag;
    EXPECT_EQ(j["intercept"], true);
  }
  // auto says which factorisation it chose and why.
  const nlohmann::json a = train_json("--data " + q(diabetes()) + " --solver auto");
  EXPECT_FALSE(a["solver_choice"].get<std::string>().empty());
}

TEST(ExactCli, CoefficientTableMatchesRsSummaryOfDiabetes) {
  // R 4.x, lm(progression ~ ., diabetes) on the same 442 rows (Efron et al.'s raw data), as
  // printed by summary(): t values to 3 decimals, p-values to 3 significant digits, residual
  // standard error 54.15 on 431 DF, R² 0.5177, adjusted 0.5066, F 46.27 on 10 and 431 DF.
  // The printed digits bound the error: |ours − R's| ≤ half a unit of the last printed digit.
  const nlohmann::json j = train_json("--data " + q(diabetes()) + " --solver qr");
  ASSERT_FALSE(j.empty());
  const nlohmann::json& inf = j["inference"];
  ASSERT_TRUE(inf["available"].get<bool>()) << inf.dump();
  EXPECT_EQ(inf["degrees_of_freedom"], 431);
  EXPECT_NEAR(inf["residual_standard_error"].get<double>(), 54.15, 0.005);
  EXPECT_NEAR(inf["r2"].get<double>(), 0.5177, 0.00005);
  EXPECT_NEAR(inf["adj_r2"].get<double>(), 0.5066, 0.00005);
  EXPECT_NEAR(inf["f_statistic"].get<double>(), 46.27, 0.005);
  EXPECT_EQ(inf["f_df"], nlohmann::json({10, 431}));
  EXPECT_LT(inf["f_p_value"].get<double>(), 2.2e-16);
  const std::vector<std::pair<std::string, double>> t_values = {
      {"age", -0.168}, {"sex", -3.917}, {"bmi", 7.813}, {"bp", 4.958}, {"s1", -1.901},
      {"s2", 1.406},   {"s3", 0.475},   {"s4", 1.097},  {"s5", 4.370}, {"s6", 1.025}};
  const std::vector<std::pair<std::string, double>> p_values = {
      {"age", 0.867}, {"s1", 0.0579}, {"s2", 0.160}, {"s3", 0.635}, {"s4", 0.273}, {"s6", 0.306}};
  const auto find = [&](const std::string& name) {
    for (const auto& c : inf["coefficients"])
      if (c["name"] == name) return c;
    ADD_FAILURE() << "no coefficient " << name;
    return nlohmann::json{};
  };
  for (const auto& [name, t] : t_values) EXPECT_NEAR(find(name)["t_value"].get<double>(), t, 0.0005) << name;
  for (const auto& [name, p] : p_values) {
    const double got = find(name)["p_value"].get<double>();
    EXPECT_NEAR(got, p, 0.5 * std::pow(10.0, std::floor(std::log10(p)) - 2)) << name;
  }
  // The estimate ± t(0.975, 431)·SE is the interval; t(0.975, 431) = 1.965483 (R: qt(0.975, 431)).
  const nlohmann::json bmi = find("bmi");
  const double est = bmi["estimate"].get<double>(), se = bmi["std_error"].get<double>();
  EXPECT_NEAR(bmi["ci95"][0].get<double>(), est - 1.965483 * se, 1e-6 * se);
  EXPECT_NEAR(bmi["ci95"][1].get<double>(), est + 1.965483 * se, 1e-6 * se);
  EXPECT_NEAR(find("(Intercept)")["estimate"].get<double>(), j["b"].get<double>(), 0);

  // The same table as text, intercept first as R prints it.
  const RunOutput r = run_linreg("train --device cpu --data " + q(diabetes()) + " --solver qr");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("coefficients:\n"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("(Intercept)"), r.out.find("  age  ")) << r.out;
  EXPECT_NE(r.out.find("residual standard error 54.15"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("on 431 degrees of freedom"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("F statistic 46.27"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("on 10 and 431 DF, p-value < 2.2e-16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("R^2 0.5177"), std::string::npos) << r.out;
}

TEST(ExactCli, ThroughTheOriginEqualsTheClosedForm) {
  // One feature without an intercept: w = Σxy / Σx², R² about zero (R's convention), F on 1 and
  // n − 1 DF. Data in small integers: the sums are exact, so w is the correctly rounded quotient
  // up to the factorisation's few ulps.
  TempDir dir;
  const std::string f = dir.file("o.csv");
  write(f, "x,y\n1,2.5\n2,3.5\n3,7\n4,7.5\n5,11\n");
  const double sxy = 1 * 2.5 + 2 * 3.5 + 3 * 7 + 4 * 7.5 + 5 * 11, sxx = 1 + 4 + 9 + 16 + 25;
  for (const char* solver : {"cholesky", "qr", "svd", "auto"}) {
    const nlohmann::json j = train_json("--data " + q(f) + " --no-intercept --solver " + std::string(solver));
    ASSERT_FALSE(j.empty()) << solver;
    EXPECT_EQ(j["b"].get<double>(), 0.0) << solver;
    EXPECT_NEAR(j["w"][0].get<double>(), sxy / sxx, 1e-14) << solver;
    EXPECT_EQ(j["intercept"], false);
    EXPECT_EQ(j["inference"]["degrees_of_freedom"], 4) << solver;
    EXPECT_EQ(j["inference"]["f_df"], nlohmann::json({1, 4})) << solver;
  }
  // SGD through the origin: b stays exactly 0 (never updated) and w reaches the same optimum.
  // 2000 epochs of batch 1 at lr 0.01 on 5 rows: the iterate's noise ball is about lr·σ_g, far
  // below the 1e-2 asked here.
  const nlohmann::json s = train_json("--data " + q(f) + " --no-intercept --epochs 2000 --batch-size 5 --lr 0.01");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s["b"].get<double>(), 0.0);
  EXPECT_NEAR(s["w"][0].get<double>(), sxy / sxx, 1e-4);
  EXPECT_EQ(s["intercept"], false);
}

TEST(ExactCli, RidgeShrinksAndHasNoTable) {
  const nlohmann::json ols = train_json("--data " + q(diabetes()) + " --solver cholesky");
  const nlohmann::json zero = train_json("--data " + q(diabetes()) + " --solver cholesky --ridge 0");
  ASSERT_FALSE(ols.empty());
  ASSERT_FALSE(zero.empty());
  EXPECT_TRUE(test::all_close(weights_of(ols), weights_of(zero), 0, 0));  // α = 0 is least squares
  double previous = INFINITY;
  for (const char* alpha : {"10", "1000", "100000"}) {
    const nlohmann::json j = train_json("--data " + q(diabetes()) + " --solver qr --ridge " + std::string(alpha));
    ASSERT_FALSE(j.empty()) << alpha;
    double norm = 0;
    for (double w : weights_of(j)) norm += w * w;
    EXPECT_LT(norm, previous) << "‖w‖ must shrink as alpha grows (alpha " << alpha << ")";
    previous = norm;
    EXPECT_EQ(j["ridge"].get<double>(), std::stod(alpha));
    EXPECT_FALSE(j["inference"]["available"].get<bool>());
    EXPECT_NE(j["inference"]["why_not"].get<std::string>().find("ridge"), std::string::npos);
  }
  const RunOutput r = run_linreg("train --device cpu --data " + q(diabetes()) + " --solver qr --ridge 10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no standard errors: a ridge fit"), std::string::npos) << r.out;
}

TEST(ExactCli, IntegerWeightsEqualReplicatedRows) {
  // Weighted least squares with weight k equals the fit on the row repeated k times (the same
  // normal equations); a weight of 0 drops the row. Both runs solve well-conditioned 3-column
  // systems: 1e-10 relative is far above their rounding error.
  TempDir dir;
  const std::string weighted = dir.file("w.csv"), replicated = dir.file("r.csv");
  std::string wt = "a,b,v,y\n", rp = "a,b,y\n";
  const double rows[][4] = {{1, 2, 1, 3.1}, {2, 1, 3, 4.2}, {3, 5, 2, 1.3}, {4, 4, 0, 40}, {5, 0, 1, 2.7},
                            {6, 3, 2, 5.9}, {7, 7, 1, 3.3}, {8, 2, 4, 9.4}};
  for (const auto& r : rows) {
    char line[96];
    std::snprintf(line, sizeof line, "%g,%g,%g,%g\n", r[0], r[1], r[2], r[3]);
    wt += line;
    std::snprintf(line, sizeof line, "%g,%g,%g\n", r[0], r[1], r[3]);
    for (int k = 0; k < static_cast<int>(r[2]); ++k) rp += line;
  }
  write(weighted, wt);
  write(replicated, rp);
  for (const char* solver : {"cholesky", "qr", "svd"}) {
    const nlohmann::json a = train_json("--data " + q(weighted) + " --weights v --solver " + std::string(solver));
    const nlohmann::json b = train_json("--data " + q(replicated) + " --solver " + std::string(solver));
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(a["feature_names"], nlohmann::json({"a", "b"})) << "the weights column is not a feature";
    EXPECT_EQ(a["weights"], "v");
    EXPECT_TRUE(test::all_close(weights_of(b), weights_of(a), 1e-12, 1e-10)) << solver;
    EXPECT_NEAR(a["b"].get<double>(), b["b"].get<double>(), 1e-10 * (1 + std::fabs(b["b"].get<double>()))) << solver;
  }
  // Weighted SGD runs on the CPU; asked for the GPU it says so.
  const RunOutput s = run_linreg("train --device cpu --data " + q(weighted) + " --weights v --epochs 5 --batch-size 2");
  EXPECT_EQ(s.exit_code, 0) << s.err;
  const RunOutput g = run_linreg("train --device gpu --data " + q(weighted) + " --weights v --epochs 5 --batch-size 2");
  EXPECT_NE(g.exit_code, 0);
  EXPECT_NE(g.err.find("weighted SGD runs on the CPU only"), std::string::npos) << g.err;
  EXPECT_TRUE(g.out.empty()) << g.out;
}

TEST(ExactCli, DoublePrecisionEndToEnd) {
  // y = 1e8 + 0.5·x: float32 spacing at 1e8 is 8, so a float copy of y would lose the slope
  // entirely; the values are exact in double, so the fit is exact to a few double ulps of 1e8
  // (1.5e-8 each) and the predictions reproduce y.
  TempDir dir;
  const std::string f = dir.file("big.csv"), model = dir.file("m.json"), pred = dir.file("p.csv");
  std::string text = "x,y\n";
  for (int i = 1; i <= 20; ++i) text += std::to_string(i) + "," + std::to_string(100000000.0 + 0.5 * i) + "\n";
  write(f, text);
  const nlohmann::json j = train_json("--data " + q(f) + " --solver qr --save " + q(model));
  ASSERT_FALSE(j.empty());
  EXPECT_NEAR(j["w"][0].get<double>(), 0.5, 1e-9);
  EXPECT_NEAR(j["b"].get<double>(), 1e8, 1e-6);
  const RunOutput p = run_linreg("predict --model " + q(model) + " --data " + q(f) + " --out " + q(pred));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::ifstream in(pred);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "prediction");
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(std::getline(in, line)) << i;
    EXPECT_NEAR(std::stod(line), 100000000.0 + 0.5 * i, 1e-6) << "row " << i;
  }
}

TEST(ExactCli, AutoDropsDependentColumnsAsR) {
  // b = 2a exactly: R's lm reports b as NA ("not defined because of singularities") and fits the
  // rest; auto does the same, cholesky and qr refuse naming the column, svd gives the minimum-norm
  // split of the shared weight.
  TempDir dir;
  const std::string f = dir.file("dup.csv");
  write(f, "a,b,c,y\n1,2,5,3\n2,4,1,4.5\n3,6,4,6.1\n4,8,2,7.9\n5,10,3,9.2\n6,12,0,11.8\n");
  const nlohmann::json j = train_json("--data " + q(f) + " --solver auto");
  ASSERT_FALSE(j.empty());
  EXPECT_EQ(j["inference"]["aliased"], nlohmann::json({"b"}));
  EXPECT_EQ(j["w"][1].get<double>(), 0.0);
  const RunOutput t = run_linreg("train --device cpu --data " + q(f) + " --solver auto");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("(1 not defined because of singularities)"), std::string::npos) << t.out;
  for (const char* solver : {"cholesky", "qr"}) {
    const RunOutput r = run_linreg("train --device cpu --data " + q(f) + " --solver " + std::string(solver));
    EXPECT_NE(r.exit_code, 0) << solver;
    EXPECT_NE(r.err.find("'b'"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("sgd"), std::string::npos) << "no advice to use SGD: " << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  const nlohmann::json s = train_json("--data " + q(f) + " --solver svd");
  ASSERT_FALSE(s.empty());
  // Minimum norm: the weight of the combined direction a + 2b splits as w_b = 2·w_a.
  EXPECT_NEAR(s["w"][1].get<double>(), 2 * s["w"][0].get<double>(), 1e-9 * (1 + std::fabs(s["w"][1].get<double>())));
}

TEST(ExactCli, BadValuesAreOneLineNamingTheFlag) {
  TempDir dir;
  const std::string f = dir.file("d.csv");
  write(f, "a,v,y\n1,1,2\n2,2,3\n3,1,5\n4,1,4\n");
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"--data " + q(f) + " --solver qr --ridge -1", "--ridge"},
      {"--data " + q(f) + " --solver qr --ridge nan", "--ridge"},
      {"--data " + q(f) + " --ridge 1", "--ridge: an L2 penalty of the exact solvers"},
      {"--weights v", "--weights: needs --data"},
      {"--data " + q(f) + " --weights zz --solver qr", "zz"},
      {"--data " + q(f) + " --solver lu", "--solver: unknown value 'lu'"},
      {"--data " + q(f) + " --solver svd --epochs 3", "--epochs: not used by --solver svd"},
  };
  for (const auto& c : cases) {
    const RunOutput r = run_linreg("train --device cpu " + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(test::count_lines(r.err), 1) << c.args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
  }
}

TEST(ExactCli, SmallExactFitsStayOnTheCpuUnderAuto) {
  // 442 × 10: far below the 1e10 multiply-adds that pay for loading the GPU module, so --device
  // auto solves on the CPU whether or not a GPU is there, with no fallback note; --device gpu on a
  // machine without one is one line naming why, and nothing on stdout.
  const RunOutput a = run_linreg("train --device auto --json --data " + q(diabetes()) + " --solver qr");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const nlohmann::json j = nlohmann::json::parse(a.out);
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_FALSE(j.contains("note")) << j["note"];
  EXPECT_TRUE(j["inference"]["available"].get<bool>());
  const GpuProbe probe = probe_gpu();
  if (probe.usable) GTEST_SKIP() << "a GPU is usable: ExactCliGpu covers --device gpu";
  for (const char* solver : {"cholesky", "qr", "svd", "auto"}) {
    const RunOutput g = run_linreg("train --device gpu --data " + q(diabetes()) + " --solver " + solver);
    EXPECT_NE(g.exit_code, 0) << solver;
    EXPECT_TRUE(g.out.empty()) << g.out;
    EXPECT_NE(g.err.find("--device gpu"), std::string::npos) << g.err;
    EXPECT_EQ(std::count(g.err.begin(), g.err.end(), '\n'), 1) << g.err;
  }
}

TEST(ExactCliGpu, EverySolverAndModelMatchesTheCpu) {
  const GpuProbe probe = probe_gpu();
  if (!probe.usable) GTEST_SKIP() << "no usable GPU: " << probe.reason;
  // The same fit with its pass over the data on the GPU: the diabetes design is well conditioned
  // scaled (cond ≈ 1e2), so both sides agree to about cond² · ε ≈ 1e-12 relative (the Gram
  // matrix's bound); 1e-9 is the room the CPU test above also leaves for the intercept.
  TempDir dir;
  const std::string weighted = dir.file("w.csv");
  std::ifstream in(diabetes());
  std::string line, text;
  std::getline(in, line);
  text = line + ",v\n";
  for (int i = 0; std::getline(in, line); ++i) text += line + "," + std::to_string(1 + i % 3) + "\n";
  write(weighted, text);
  const std::vector<std::string> models = {"", " --no-intercept", " --ridge 3", " --weights v"};
  for (const char* solver : {"cholesky", "qr", "svd", "auto"})
    for (const std::string& model : models) {
      const std::string data = model == " --weights v" ? weighted : diabetes();
      const std::string args = "--json --data " + q(data) + " --solver " + solver + model;
      const RunOutput g = run_linreg("train --device gpu " + args), c = run_linreg("train --device cpu " + args);
      ASSERT_EQ(g.exit_code, 0) << args << "\n" << g.err;
      ASSERT_EQ(c.exit_code, 0) << args << "\n" << c.err;
      const nlohmann::json jg = nlohmann::json::parse(g.out), jc = nlohmann::json::parse(c.out);
      EXPECT_EQ(jg["backend"], "cuda") << args;
      EXPECT_EQ(jg["strategy"].get<std::string>().substr(0, 3), jc["strategy"].get<std::string>().substr(0, 3)) << args;
      EXPECT_TRUE(test::all_close(weights_of(jc), weights_of(jg), 0, 1e-9)) << args;
      EXPECT_NEAR(jg["b"].get<double>(), jc["b"].get<double>(), 1e-9 * (1 + std::fabs(jc["b"].get<double>()))) << args;
      EXPECT_EQ(jg["inference"]["available"], jc["inference"]["available"]) << args;
      if (jc["inference"]["available"].get<bool>())
        for (size_t k = 0; k < jc["inference"]["coefficients"].size(); ++k) {
          const double se = jc["inference"]["coefficients"][k]["std_error"].get<double>();
          EXPECT_NEAR(jg["inference"]["coefficients"][k]["std_error"].get<double>(), se, 1e-9 * se) << args << " " << k;
        }
    }
  // A dependent column is named the same way on the GPU.
  const std::string dup = dir.file("dup.csv");
  write(dup, "a,b,y\n1,2,2\n2,4,3\n3,6,5\n4,8,4\n5,10,7\n");
  const RunOutput s = run_linreg("train --device gpu --data " + q(dup) + " --solver qr");
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("column 'b' duplicates column 'a'"), std::string::npos) << s.err;
}

}  // namespace
}  // namespace linreg
