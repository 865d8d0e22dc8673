// Model files: a round trip keeps every number exactly; malformed or mismatched files are refused
// with a message naming the file and the field.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "host/data/model_io.hpp"
#include "host/core/error.hpp"
#include "support.hpp"

namespace linreg::data {
namespace {

Model sample() {
  Model m;
  m.target = "price";
  m.features = {"rooms", "area, m²", "age"};
  m.w = {0.1, -3.4000000000000004, 1e-300};
  m.b = 4.2;
  m.scaling.mean = {3, 80.5, 20};
  m.scaling.scale = {1, 30, 7.25};
  m.training = {{"solver", "sgd"}, {"epochs", 3}};
  m.metrics = {{"train", {{"mse", 0.5}}}};
  return m;
}

TEST(ModelIo, RoundTripIsExact) {
  linreg::test::TempDir dir;
  const Model m = sample();
  save_model(dir.file("m.json"), m);
  const Model r = load_model(dir.file("m.json"));
  EXPECT_EQ(r.target, m.target);
  EXPECT_EQ(r.features, m.features);
  EXPECT_EQ(r.w, m.w);
  EXPECT_EQ(r.b, m.b);
  EXPECT_EQ(r.scaling.mean, m.scaling.mean);
  EXPECT_EQ(r.scaling.scale, m.scaling.scale);
  EXPECT_EQ(r.training, m.training);
  EXPECT_EQ(r.metrics, m.metrics);
}

std::string error_for(const nlohmann::json& j) {
  try {
    model_from_json(j, "m.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelIo, MalformedModelsAreRefused) {
  const nlohmann::json good = model_to_json(sample());
  EXPECT_EQ(error_for(good), "");
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"not an object", [](auto& j) { j = nlohmann::json::array(); }, "not a linreg model"},
      {"wrong format", [](auto& j) { j["format"] = "other"; }, "not a linreg model"},
      {"future version", [](auto& j) { j["version"] = 2; }, "unsupported model version"},
      {"width", [](auto& j) { j["weights"].push_back(1.0); }, "'weights' has 4 values but 'features' names 3 columns"},
      {"no features", [](auto& j) { j["features"] = nlohmann::json::array(); }, "'features' must be a non-empty"},
      {"dup names", [](auto& j) { j["features"][1] = "rooms"; }, "names 'rooms' twice"},
      {"empty name", [](auto& j) { j["features"][0] = ""; }, "'features'[0]"},
      {"target is feature", [](auto& j) { j["features"][0] = "price"; }, "contains the target"},
      {"weight text", [](auto& j) { j["weights"][2] = "x"; }, "'weights'[2] is not a number"},
      {"bias missing", [](auto& j) { j.erase("bias"); }, "'bias' must be a finite number"},
      {"scaling width", [](auto& j) { j["standardize"]["mean"].erase(0); }, "'standardize'"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = good;
    c.edit(j);
    const std::string err = error_for(j);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.what << ": '" << err << "'";
    EXPECT_EQ(err.rfind("m.json: ", 0), 0u) << c.what << ": " << err;
  }
}

TEST(ModelIo, NotJsonOrMissingFile) {
  linreg::test::TempDir dir;
  std::ofstream(dir.file("bad.json")) << "{\"format\": \"linreg-model\",\n oops";
  try {
    load_model(dir.file("bad.json"));
    FAIL();
  } catch (const InputError& e) {
    const std::string s = e.what();
    EXPECT_NE(s.find("not a JSON model file"), std::string::npos) << s;
    EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  }
  EXPECT_THROW(load_model(dir.file("missing.json")), InputError);
}

}  // namespace
}  // namespace linreg::data
