// The model file: a JSON object that predict reads back (format in docs/DATA.md).
//   {"format": "linreg-model", "version": 1, "target": "price", "features": ["a", "b"],
//    "weights": [...], "bias": 1.5,                 // original units: ŷ = bias + Σ weights_j x_j
//    "standardize": {"mean": [...], "scale": [...]} // or null: what training used (informational)
//    "training": {...settings...}, "metrics": {"train": {...}, "validation": {...}}}
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/data/prep.hpp"

namespace linreg::data {

struct Model {
  std::string target;
  std::vector<std::string> features;
  std::vector<double> w;  // original units
  double b = 0;
  Scaling scaling;        // empty when trained without --standardize
  nlohmann::json training = nlohmann::json::object();
  nlohmann::json metrics = nlohmann::json::object();
};

// JSON text of `j`; bytes that are not UTF-8 (a file name given on the command line may hold any)
// become U+FFFD instead of failing the write after all the work.
std::string json_text(const nlohmann::json& j, int indent = -1);

nlohmann::json model_to_json(const Model& m);
// Checks the format, the width (weights vs feature names), unique non-empty names and finite
// numbers; every error names `source` and the field.
Model model_from_json(const nlohmann::json& j, const std::string& source);

// Written atomically (temporary name + rename).
void save_model(const std::string& path, const Model& m);
Model load_model(const std::string& path);

}  // namespace linreg::data
