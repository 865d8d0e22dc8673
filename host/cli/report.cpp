#include "host/cli/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "host/cli/flags.hpp"
#include "host/cli/output_plan.hpp"
#include "host/core/config.hpp"
#include "host/data/metrics.hpp"

namespace linreg {

std::string epoch_line(const EpochReport& rep) {
  std::string line = "epoch " + std::to_string(rep.epoch) + ", loss " + data::number_text(rep.train_loss, "%f");
  // val_loss < 0 means no validation set; a NaN one (diverged) is shown.
  if (!(rep.val_loss < 0)) line += ", val loss " + data::number_text(rep.val_loss, "%f");
  return line;
}

int64_t epoch_stride(int64_t epochs, int64_t max_lines) {
  int64_t k = 1;
  for (int step = 0; epochs > 0 && (epochs - 1) / max_lines >= k; ++step)  // epochs > max_lines·k
    k = step % 3 == 1 ? k / 2 * 5 : k * 2;  // 1, 2, 5, 10, 20, 50, ...
  return k;
}

std::string ordinal(int64_t n) {
  const int64_t last2 = n % 100, last = n % 10;
  const char* suffix = (last2 >= 11 && last2 <= 13) ? "th" : last == 1 ? "st" : last == 2 ? "nd" : last == 3 ? "rd" : "th";
  return std::to_string(n) + suffix;
}

std::string format_values(const std::vector<float>& v, size_t max_items) {
  std::ostringstream os;
  os << '[';
  const size_t shown = std::min(v.size(), max_items);
  for (size_t i = 0; i < shown; ++i) os << (i ? ", " : "") << data::number_text(static_cast<double>(v[i]));
  if (shown < v.size()) os << ", ... (" << v.size() << " values)";
  os << ']';
  return os.str();
}

// A float as the shortest decimal that reads back as the same float (0.03f → 0.03, not
// 0.029999999329447746), so JSON shows what the user typed.
double json_float(float v) {
  if (!std::isfinite(v)) return static_cast<double>(v);
  char buf[32];
  for (int prec = 6; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return std::strtod(buf, nullptr);
}

nlohmann::json json_floats(const std::vector<float>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (float x : v) a.push_back(json_float(x));
  return a;
}

double samples_per_second(int64_t examples, int64_t epochs, double seconds) {
  if (seconds <= 0) return 0;
  return static_cast<double>(examples) * static_cast<double>(epochs) / seconds;
}

namespace {

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

// The weights as JSON: SGD's float32 values in their shortest form, doubles as they are.
nlohmann::json weights_json(const FitResult& f) {
  if (f.float32) return json_floats(to_float(f.w));
  return f.w;
}
nlohmann::json bias_json(const FitResult& f) {
  if (f.float32) return json_float(static_cast<float>(f.b));
  return f.b;
}

double run_samples_per_second(const TrainOutcome& o) {
  return samples_per_second(o.train_rows, o.fit.epochs_run, o.fit.train_seconds);
}

double final_loss(const TrainPlan& p, const TrainOutcome& o) {
  if (!o.fit.epoch_losses.empty()) return o.fit.epoch_losses.back();
  const double mse = o.train_metrics.mse;  // the exact solver: the loss of its solution
  return p.sgd.loss == LossKind::HalfMse ? 0.5 * mse : mse;
}

// The lab's summary: learned beside true parameters, with the errors.
std::string synthetic_summary(const TrainPlan& p, const TrainOutcome& o) {
  std::ostringstream os;
  char buf[256];
  const std::vector<float> w = to_float(o.fit.w);
  const float b = static_cast<float>(o.fit.b);
  const auto& tw = p.synthetic.true_w;
  std::vector<float> err(tw.size());
  double max_err = 0;
  for (size_t j = 0; j < tw.size() && j < w.size(); ++j) {
    err[j] = tw[j] - w[j];
    max_err = std::max(max_err, std::fabs(static_cast<double>(err[j])));
  }
  os << "w: " << format_values(w) << '\n';
  os << "true w: " << format_values(tw) << '\n';
  std::snprintf(buf, sizeof buf, "error in w (true - learned): %s, max |error| %.3g\n", format_values(err).c_str(),
                max_err);
  os << buf;
  std::snprintf(buf, sizeof buf, "b: %.6g   true b: %.6g   error in b: %.3g\n", static_cast<double>(b),
                static_cast<double>(p.synthetic.true_b), static_cast<double>(p.synthetic.true_b - b));
  os << buf;
  std::snprintf(buf, sizeof buf, " in %.3f ms (%.3g samples/s, %s); loss evaluation %.3f ms\n", o.fit.train_seconds * 1e3,
                run_samples_per_second(o), o.fit.method.c_str(), o.fit.eval_seconds * 1e3);
  os << "trained " << cli::count_of(o.fit.epochs_run, "epoch") << " of " << cli::count_of(o.train_rows, "example") << buf;
  return os.str();
}

// Named weights of a model fitted on a file (or a scaled or exact fit), in original units.
std::string weights_table(const std::vector<std::string>& names, const std::vector<double>& w, double b) {
  size_t width = 4;
  for (const auto& n : names) width = std::max(width, std::min<size_t>(n.size(), 32));
  std::string out;
  char buf[160];
  const size_t shown = std::min<size_t>(w.size(), 64);
  for (size_t j = 0; j < shown; ++j) {
    std::snprintf(buf, sizeof buf, "  %-*.*s  %.9g\n", static_cast<int>(width), 32, names[j].c_str(), w[j]);
    out += buf;
  }
  if (shown < w.size()) out += "  ... (" + std::to_string(w.size()) + " weights; all in --save)\n";
  std::snprintf(buf, sizeof buf, "  %-*s  %.9g\n", static_cast<int>(width), "bias", b);
  return out + buf;
}

// R's format.pval: p-values below the double epsilon are "< 2.2e-16".
std::string p_value_text(double p) {
  if (std::isnan(p)) return "NA";
  if (p < 2.220446e-16) return "< 2.2e-16";
  return data::number_text(p, "%.3g");
}

// The coefficient table of an exact fit, as R's summary(lm) lays it out (intercept first).
std::string coefficient_table(const Inference& inf, bool intercept) {
  std::vector<const Coefficient*> rows;
  for (const auto& c : inf.coefficients)
    if (c.name == "(Intercept)" && intercept) rows.insert(rows.begin(), &c);
  for (const auto& c : inf.coefficients)
    if (!(c.name == "(Intercept)" && intercept)) rows.push_back(&c);
  size_t width = 11;
  for (const auto* c : rows) width = std::max(width, std::min<size_t>(c->name.size(), 32));
  const size_t shown = std::min<size_t>(rows.size(), 65);
  std::string out;
  char buf[320];
  int aliased = 0;
  for (const auto* c : rows) aliased += c->defined ? 0 : 1;
  out += "coefficients";
  if (aliased) out += " (" + std::to_string(aliased) + " not defined because of singularities)";
  out += ":\n";
  std::snprintf(buf, sizeof buf, "  %-*s  %14s  %12s  %9s  %10s  %s\n", static_cast<int>(width), "", "estimate",
                "std. error", "t value", "Pr(>|t|)", "95% confidence interval");
  out += buf;
  for (size_t k = 0; k < shown; ++k) {
    const Coefficient& c = *rows[k];
    if (!c.defined) {
      std::snprintf(buf, sizeof buf, "  %-*.*s  %14s  %12s  %9s  %10s  %s\n", static_cast<int>(width), 32,
                    c.name.c_str(), "NA", "NA", "NA", "NA", "NA");
    } else {
      const std::string ci = "[" + data::number_text(c.ci_low, "%.6g") + ", " + data::number_text(c.ci_high, "%.6g") + "]";
      std::snprintf(buf, sizeof buf, "  %-*.*s  %14.7g  %12.6g  %9.3f  %10s  %s\n", static_cast<int>(width), 32,
                    c.name.c_str(), c.estimate, c.std_error, c.t_value, p_value_text(c.p_value).c_str(), ci.c_str());
    }
    out += buf;
  }
  if (shown < rows.size()) out += "  ... (" + std::to_string(rows.size()) + " coefficients; all in --json and --save)\n";
  std::snprintf(buf, sizeof buf, "residual standard error %.6g on %lld degrees of freedom\n", inf.sigma,
                static_cast<long long>(inf.dof));
  out += buf;
  out += "R^2 " + data::number_text(inf.r2, "%.6f") + ", adjusted R^2 " + data::number_text(inf.adj_r2, "%.6f") +
         (intercept ? "" : " (about 0: no intercept)") + "\n";
  if (inf.f_df1 > 0) {
    std::snprintf(buf, sizeof buf, "F statistic %s on %lld and %lld DF, p-value %s\n",
                  data::number_text(inf.f_statistic, "%.6g").c_str(), static_cast<long long>(inf.f_df1),
                  static_cast<long long>(inf.dof), p_value_text(inf.f_p_value).c_str());
    out += buf;
  }
  return out;
}

// The exact fit's solver lines: the factorisation and time, the condition number and rank, and
// why auto chose the factorisation.
std::string solver_text(const TrainOutcome& o, bool intercept) {
  char buf[256];
  std::snprintf(buf, sizeof buf, " in %.3f ms\n", o.fit.train_seconds * 1e3);
  std::string out = "solved exactly by " + o.fit.method + " for " + cli::count_of(o.train_rows, "example") + buf;
  if (o.fit.exact) {
    const LeastSquaresFit& x = *o.fit.exact;
    const size_t p = x.w.size() + (intercept ? 1 : 0);
    out += "condition number " + data::number_text(x.condition, "%.4g") + " (columns scaled to unit norm), rank " +
           std::to_string(x.rank) + " of " + std::to_string(p) + "\n";
    if (!o.fit.why.empty()) out += "auto: " + o.fit.why + "\n";
  }
  return out;
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// The coefficient table and the fit's statistics for --json (null where undefined).
nlohmann::json inference_json(const TrainOutcome& o) {
  const Inference& inf = o.inference;
  nlohmann::json j;
  j["available"] = inf.available;
  if (!inf.available) j["why_not"] = inf.why_not;
  j["condition_number"] = finite_or_null(inf.condition);
  if (o.fit.exact) {
    j["rank"] = o.fit.exact->rank;
    j["observations"] = o.fit.exact->observations;
    nlohmann::json aliased = nlohmann::json::array();
    for (int64_t a : o.fit.exact->aliased) aliased.push_back(o.feature_names[static_cast<size_t>(a)]);
    if (o.fit.exact->intercept_aliased) aliased.push_back("(Intercept)");
    j["aliased"] = aliased;
  }
  if (!inf.available) return j;
  j["residual_standard_error"] = finite_or_null(inf.sigma);
  j["degrees_of_freedom"] = inf.dof;
  j["r2"] = finite_or_null(inf.r2);
  j["adj_r2"] = finite_or_null(inf.adj_r2);
  j["f_statistic"] = inf.f_df1 > 0 ? finite_or_null(inf.f_statistic) : nlohmann::json(nullptr);
  j["f_df"] = {inf.f_df1, inf.dof};
  j["f_p_value"] = inf.f_df1 > 0 ? finite_or_null(inf.f_p_value) : nlohmann::json(nullptr);
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : inf.coefficients) {
    nlohmann::json e{{"name", c.name}, {"estimate", finite_or_null(c.estimate)}, {"defined", c.defined}};
    e["std_error"] = c.defined ? finite_or_null(c.std_error) : nlohmann::json(nullptr);
    e["t_value"] = c.defined ? finite_or_null(c.t_value) : nlohmann::json(nullptr);
    e["p_value"] = c.defined ? finite_or_null(c.p_value) : nlohmann::json(nullptr);
    e["ci95"] = c.defined ? nlohmann::json{finite_or_null(c.ci_low), finite_or_null(c.ci_high)} : nlohmann::json(nullptr);
    cs.push_back(e);
  }
  j["coefficients"] = cs;
  return j;
}

// The settings of a run: shared by the --json object and the model file.
nlohmann::json settings_json(const RunReport& r) {
  const TrainPlan& p = *r.plan;
  const TrainOutcome& o = *r.outcome;
  nlohmann::json j;
  j["solver"] = p.method == Method::Sgd ? "sgd" : exact_method_name(p.exact.method);
  j["intercept"] = p.method == Method::Sgd ? p.sgd.intercept : p.exact.intercept;
  j["weights"] = p.csv.weights.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.csv.weights);
  if (p.method == Method::Normal) j["ridge"] = p.exact.ridge;
  j["device"] = o.device;
  j["backend"] = o.backend;
  j["data"] = o.synthetic ? nlohmann::json(nullptr) : nlohmann::json(p.csv_path);
  j["standardize"] = p.standardize;
  j["val_fraction"] = p.val_fraction;
  j["seed"] = p.sgd.seed;
  if (p.method == Method::Sgd) {
    j["epochs"] = p.sgd.epochs;
    j["epochs_run"] = o.fit.epochs_run;
    j["batch_size"] = p.sgd.batch_size;
    j["lr"] = json_float(p.sgd.lr);
    j["loss"] = loss_name(p.sgd.loss);
    j["strategy"] = o.fit.method;
    // How the steps were taken: every rule's settings, so a run can be repeated from its JSON.
    const TrainOptions& t = p.sgd;
    j["penalty"] = penalty_name(t.penalty);
    j["alpha"] = t.penalty == Penalty::None ? nlohmann::json(nullptr) : nlohmann::json(t.alpha);
    j["l1_ratio"] = t.penalty == Penalty::ElasticNet ? nlohmann::json(t.l1_ratio) : nlohmann::json(nullptr);
    j["optimizer"] = optimizer_name(t.optimizer);
    const bool momentum = t.optimizer == Optimizer::Momentum || t.optimizer == Optimizer::Nesterov;
    const bool adam = t.optimizer == Optimizer::Adam || t.optimizer == Optimizer::AdamW;
    j["momentum"] = momentum ? nlohmann::json(t.momentum) : nlohmann::json(nullptr);
    j["beta1"] = adam ? nlohmann::json(t.beta1) : nlohmann::json(nullptr);
    j["beta2"] = adam ? nlohmann::json(t.beta2) : nlohmann::json(nullptr);
    j["eps"] = adam ? nlohmann::json(t.eps) : nlohmann::json(nullptr);
    j["weight_decay"] = t.weight_decay;
    j["lr_schedule"] = schedule_name(t.schedule);
    if (t.schedule == LrSchedule::Step) {
      j["lr_step_epochs"] = t.lr_step_epochs;
      j["lr_gamma"] = t.lr_gamma;
    }
    if (t.schedule == LrSchedule::InvScaling) j["power_t"] = t.power_t;
    if (t.schedule == LrSchedule::WarmupCosine) j["warmup_epochs"] = t.warmup_epochs;
    j["average"] = t.average;
    j["early_stopping"] = t.early_stopping;
    if (t.early_stopping) {
      j["patience"] = t.patience;
      j["tol"] = t.tol;
      j["best_epoch"] = o.fit.best_epoch;
      j["stop_reason"] = o.fit.stop_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.fit.stop_reason);
    }
  }
  return j;
}

// One line naming the step rules of a run that is not the lab's plain SGD ("" for plain SGD).
std::string sgd_rules_text(const TrainOptions& t) {
  if (t.plain_sgd()) return "";
  char buf[160];
  std::string out = "steps: ";
  out += optimizer_name(t.optimizer);
  if (t.optimizer == Optimizer::Momentum || t.optimizer == Optimizer::Nesterov) {
    std::snprintf(buf, sizeof buf, " (momentum %g)", t.momentum);
    out += buf;
  } else if (t.optimizer == Optimizer::Adam || t.optimizer == Optimizer::AdamW) {
    std::snprintf(buf, sizeof buf, " (beta1 %g, beta2 %g, eps %g)", t.beta1, t.beta2, t.eps);
    out += buf;
  }
  if (t.weight_decay != 0) {
    std::snprintf(buf, sizeof buf, ", weight decay %g", t.weight_decay);
    out += buf;
  }
  if (t.penalty != Penalty::None) {
    std::snprintf(buf, sizeof buf, ", penalty %s (alpha %g", penalty_name(t.penalty), t.alpha);
    out += buf;
    if (t.penalty == Penalty::ElasticNet) {
      std::snprintf(buf, sizeof buf, ", l1 ratio %g", t.l1_ratio);
      out += buf;
    }
    out += ")";
  }
  out += std::string(", learning rate ") + schedule_name(t.schedule);
  if (!t.intercept) out += ", no intercept";
  if (t.average) out += ", averaged";
  if (t.early_stopping) {
    std::snprintf(buf, sizeof buf, ", early stopping (patience %lld, tol %g)", static_cast<long long>(t.patience), t.tol);
    out += buf;
  }
  return out + "\n";
}

nlohmann::json metrics_block(const TrainOutcome& o) {
  nlohmann::json m = nlohmann::json::object();
  if (!o.has_metrics) return m;
  m["train"] = data::metrics_json(o.train_metrics);
  if (o.validation_rows > 0) m["validation"] = data::metrics_json(o.validation_metrics);
  return m;
}

}  // namespace

std::string text_report(const RunReport& r) {
  const TrainPlan& p = *r.plan;
  const TrainOutcome& o = *r.outcome;
  std::ostringstream os;
  const bool lab_summary = o.synthetic && p.method == Method::Sgd && o.fit.float32;
  if (lab_summary) {
    os << synthetic_summary(p, o);
  } else if (p.method == Method::Sgd) {
    os << "weights (original units):\n" << weights_table(o.feature_names, o.fit.w, o.fit.b);
    char buf[256];
    std::snprintf(buf, sizeof buf, " in %.3f ms (%.3g samples/s, %s)\n", o.fit.train_seconds * 1e3,
                  run_samples_per_second(o), o.fit.method.c_str());
    os << "trained " << cli::count_of(o.fit.epochs_run, "epoch") << " of " << cli::count_of(o.train_rows, "example")
       << buf;
  }
  if (p.method == Method::Sgd) {
    os << sgd_rules_text(p.sgd);
    if (!o.fit.stop_reason.empty())
      os << "stopped early after epoch " << o.fit.epochs_run << ": " << o.fit.stop_reason << "; the model of epoch "
         << o.fit.best_epoch << " (the best) is reported\n";
    else if (p.sgd.early_stopping && o.fit.best_epoch > 0)
      os << "early stopping: ran all " << o.fit.epochs_run << " epochs; the model of epoch " << o.fit.best_epoch
         << " (the best) is reported\n";
  }
  if (p.method == Method::Normal) {
    if (o.inference.available && o.fit.exact) {
      os << coefficient_table(o.inference, p.exact.intercept);
    } else {
      os << "weights (original units):\n" << weights_table(o.feature_names, o.fit.w, o.fit.b);
      if (!o.inference.why_not.empty()) os << "no standard errors: " << o.inference.why_not << '\n';
    }
    os << solver_text(o, p.exact.intercept);
  }
  if (o.has_metrics) {
    const bool val = o.validation_rows > 0;
    os << (val ? "train:      " : "train: ") << data::metrics_text(o.train_metrics) << '\n';
    if (val) os << "validation: " << data::metrics_text(o.validation_metrics) << '\n';
  }
  const auto where = [](const std::string& path) { return path == "-" ? std::string("stdout") : cli::terminal_text(path); };
  if (!r.model_path.empty()) os << "model saved to " << where(r.model_path) << '\n';
  if (!r.plot_path.empty()) os << "plot saved to " << where(r.plot_path) << '\n';
  return os.str();
}

nlohmann::json run_json(const RunReport& r) {
  const TrainPlan& p = *r.plan;
  const TrainOutcome& o = *r.outcome;
  nlohmann::json j = settings_json(r);
  if (!o.note.empty()) j["note"] = o.note;
  j["examples"] = o.train_rows;
  j["features"] = o.features;
  if (p.method == Method::Normal) {
    // The SGD settings do not apply to the exact solver: null, for a uniform schema.
    j["strategy"] = o.fit.method;
    j["batch_size"] = nullptr;
    j["lr"] = nullptr;
    j["epochs"] = nullptr;
    j["epochs_run"] = 0;
    j["solve_seconds"] = o.fit.train_seconds;
    if (!o.fit.why.empty()) j["solver_choice"] = o.fit.why;
    if (o.fit.exact && !o.fit.exact->warning.empty()) j["warning"] = o.fit.exact->warning;
    j["inference"] = inference_json(o);
  }
  j.erase("loss");
  j["loss_kind"] = loss_name(p.sgd.loss);
  j["loss"] = final_loss(p, o);
  // A long run's history, thinned as its lines are: every k-th epoch and the last, with the
  // epoch numbers beside them.
  const int64_t stride = p.method == Method::Sgd ? epoch_stride(p.sgd.epochs) : 1;
  if (stride == 1) {
    j["epoch_losses"] = o.fit.epoch_losses;
    if (!o.fit.epoch_val_losses.empty()) j["epoch_val_losses"] = o.fit.epoch_val_losses;
  } else {
    nlohmann::json epochs = nlohmann::json::array(), tr = nlohmann::json::array(), va = nlohmann::json::array();
    const size_t n_loss = o.fit.epoch_losses.size();
    for (size_t e = 0; e < n_loss; ++e) {
      if ((e + 1) % static_cast<size_t>(stride) != 0 && e + 1 != n_loss) continue;
      epochs.push_back(e + 1);
      tr.push_back(o.fit.epoch_losses[e]);
      if (e < o.fit.epoch_val_losses.size()) va.push_back(o.fit.epoch_val_losses[e]);
    }
    j["epoch_losses"] = tr;
    if (!o.fit.epoch_val_losses.empty()) j["epoch_val_losses"] = va;
    j["epoch_loss_epochs"] = epochs;
  }
  j["w"] = weights_json(o.fit);
  j["b"] = bias_json(o.fit);
  if (o.synthetic) {
    j["true_w"] = json_floats(p.synthetic.true_w);
    j["true_b"] = json_float(p.synthetic.true_b);
    j["noise"] = json_float(p.synthetic.noise);
  } else {
    j["read_seconds"] = o.read_seconds;
    j["streamed"] = o.streamed;
    j["read_bytes"] = o.read_bytes;
  }
  j["train_seconds"] = o.fit.train_seconds;
  j["eval_seconds"] = o.fit.eval_seconds;
  j["samples_per_second"] = run_samples_per_second(o);
  j["target"] = o.target_name;
  j["feature_names"] = o.feature_names;
  j["validation_examples"] = o.validation_rows;
  j["metrics"] = metrics_block(o);
  if (!r.model_path.empty()) j["model"] = r.model_path;
  if (!r.plot_path.empty()) j["plot"] = r.plot_path;
  return j;
}

data::Model run_model(const RunReport& r) {
  const TrainOutcome& o = *r.outcome;
  data::Model m;
  m.target = o.target_name;
  m.features = o.feature_names;
  m.w = o.fit.w;
  m.b = o.fit.b;
  m.scaling = o.scaling;
  m.training = settings_json(r);
  m.training["train_examples"] = o.train_rows;
  m.training["validation_examples"] = o.validation_rows;
  m.metrics = metrics_block(o);
  return m;
}

}  // namespace linreg
