// `linreg predict`: a saved model (linreg train --save) applied to a CSV file. The model's feature
// columns are found in the file by name (any order; other columns are ignored); the target column
// may be absent, and when it is present the metrics are reported too. Predictions are computed in
// double from the values as read (the CSV reader keeps them in double) and written as CSV (one
// column, "prediction", shortest round-trip decimals), atomically.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "host/cli/commands.hpp"
#include "host/cli/output_plan.hpp"
#include "host/core/error.hpp"
#include "host/data/csv.hpp"
#include "host/data/npy.hpp"
#include "host/data/metrics.hpp"
#include "host/data/model_io.hpp"

namespace linreg::cli {
namespace {

struct PredictFlags {
  std::string model;
  std::string data;
  std::string out;
  bool json = false;
  bool no_header = false;
};

// How an .npy --data is read for a model: its features are x<column> (a model trained on .npy
// data or on generate's CSV); the file's last column is the target when it is not a feature.
data::NpyOptions npy_options(const data::Model& model, const std::string& model_path) {
  data::NpyOptions o;
  o.target_required = false;
  for (const std::string& name : model.features) {
    int64_t j = -1;
    if (name.size() > 1 && name[0] == 'x' && name.find_first_not_of("0123456789", 1) == std::string::npos &&
        name.size() < 12)
      j = std::stoll(name.substr(1));
    if (j < 0)
      throw InputError("model '" + data::input_name(model_path) + "' has a feature named '" + name +
                       "'; an .npy file's columns have numbers only, so its features must be x0, x1, ... (train the "
                       "model on .npy data, or predict from a CSV file with that column)");
    o.columns.push_back(j);
  }
  return o;
}

int run_predict(PredictFlags& f) {
  if (f.model.empty()) throw UsageError("--model: empty path");
  if (f.data.empty()) throw UsageError("--data: empty path");
  if (f.model == "-" && f.data == "-") throw UsageError("--model - and --data -: only one input can be stdin");
  const bool to_stdout = f.out.empty() || f.out == "-";
  if (f.json && to_stdout)
    throw UsageError("--json: needs --out FILE (without it the predictions themselves go to stdout)");
  // The output first: it must be writable and not one of the inputs before anything is read.
  OutputPlan outputs;
  outputs.add(to_stdout ? "-" : f.out, "--out");
  outputs.add_input("--model", f.model);
  outputs.add_input("--data", f.data);
  outputs.check(f.json ? "--json" : "");
  const bool summary_to_stderr = outputs.any_on_stdout();

  const data::Model model = data::load_model(f.model);
  data::CsvOptions opt;
  opt.target = model.target;
  opt.target_required = false;
  opt.columns = model.features;
  opt.columns_flag = "model '" + data::input_name(f.model) + "' feature";
  opt.header = !f.no_header;
  opt.read.on_wait = [](const std::string& name) {
    std::cerr << "linreg: note: waiting for data on " << terminal_text(name) << " (nothing has been written to it yet)\n";
  };
  const bool npy = data::file_is_npy(f.data);
  if (npy && f.no_header)
    throw UsageError("--no-header: for CSV input; " + terminal_text(f.data) + " is an .npy file (it has no header row)");
  const data::CsvRead in = npy ? data::read_npy(f.data, npy_options(model, f.model)) : data::read_csv(f.data, opt);
  const std::vector<double> pred = data::predict(in.data, model.w, model.b);
  // Weights that are finite can still carry a prediction past the double range: an "inf" in the
  // output would be taken for a value.
  for (size_t i = 0; i < pred.size(); ++i)
    if (!std::isfinite(pred[i]))
      throw InputError("the prediction for row " + std::to_string(i + 1) + " of " + data::input_name(f.data) + " is " +
                       data::number_text(pred[i]) + ": the model's weights times the data's values overflow double (" +
                       data::input_name(f.model) + " does not fit this data's scale)");

  std::string text;
  if (data::npy_path(f.out)) {
    text = data::format_npy(pred.data(), static_cast<int64_t>(pred.size()), 0);  // float64, one per row
  } else {
    text = "prediction\n";
    text.reserve(text.size() + pred.size() * 20);
    for (double v : pred) {
      text += data::shortest(v);
      text += '\n';
    }
  }
  data::Metrics m;
  if (in.has_target) m = in.data.y64.empty() ? data::compute_metrics(in.data.y, pred) : data::compute_metrics(in.data.y64, pred);
  outputs.set("--out", std::move(text));
  outputs.commit();
  if (summary_to_stderr) {
    if (in.has_target) std::cerr << "linreg: " << model.target << ": " << data::metrics_text(m) << '\n';
    return 0;
  }
  if (f.json) {
    nlohmann::json j = {{"model", f.model}, {"data", f.data}, {"out", f.out}, {"rows", in.data.n},
                        {"features", model.features}, {"target", model.target}};
    j["metrics"] = in.has_target ? data::metrics_json(m) : nlohmann::json(nullptr);
    std::cout << data::json_text(j) << std::endl;
  } else {
    std::cout << "wrote " << count_of(in.data.n, "prediction") << " of '" << model.target << "' to "
              << terminal_text(f.out) << '\n';
    if (in.has_target)
      std::cout << model.target << " (present in " << terminal_text(data::input_name(f.data))
                << "): " << data::metrics_text(m) << '\n';
  }
  return 0;
}

}  // namespace

void add_predict_command(CLI::App& root, Commands& cmds) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* sub = root.add_subcommand("predict", "Apply a saved model (linreg train --save) to a CSV file");
  sub->add_option("--model", f->model, "the model file written by linreg train --save")->required();
  sub->add_option("--data", f->data, "CSV with a header naming (at least) the model's feature columns, or an .npy matrix whose column j is feature x<j>; - is stdin (CSV)")
      ->required();
  sub->add_flag("--no-header", f->no_header, "--data has no header row: its columns are c1, c2, ...");
  sub->add_option("--out", f->out, "where to write the predictions as CSV (default or '-': stdout), or as a float64 .npy vector when the name ends in .npy");
  sub->add_flag("--json", f->json, "with --out FILE: print one JSON object (rows, metrics) on stdout");
  cmds.emplace_back(sub, [f] { return run_predict(*f); });
}

}  // namespace linreg::cli
