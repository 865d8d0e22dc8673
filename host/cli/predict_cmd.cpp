// `linreg predict`: a saved model (linreg train --save) applied to a CSV file. The model's feature
// columns are found in the file by name (any order; other columns are ignored); the target column
// may be absent, and when it is present the metrics are reported too. Predictions are computed in
// double and written as CSV (one column, "prediction"), atomically.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "host/cli/commands.hpp"
#include "host/data/csv.hpp"
#include "host/data/metrics.hpp"
#include "host/data/model_io.hpp"
#include "host/core/error.hpp"
#include "host/io/atomic_file.hpp"

namespace linreg::cli {
namespace {

struct PredictFlags {
  std::string model;
  std::string data;
  std::string out;
  bool json = false;
};

int run_predict(PredictFlags& f) {
  if (f.model.empty()) throw InputError("--model: empty path");
  if (f.data.empty()) throw InputError("--data: empty path");
  if (f.json && (f.out.empty() || f.out == "-"))
    throw InputError("--json: needs --out FILE (without it the predictions themselves go to stdout)");
  const data::Model model = data::load_model(f.model);

  data::CsvOptions opt;
  opt.target = model.target;
  opt.target_required = false;
  opt.columns = model.features;
  opt.columns_flag = "model '" + f.model + "' feature";
  const data::CsvRead in = data::read_csv(f.data, opt);
  const std::vector<double> pred = data::predict(in.data, model.w, model.b);

  std::string text = "prediction\n";
  text.reserve(text.size() + pred.size() * 20);
  for (double v : pred) {
    text += data::shortest(v);
    text += '\n';
  }
  const bool to_stdout = f.out.empty() || f.out == "-";
  data::Metrics m;
  if (in.has_target) m = data::compute_metrics(in.data.y, pred);
  if (to_stdout) {
    std::cout << text;
    if (in.has_target) std::cerr << "linreg: " << model.target << ": " << data::metrics_text(m) << '\n';
    return 0;
  }
  write_file_atomic(f.out, text);
  if (f.json) {
    nlohmann::json j = {{"model", f.model}, {"data", f.data}, {"out", f.out}, {"rows", in.data.n},
                        {"features", model.features}, {"target", model.target}};
    j["metrics"] = in.has_target ? data::metrics_json(m) : nlohmann::json(nullptr);
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << "wrote " << in.data.n << " predictions of '" << model.target << "' to " << f.out << '\n';
    if (in.has_target) std::cout << model.target << " (present in " << f.data << "): " << data::metrics_text(m) << '\n';
  }
  return 0;
}

}  // namespace

void add_predict_command(CLI::App& root, Commands& cmds) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* sub = root.add_subcommand("predict", "Apply a saved model (linreg train --save) to a CSV file");
  sub->add_option("--model", f->model, "the model file written by linreg train --save")->required();
  sub->add_option("--data", f->data, "CSV with a header naming (at least) the model's feature columns")->required();
  sub->add_option("--out", f->out, "where to write the predictions as CSV (default or '-': stdout)");
  sub->add_flag("--json", f->json, "with --out FILE: print one JSON object (rows, metrics) on stdout");
  cmds.emplace_back(sub, [f] { return run_predict(*f); });
}

}  // namespace linreg::cli
