// Model file save/load (see model_io.hpp).
#include "host/data/model_io.hpp"

#include <cmath>
#include <set>

#include "host/data/csv.hpp"
#include "host/core/error.hpp"
#include "host/io/atomic_file.hpp"

namespace linreg::data {
namespace {

constexpr const char* kFormat = "linreg-model";
constexpr int kVersion = 1;

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw InputError(source + ": " + what);
}

std::vector<double> numbers(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.contains(key)) bad(source, std::string("missing '") + key + "'");
  const auto& a = j.at(key);
  if (!a.is_array()) bad(source, std::string("'") + key + "' must be an array of numbers");
  std::vector<double> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number()) bad(source, std::string("'") + key + "'[" + std::to_string(i) + "] is not a number");
    const double v = a[i].get<double>();
    if (!std::isfinite(v)) bad(source, std::string("'") + key + "'[" + std::to_string(i) + "] is not finite");
    out.push_back(v);
  }
  return out;
}

}  // namespace

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json model_to_json(const Model& m) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["target"] = m.target;
  j["features"] = m.features;
  j["weights"] = m.w;
  j["bias"] = m.b;
  if (m.scaling.empty()) {
    j["standardize"] = nullptr;
  } else {
    j["standardize"] = {{"mean", m.scaling.mean}, {"scale", m.scaling.scale}};
  }
  j["training"] = m.training;
  j["metrics"] = m.metrics;
  return j;
}

Model model_from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) bad(source, "not a linreg model (expected a JSON object)");
  if (!j.contains("format") || j["format"] != kFormat)
    bad(source, std::string("not a linreg model (\"format\" is not \"") + kFormat + "\")");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != kVersion)
    bad(source, "unsupported model version (this linreg reads version " + std::to_string(kVersion) + ")");
  Model m;
  if (!j.contains("target") || !j["target"].is_string() || j["target"].get<std::string>().empty())
    bad(source, "'target' must be the label column's name (a non-empty string)");
  m.target = j["target"].get<std::string>();
  if (const std::string why = name_problem(m.target); !why.empty()) bad(source, "'target' " + why);
  if (!j.contains("features") || !j["features"].is_array() || j["features"].empty())
    bad(source, "'features' must be a non-empty array of column names");
  std::set<std::string> seen;
  for (size_t i = 0; i < j["features"].size(); ++i) {
    const auto& f = j["features"][i];
    if (!f.is_string() || f.get<std::string>().empty())
      bad(source, "'features'[" + std::to_string(i) + "] must be a non-empty column name");
    const std::string name = f.get<std::string>();
    if (const std::string why = name_problem(name); !why.empty())
      bad(source, "'features'[" + std::to_string(i) + "] " + why);
    if (!seen.insert(name).second) bad(source, "'features' names '" + name + "' twice");
    if (name == m.target) bad(source, "'features' contains the target '" + name + "'");
    m.features.push_back(name);
  }
  m.w = numbers(j, "weights", source);
  if (m.w.size() != m.features.size())
    bad(source, "'weights' has " + std::to_string(m.w.size()) + " values but 'features' names " +
                    std::to_string(m.features.size()) + " columns");
  if (!j.contains("bias") || !j["bias"].is_number() || !std::isfinite(j["bias"].get<double>()))
    bad(source, "'bias' must be a finite number");
  m.b = j["bias"].get<double>();
  if (j.contains("standardize") && !j["standardize"].is_null()) {
    const auto& s = j["standardize"];
    if (!s.is_object()) bad(source, "'standardize' must be null or {\"mean\": [...], \"scale\": [...]}");
    m.scaling.mean = numbers(s, "mean", source);
    m.scaling.scale = numbers(s, "scale", source);
    if (m.scaling.mean.size() != m.w.size() || m.scaling.scale.size() != m.w.size())
      bad(source, "'standardize' mean/scale have a different length than 'weights'");
  }
  if (j.contains("training")) m.training = j["training"];
  if (j.contains("metrics")) m.metrics = j["metrics"];
  return m;
}

void save_model(const std::string& path, const Model& m) {
  write_file_atomic(path, json_text(model_to_json(m), 2) + "\n");
}

// A JSON parser's message in words: "[json.exception.parse_error.101] parse error at line 2,
// column 5: syntax error while parsing object key - invalid literal; last read: '<U+000A> oops';
// expected string literal" becomes "line 2, column 5: syntax error while parsing object key -
// invalid literal; expected string literal".
std::string json_error_words(const nlohmann::json::exception& e) {
  std::string what = e.what();
  if (what.rfind("[json.exception.", 0) == 0) {
    const size_t close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
  }
  if (what.rfind("parse error at ", 0) == 0) what = what.substr(15);
  if (what.rfind("parse error: ", 0) == 0) what = what.substr(13);
  // The echo of the bytes last read can hold anything the file held: leave it out.
  const size_t last = what.find("; last read: ");
  if (last != std::string::npos) {
    const size_t next = what.find("; ", last + 13);
    what.erase(last, next == std::string::npos ? std::string::npos : next - last);
  }
  for (char& c : what)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return what;
}

Model load_model(const std::string& path) {
  const std::string text = read_whole_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad(input_name(path), "not a JSON model file (" + json_error_words(e) + ")");
  }
  return model_from_json(j, input_name(path));
}

}  // namespace linreg::data
