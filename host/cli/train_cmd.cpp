// `linreg train`: flags → validated config → data (synthetic, or a CSV file with --data) →
// a solver (minibatch SGD on the GPU or CPU, or the exact normal equations) → text report or one
// JSON object; optionally a saved model (--save) and an SVG plot (--plot).
//
// Without any of the data flags (--data, --standardize, --val-fraction, --solver normal, --save,
// --plot) this is the lab's synthetic run exactly as before: the data is generated where the
// trainer lives (cuRAND on the GPU). With them, the data is prepared on the host (read or
// generated, split, standardised) and copied to the device once.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "host/cli/commands.hpp"
#include "host/config.hpp"
#include "host/data/csv.hpp"
#include "host/data/fit_plot.hpp"
#include "host/data/metrics.hpp"
#include "host/data/model_io.hpp"
#include "host/data/normal_solver.hpp"
#include "host/data/prep.hpp"
#include "host/error.hpp"
#include "host/io/atomic_file.hpp"
#include "host/report.hpp"
#include "host/trainer.hpp"

namespace linreg::cli {
namespace {

struct TrainFlags {
  std::string device = "auto";
  SyntheticSpec spec;
  std::string true_w;
  TrainOptions opt;
  std::string loss = "half-mse";
  std::string strategy = "auto";
  bool json = false;
  // Data in, models out.
  std::string data;
  std::string target;
  std::string columns;
  bool standardize = false;
  double val_fraction = 0;
  std::string save;
  std::string plot;
  std::string plot_feature;
  std::string solver = "sgd";
  bool quiet = false;
};

enum class Solver { Sgd, Normal };

const std::map<std::string, DeviceChoice> kDevices{{"auto", DeviceChoice::Auto}, {"gpu", DeviceChoice::Gpu},
                                                   {"cpu", DeviceChoice::Cpu}};
const std::map<std::string, LossKind> kLosses{{"half-mse", LossKind::HalfMse}, {"mse", LossKind::Mse}};
const std::map<std::string, Strategy> kStrategies{{"auto", Strategy::Auto},
                                                  {"cublas", Strategy::Cublas},
                                                  {"fused", Strategy::Fused},
                                                  {"persistent", Strategy::Persistent}};
const std::map<std::string, Solver> kSolvers{{"sgd", Solver::Sgd}, {"normal", Solver::Normal}};

template <typename Map>
auto lookup(const Map& m, const std::string& key, const std::string& flag) {
  const auto it = m.find(key);
  if (it == m.end()) {
    std::string choices;
    for (const auto& kv : m) choices += (choices.empty() ? "" : "|") + kv.first;
    throw InputError(flag + ": unknown value '" + key + "' (choose " + choices + ")");
  }
  return it->second;
}

using Clock = std::chrono::steady_clock;

// "epoch 3/10  loss 0.0123  val 0.0145  2.1e+07 samples/s  2.3 s left" on one terminal line,
// redrawn at most ten times a second; only when stderr is a terminal.
class Progress {
 public:
  Progress(bool enabled, int64_t epochs, int64_t examples)
      : on_(enabled && ::isatty(STDERR_FILENO) == 1), epochs_(epochs), examples_(examples) {}
  ~Progress() { finish(); }
  // Clears the progress line so that a line can be printed on the same terminal (stdout).
  void clear() {
    if (on_ && drawn_) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  // force: redraw even within 100 ms of the last one (after clear()).
  void epoch(const EpochReport& rep, bool force = false) {
    if (!on_) return;
    train_s_ += rep.epoch_seconds;
    const auto now = Clock::now();
    if (!force && drawn_ && rep.epoch < epochs_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double left = elapsed / static_cast<double>(rep.epoch) * static_cast<double>(epochs_ - rep.epoch);
    const double sps = train_s_ > 0 ? static_cast<double>(examples_) * static_cast<double>(rep.epoch) / train_s_ : 0;
    char val[48] = "";
    if (rep.val_loss >= 0) std::snprintf(val, sizeof val, "  val %.6g", rep.val_loss);
    std::fprintf(stderr, "\r\033[Kepoch %lld/%lld  loss %.6g%s  %.3g samples/s  %.1f s left",
                 static_cast<long long>(rep.epoch), static_cast<long long>(epochs_), rep.train_loss, val, sps, left);
    std::fflush(stderr);
  }
  void finish() {
    if (on_ && drawn_) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  bool on_;
  int64_t epochs_, examples_;
  bool drawn_ = false;
  double train_s_ = 0;
  Clock::time_point start_ = Clock::now(), last_ = Clock::now();
};

// An output path must be writable before a long run starts: its folder exists and is writable.
void check_writable(const std::string& path, const std::string& flag) {
  if (path.empty()) throw InputError(flag + ": empty path");
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (::access(dir.c_str(), W_OK) != 0)
    throw InputError(flag + " '" + path + "': cannot write in '" + dir + "' (" + std::strerror(errno) + ")");
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<float> to_float(const std::vector<double>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
  return out;
}

double loss_from_mse(double mse, LossKind kind) { return kind == LossKind::HalfMse ? 0.5 * mse : mse; }

// The lab's synthetic run, as before (plus metrics when the data is small enough to copy back).
int run_synthetic(TrainFlags& f, DeviceChoice device) {
  validate_train(f.opt, f.spec.examples);
  RunInfo info;
  std::unique_ptr<Trainer> trainer = make_trainer(device, &info.note);
  if (!info.note.empty()) std::cerr << "linreg: note: " << info.note << '\n';
  info.device = trainer->device_name();
  info.backend = trainer->backend();
  info.examples = f.spec.examples;
  info.features = f.spec.features;
  info.options = f.opt;
  info.spec = f.spec;

  trainer->generate(f.spec);
  if (!f.json) std::cout << "device: " << info.device << " (" << info.backend << ")" << std::endl;
  Progress progress(!f.quiet, f.opt.epochs, f.spec.examples);
  const TrainResult result = trainer->fit(f.opt, [&](const EpochReport& rep) {
    if (!f.json) {
      progress.clear();
      std::cout << epoch_line(rep) << std::endl;
    }
    progress.epoch(rep, !f.json);
  });
  progress.finish();

  if (result.diverged) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "training diverged at epoch %lld (loss %g): --lr %g is too large for this data; try a smaller --lr",
                  static_cast<long long>(result.epochs_run), result.epoch_losses.back(), static_cast<double>(f.opt.lr));
    throw InputError(buf);
  }
  // Metrics need the data on the host: copied back when it is at most 512 MiB.
  bool have_metrics = false;
  data::Metrics m;
  if (f.spec.examples * (f.spec.features + 1) <= (int64_t{1} << 27)) {
    const HostDataset ds = trainer->download();
    m = data::compute_metrics(ds, to_double(result.w), static_cast<double>(result.b));
    have_metrics = true;
  }
  if (f.json) {
    nlohmann::json j = result_json(info, result);
    j["solver"] = "sgd";
    if (have_metrics) j["metrics"] = {{"train", data::metrics_json(m)}};
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << text_summary(info, result);
    if (have_metrics) std::cout << "train: " << data::metrics_text(m) << '\n';
  }
  return 0;
}

// What path B learned, in original units.
struct Fit {
  std::vector<double> w;
  double b = 0;
  TrainResult result;  // SGD: the trainer's; normal: w, b and the solve time only
  std::string device, backend, note;
};

Fit fit_sgd(TrainFlags& f, DeviceChoice device, const HostDataset& train, const HostDataset* val,
            const data::Scaling& scaling, const std::string& header) {
  validate_train(f.opt, train.n);
  Fit fit;
  std::unique_ptr<Trainer> trainer = make_trainer(device, &fit.note);
  if (!fit.note.empty()) std::cerr << "linreg: note: " << fit.note << '\n';
  fit.device = trainer->device_name();
  fit.backend = trainer->backend();
  // Standardised copies train; the caller's originals serve the metrics.
  if (scaling.empty()) {
    trainer->load(train, val);
  } else {
    HostDataset tr = train;
    data::apply_scaling(tr, scaling);
    HostDataset va;
    if (val) {
      va = *val;
      data::apply_scaling(va, scaling);
    }
    trainer->load(tr, val ? &va : nullptr);
  }
  if (!f.json) std::cout << header << "device: " << fit.device << " (" << fit.backend << ")" << std::endl;
  Progress progress(!f.quiet, f.opt.epochs, train.n);
  fit.result = trainer->fit(f.opt, [&](const EpochReport& rep) {
    if (!f.json) {
      progress.clear();
      std::cout << epoch_line(rep) << std::endl;
    }
    progress.epoch(rep, !f.json);
  });
  progress.finish();
  if (fit.result.diverged) {
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "training diverged at epoch %lld (loss %g): --lr %g is too large for this data; try a smaller --lr%s",
                  static_cast<long long>(fit.result.epochs_run), fit.result.epoch_losses.back(),
                  static_cast<double>(f.opt.lr), scaling.empty() ? " or --standardize" : "");
    throw InputError(buf);
  }
  data::unscale_weights(scaling, to_double(fit.result.w), static_cast<double>(fit.result.b), fit.w, fit.b);
  return fit;
}

Fit fit_normal(TrainFlags& f, DeviceChoice device, const HostDataset& train, const std::string& header) {
  Fit fit;
  data::NormalSolution sol;
  bool gpu = false;
  if (device != DeviceChoice::Cpu) {
    const GpuProbe probe = probe_gpu();
    if (probe.usable) {
      gpu = true;
    } else if (device == DeviceChoice::Gpu) {
      throw DeviceUnavailable("--device gpu: " + probe.reason);
    } else {
      fit.note = "no usable GPU (" + probe.reason + "); solving on the CPU";
    }
  }
  sol = gpu ? data::solve_normal_gpu(train) : data::solve_normal_cpu(train);
  if (!fit.note.empty()) std::cerr << "linreg: note: " << fit.note << '\n';  // after the solve: an error stays one line
  fit.device = sol.device;
  fit.backend = gpu ? "cuda" : "cpu";
  fit.w = sol.w;
  fit.b = sol.b;
  fit.result.w = to_float(sol.w);
  fit.result.b = static_cast<float>(sol.b);
  fit.result.train_seconds = sol.seconds;
  fit.result.strategy = gpu ? "normal-equations (cuBLAS Dsyrk + cuSOLVER Cholesky, double)"
                            : "normal-equations (CPU, double)";
  if (!f.json) std::cout << header << "device: " << fit.device << " (" << fit.backend << ")" << std::endl;
  return fit;
}

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

// Path B: host data (a CSV file, or the synthetic set generated on the host), split, standardised,
// solved; metrics, model file and plot.
int run_host_data(TrainFlags& f, DeviceChoice device, Solver solver) {
  // Outputs must be writable before any work.
  if (!f.save.empty()) check_writable(f.save, "--save");
  if (!f.plot.empty()) check_writable(f.plot, "--plot");

  HostDataset full;
  const bool synthetic = f.data.empty();
  double read_seconds = 0, read_bytes = 0;
  if (synthetic) {
    full = generate_synthetic_host(f.spec);
    for (int64_t j = 0; j < full.d; ++j) full.feature_names.push_back("x" + std::to_string(j));
    full.target_name = "y";
  } else {
    data::CsvOptions copt;
    copt.target = f.target;
    if (!f.columns.empty()) copt.columns = data::split_names(f.columns, "--columns");
    const auto t0 = Clock::now();
    full = data::read_csv(f.data, copt).data;
    read_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    struct stat st {};
    if (::stat(f.data.c_str(), &st) == 0) read_bytes = static_cast<double>(st.st_size);
  }
  int64_t plot_feature = 0;
  if (!f.plot_feature.empty()) {
    const auto it = std::find(full.feature_names.begin(), full.feature_names.end(), f.plot_feature);
    if (it == full.feature_names.end())
      throw InputError("--plot-feature '" + f.plot_feature + "': not one of the features");
    plot_feature = it - full.feature_names.begin();
  }

  HostDataset train, val;
  if (f.val_fraction > 0) std::tie(train, val) = data::split_validation(full, f.val_fraction, f.opt.seed);
  else train = std::move(full);  // no copy of a large file's data
  full = HostDataset{};           // free it
  const bool has_val = val.n > 0;
  std::string header;  // printed with the device line, once the inputs have passed every check
  if (!f.json && !synthetic) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "data: %s: %lld rows (%lld train, %lld validation), %lld features, target '%s'; read in %.3f s (%.0f MB/s)\n",
                  f.data.c_str(), static_cast<long long>(train.n + val.n), static_cast<long long>(train.n),
                  static_cast<long long>(val.n), static_cast<long long>(train.d), train.target_name.c_str(), read_seconds,
                  read_seconds > 0 ? read_bytes / read_seconds / 1e6 : 0.0);
    header = buf;
  }

  data::Scaling scaling;
  if (f.standardize && solver == Solver::Normal) {
    std::cerr << "linreg: note: --standardize does not change --solver normal (the exact solution does not depend on "
                 "the feature scales; the centred system is solved in double)\n";
  } else if (f.standardize) {
    scaling = data::fit_scaling(train);
    for (size_t j : scaling.constant)
      std::cerr << "linreg: warning: column '" << train.feature_names[j]
                << "' is constant in the training rows; its weight is not determined by the data\n";
  }

  Fit fit = solver == Solver::Sgd ? fit_sgd(f, device, train, has_val ? &val : nullptr, scaling, header)
                                  : fit_normal(f, device, train, header);
  const data::Metrics mt = data::compute_metrics(train, fit.w, fit.b);
  data::Metrics mv;
  if (has_val) mv = data::compute_metrics(val, fit.w, fit.b);

  RunInfo info;
  info.device = fit.device;
  info.backend = fit.backend;
  info.note = fit.note;
  info.examples = train.n;
  info.features = train.d;
  info.options = f.opt;
  info.synthetic = synthetic;
  info.spec = f.spec;

  nlohmann::json metrics = {{"train", data::metrics_json(mt)}};
  if (has_val) metrics["validation"] = data::metrics_json(mv);

  // The model file and the plot are rendered before either is written; both appear or neither.
  std::string model_text, plot_text;
  if (!f.save.empty()) {
    data::Model model;
    model.target = train.target_name;
    model.features = train.feature_names;
    model.w = fit.w;
    model.b = fit.b;
    model.scaling = scaling;
    model.training = {{"solver", solver == Solver::Sgd ? "sgd" : "normal"},
                      {"device", fit.device},
                      {"backend", fit.backend},
                      {"data", synthetic ? nlohmann::json(nullptr) : nlohmann::json(f.data)},
                      {"train_examples", train.n},
                      {"validation_examples", val.n},
                      {"val_fraction", f.val_fraction},
                      {"standardize", f.standardize},
                      {"seed", f.opt.seed}};
    if (solver == Solver::Sgd) {
      model.training["epochs"] = f.opt.epochs;
      model.training["epochs_run"] = fit.result.epochs_run;
      model.training["batch_size"] = f.opt.batch_size;
      model.training["lr"] = json_float(f.opt.lr);
      model.training["loss"] = loss_name(f.opt.loss);
      model.training["strategy"] = fit.result.strategy;
    }
    model.metrics = metrics;
    model_text = data::model_to_json(model).dump(2) + "\n";
  }
  if (!f.plot.empty()) {
    data::FitPlotInput in;
    in.data = &train;
    in.feature = plot_feature;
    in.w = fit.w;
    in.b = fit.b;
    in.train_losses = fit.result.epoch_losses;
    in.val_losses = fit.result.epoch_val_losses;
    in.loss_name = loss_name(f.opt.loss);
    const std::string base = synthetic ? std::string("synthetic data") : f.data.substr(f.data.find_last_of('/') + 1);
    in.title = base + ": " + train.target_name + " against " + train.feature_names[static_cast<size_t>(plot_feature)] +
               (solver == Solver::Normal ? " (normal equations)" : "");
    in.seed = f.opt.seed;
    plot_text = data::render_fit_plot(in);
  }
  if (!plot_text.empty()) write_file_atomic(f.plot, plot_text);
  if (!model_text.empty()) {
    try {
      write_file_atomic(f.save, model_text);
    } catch (...) {
      if (!plot_text.empty()) std::remove(f.plot.c_str());
      throw;
    }
  }

  if (f.json) {
    TrainResult r = fit.result;
    nlohmann::json j = result_json(info, r);
    j["solver"] = solver == Solver::Sgd ? "sgd" : "normal";
    j["w"] = fit.w;
    j["b"] = fit.b;
    if (solver == Solver::Normal) {
      j["loss"] = loss_from_mse(mt.mse, f.opt.loss);
      j["solve_seconds"] = fit.result.train_seconds;
    }
    j["data"] = synthetic ? nlohmann::json(nullptr) : nlohmann::json(f.data);
    if (!synthetic) {
      j["read_seconds"] = read_seconds;
      j["read_bytes"] = read_bytes;
    }
    j["target"] = train.target_name;
    j["feature_names"] = train.feature_names;
    j["standardize"] = f.standardize;
    j["val_fraction"] = f.val_fraction;
    j["validation_examples"] = val.n;
    j["metrics"] = metrics;
    if (!f.save.empty()) j["model"] = f.save;
    if (!f.plot.empty()) j["plot"] = f.plot;
    std::cout << j.dump() << std::endl;
    return 0;
  }
  std::ostringstream os;
  if (synthetic && solver == Solver::Sgd) {
    TrainResult r = fit.result;
    r.w = to_float(fit.w);
    r.b = static_cast<float>(fit.b);
    os << text_summary(info, r);
  } else {
    os << "weights (original units):\n" << weights_table(train.feature_names, fit.w, fit.b);
    char buf[256];
    if (solver == Solver::Sgd)
      std::snprintf(buf, sizeof buf, "trained %lld epochs of %lld examples in %.3f ms (%.3g samples/s, %s)\n",
                    static_cast<long long>(fit.result.epochs_run), static_cast<long long>(train.n),
                    fit.result.train_seconds * 1e3, samples_per_second(info, fit.result), fit.result.strategy.c_str());
    else
      std::snprintf(buf, sizeof buf, "solved the normal equations of %lld examples in %.3f ms (%s)\n",
                    static_cast<long long>(train.n), fit.result.train_seconds * 1e3, fit.result.strategy.c_str());
    os << buf;
  }
  os << "train:      " << data::metrics_text(mt) << '\n';
  if (has_val) os << "validation: " << data::metrics_text(mv) << '\n';
  if (!f.save.empty()) os << "model saved to " << f.save << '\n';
  if (!f.plot.empty()) os << "plot saved to " << f.plot << '\n';
  std::cout << os.str();
  return 0;
}

int run_train(TrainFlags& f, const CLI::App& sub) {
  // Config, validated once; every error names its flag.
  const bool with_data = !f.data.empty();
  if (sub.count("--data") && f.data.empty()) throw InputError("--data: empty path");
  if (with_data) {
    for (const char* flag : {"--examples", "--features", "--true-w", "--true-b", "--noise"})
      if (sub.count(flag))
        throw InputError(std::string(flag) + ": not used with --data (the file decides the data; pick columns with "
                                             "--columns)");
  } else {
    for (const char* flag : {"--target", "--columns"})
      if (sub.count(flag)) throw InputError(std::string(flag) + ": needs --data FILE");
  }
  if (sub.count("--plot-feature") && f.plot.empty()) throw InputError("--plot-feature: needs --plot FILE");
  if (!(f.val_fraction >= 0.0 && f.val_fraction < 1.0))
    throw InputError("--val-fraction: must be at least 0 and below 1 (got " + std::to_string(f.val_fraction) + ")");
  if (sub.count("--save") && f.save.empty()) throw InputError("--save: empty path");
  if (sub.count("--plot") && f.plot.empty()) throw InputError("--plot: empty path");

  if (sub.count("--true-w") != 0) {  // given, even if empty: an empty list is an error
    f.spec.true_w = parse_float_list(f.true_w, "--true-w");
    // --true-w alone sets the feature count; with --features they must agree.
    if (sub.count("--features") == 0) f.spec.features = static_cast<int64_t>(f.spec.true_w.size());
  }
  const DeviceChoice device = lookup(kDevices, f.device, "--device");
  f.opt.loss = lookup(kLosses, f.loss, "--loss");
  f.opt.strategy = lookup(kStrategies, f.strategy, "--strategy");
  const Solver solver = lookup(kSolvers, f.solver, "--solver");
  if (!with_data) validate_synthetic(f.spec);
  if (solver == Solver::Sgd) {
    // Flag checks that do not need the data; the batch size is checked against the rows later.
    validate_train(f.opt, std::max<int64_t>(f.opt.batch_size, 1));
  }

  const bool host_path = with_data || f.standardize || f.val_fraction > 0 || solver == Solver::Normal ||
                         !f.save.empty() || !f.plot.empty();
  if (!host_path) return run_synthetic(f, device);
  return run_host_data(f, device, solver);
}

}  // namespace

void add_train_command(CLI::App& root, Commands& cmds) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* sub = root.add_subcommand(
      "train",
      "Fit y = Xw + b by minibatch SGD (or exactly, --solver normal) on the lab's synthetic data or a CSV file");
  sub->add_option("--device", f->device, "auto | gpu | cpu (auto: the GPU when usable, else the CPU)")
      ->capture_default_str();
  sub->add_option("--examples", f->spec.examples, "number of synthetic examples")->capture_default_str();
  sub->add_option("--features", f->spec.features, "number of synthetic features")->capture_default_str();
  sub->add_option("--true-w", f->true_w,
                  "true weights, comma list (default: 2,-3.4 for 2 features, else w_j = 4j/d - 2)");
  sub->add_option("--true-b", f->spec.true_b, "true bias")->capture_default_str();
  sub->add_option("--noise", f->spec.noise, "standard deviation of the label noise")->capture_default_str();
  sub->add_option("--batch-size", f->opt.batch_size, "minibatch size")->capture_default_str();
  sub->add_option("--lr", f->opt.lr, "learning rate")->capture_default_str();
  sub->add_option("--epochs", f->opt.epochs, "passes over the data")->capture_default_str();
  sub->add_option("--seed", f->opt.seed,
                  "seed for the data, the initial weights, the shuffles and the validation split")
      ->capture_default_str()
      ->check(non_negative_integer());
  sub->add_option("--loss", f->loss,
                  "half-mse: the lab's section 4, (y'-y)^2/2 averaged over the batch; "
                  "mse: section 5's nn.MSELoss, mean (y'-y)^2")
      ->capture_default_str();
  sub->add_option("--strategy", f->strategy, "GPU step strategy: auto | cublas | fused | persistent")
      ->capture_default_str();
  sub->add_flag("--json", f->json, "print one JSON object on stdout and nothing else there");
  // Data in, models out (docs/DATA.md).
  sub->add_option("--data", f->data, "train on a CSV file with a header row (instead of synthetic data)");
  sub->add_option("--target", f->target, "the label column of --data (default: the last column)");
  sub->add_option("--columns", f->columns, "feature columns of --data, comma list (default: all but the target)");
  sub->add_flag("--standardize", f->standardize,
                "train on features scaled to zero mean and unit variance; weights are reported in original units");
  sub->add_option("--val-fraction", f->val_fraction,
                  "hold out this share of the rows (seeded by --seed) as a validation set, in [0, 1)")
      ->capture_default_str();
  sub->add_option("--solver", f->solver, "sgd: minibatch SGD; normal: exact least squares (normal equations, double)")
      ->capture_default_str();
  sub->add_option("--save", f->save, "write the trained model as JSON (read by linreg predict)");
  sub->add_option("--plot", f->plot, "write an SVG: the data and the fitted line, and the loss per epoch");
  sub->add_option("--plot-feature", f->plot_feature, "the feature on the plot's x axis (default: the first)");
  sub->add_flag("--quiet", f->quiet, "no progress line on stderr (it is shown only when stderr is a terminal)");
  cmds.emplace_back(sub, [f, sub] {
    f->spec.seed = f->opt.seed;
    return run_train(*f, *sub);
  });
}

}  // namespace linreg::cli
