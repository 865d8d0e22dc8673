// `linreg train`: the flags, how they relate, and what is printed. The run itself is
// run_training (host/train/pipeline.hpp): data → split → scaling → fit on the chosen device →
// metrics. This file turns flags into its plan and its outcome into text, JSON, a model file
// and a plot.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cfloat>
#include <new>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "host/cli/commands.hpp"
#include "host/cli/output_plan.hpp"
#include "host/cli/report.hpp"
#include "host/cluster/cluster.hpp"
#include "host/core/config.hpp"
#include "host/core/error.hpp"
#include "host/data/csv.hpp"
#include "host/data/fit_plot.hpp"
#include "host/data/metrics.hpp"
#include "host/data/model_io.hpp"
#include "host/io/atomic_file.hpp"
#include "host/train/pipeline.hpp"

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
  int64_t target_column = -1;  // .npy input
  std::string labels;          // .npy input
  std::string columns;
  bool standardize = false;
  double val_fraction = 0;
  std::string save;
  std::string plot;
  std::string plot_feature;
  std::string solver = "sgd";
  bool no_intercept = false;
  double ridge = 0;
  std::string weights;
  std::string penalty = "none", optimizer = "sgd", schedule = "constant";
  bool quiet = false;
  bool no_header = false;
  std::string memory_limit;
};

const std::map<std::string, DeviceChoice> kDevices{{"auto", DeviceChoice::Auto}, {"gpu", DeviceChoice::Gpu},
                                                   {"cpu", DeviceChoice::Cpu}};
const std::map<std::string, Penalty> kPenalties{
    {"none", Penalty::None}, {"l2", Penalty::L2}, {"l1", Penalty::L1}, {"elasticnet", Penalty::ElasticNet}};
const std::map<std::string, Optimizer> kOptimizers{{"sgd", Optimizer::Sgd},
                                                   {"momentum", Optimizer::Momentum},
                                                   {"nesterov", Optimizer::Nesterov},
                                                   {"adam", Optimizer::Adam},
                                                   {"adamw", Optimizer::AdamW}};
const std::map<std::string, LrSchedule> kSchedules{{"constant", LrSchedule::Constant},
                                                   {"step", LrSchedule::Step},
                                                   {"cosine", LrSchedule::Cosine},
                                                   {"invscaling", LrSchedule::InvScaling},
                                                   {"warmup-cosine", LrSchedule::WarmupCosine}};
const std::map<std::string, LossKind> kLosses{{"half-mse", LossKind::HalfMse}, {"mse", LossKind::Mse}};
const std::map<std::string, Strategy> kStrategies{{"auto", Strategy::Auto},
                                                  {"cublas", Strategy::Cublas},
                                                  {"fused", Strategy::Fused},
                                                  {"persistent", Strategy::Persistent}};
// sgd, or an exact factorisation: normal is cholesky's old name, exact is auto's.
struct SolverChoice {
  Method method;
  ExactMethod exact;
};
const std::map<std::string, SolverChoice> kSolvers{
    {"sgd", {Method::Sgd, ExactMethod::Auto}},         {"auto", {Method::Normal, ExactMethod::Auto}},
    {"exact", {Method::Normal, ExactMethod::Auto}},    {"cholesky", {Method::Normal, ExactMethod::Cholesky}},
    {"normal", {Method::Normal, ExactMethod::Cholesky}}, {"qr", {Method::Normal, ExactMethod::Qr}},
    {"svd", {Method::Normal, ExactMethod::Svd}}};

template <typename Map>
auto lookup(const Map& m, const std::string& key, const std::string& flag) {
  const auto it = m.find(key);
  if (it == m.end()) {
    std::string choices;
    for (const auto& kv : m) choices += (choices.empty() ? "" : "|") + kv.first;
    throw UsageError(flag + ": unknown value '" + key + "' (choose " + choices + ")");
  }
  return it->second;
}

using Clock = std::chrono::steady_clock;

// Progress on stderr (off with --quiet). On a terminal: "epoch 3/10  loss 0.0123  val 0.0145
// 2.1e+07 samples/s  2.3 s left" on one line, redrawn at most ten times a second. Elsewhere (a
// log, a pipe): a plain line after 3 s and then every 30 s, so that a long run in a script still
// shows signs of life without flooding the log.
class Progress {
 public:
  Progress(bool enabled, int64_t epochs, int64_t examples)
      : tty_(::isatty(STDERR_FILENO) == 1), on_(enabled), epochs_(epochs), examples_(examples) {}
  ~Progress() { finish(); }
  // Clears the progress line so that a line can be printed on the same terminal (stdout).
  void clear() {
    if (on_ && tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  // force: redraw even within 100 ms of the last one (after clear()).
  void epoch(const EpochReport& rep, bool force = false) {
    if (!on_) return;
    train_s_ += rep.epoch_seconds;
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (tty_) {
      if (!force && drawn_ && rep.epoch < epochs_ && now - last_ < std::chrono::milliseconds(100)) return;
    } else {
      if (elapsed < next_plain_s_ || rep.epoch >= epochs_) return;
      next_plain_s_ = elapsed + 30;
    }
    last_ = now;
    const double left = elapsed / static_cast<double>(rep.epoch) * static_cast<double>(epochs_ - rep.epoch);
    const double sps = train_s_ > 0 ? static_cast<double>(examples_) * static_cast<double>(rep.epoch) / train_s_ : 0;
    const std::string val = rep.val_loss < 0 ? "" : "  val " + data::number_text(rep.val_loss);
    if (tty_) {
      drawn_ = true;
      std::fprintf(stderr, "\r\033[Kepoch %lld/%lld  loss %s%s  %.3g samples/s  %s left",
                   static_cast<long long>(rep.epoch), static_cast<long long>(epochs_),
                   data::number_text(rep.train_loss).c_str(), val.c_str(), sps, duration_text(left).c_str());
    } else {
      std::fprintf(stderr, "linreg: epoch %lld/%lld  loss %s%s  %.3g samples/s  %s elapsed, about %s left\n",
                   static_cast<long long>(rep.epoch), static_cast<long long>(epochs_),
                   data::number_text(rep.train_loss).c_str(), val.c_str(), sps, duration_text(elapsed).c_str(),
                   duration_text(left).c_str());
    }
    std::fflush(stderr);
  }
  void finish() {
    if (on_ && tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  static std::string duration_text(double s) {
    char buf[32];
    if (s < 120) std::snprintf(buf, sizeof buf, "%.1f s", s);
    else if (s < 7200) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
    else if (s < 172800) std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
    else std::snprintf(buf, sizeof buf, "%.3g days", s / 86400);
    return buf;
  }

  bool tty_, on_;
  int64_t epochs_, examples_;
  bool drawn_ = false;
  double train_s_ = 0;
  double next_plain_s_ = 3;
  Clock::time_point start_ = Clock::now(), last_ = Clock::now();
};

std::string diverged_message(const TrainPlan& plan, const FitResult& fit) {
  const double last = fit.epoch_losses.empty() ? NAN : fit.epoch_losses.back();
  return "training diverged at epoch " + std::to_string(fit.epochs_run) + " (loss " + data::number_text(last, "%g") +
         "): --lr " + shortest_text(json_float(plan.sgd.lr)) + " is too large for this data; try a smaller --lr" +
         (plan.csv_path.empty() || plan.standardize ? "" : " or --standardize");
}

// "data: FILE: 442 rows (354 train, 88 validation), 10 features, target 'y'; read in ..."
std::string data_line(const TrainPlan& plan, const TrainOutcome& o) {
  char speed[96];
  std::snprintf(speed, sizeof speed, "; read in %.3f s (%.0f MB/s)\n", o.read_seconds,
                o.read_seconds > 0 ? o.read_bytes / o.read_seconds / 1e6 : 0.0);
  if (o.streamed) std::snprintf(speed, sizeof speed, "; streamed from the file, never held whole\n");
  return "data: " + terminal_text(data::input_name(plan.csv_path)) + ": " +
         count_of(o.train_rows + o.validation_rows, "row") + " (" + std::to_string(o.train_rows) + " train, " +
         std::to_string(o.validation_rows) + " validation), " + count_of(o.features, "feature") + ", target '" +
         o.target_name + "'" + speed;
}



// Flags → the plan, checking how flags relate (each value's own checks are the library's).
// comm: the job this process is a rank of (one process: single_process()). Only rank 0 writes,
// so only rank 0 checks the outputs.
TrainPlan plan_from_flags(TrainFlags& f, const CLI::App& sub, OutputPlan& outputs, const Communicator& comm) {
  const bool with_data = !f.data.empty();
  if (sub.count("--data") && f.data.empty()) throw UsageError("--data: empty path");
  if (comm.size() > 1) {
    const std::string job = "a data-parallel job of " + std::to_string(comm.size()) + " ranks";
    if (f.data == "-") throw UsageError("--data -: " + job + " reads a file (each rank reads its shard), not stdin");
    if (!f.plot.empty())
      throw UsageError("--plot: not in " + job + " (each rank holds only its shard of the rows); plot from one process");
  }
  if (with_data) {
    for (const char* flag : {"--examples", "--features", "--true-w", "--true-b", "--noise"})
      if (sub.count(flag))
        throw UsageError(std::string(flag) + ": not used with --data (the file decides the data; pick columns with "
                                             "--columns)");
  } else {
    for (const char* flag : {"--target", "--columns", "--no-header", "--weights", "--target-column", "--labels"})
      if (sub.count(flag)) throw UsageError(std::string(flag) + ": needs --data FILE");
  }
  // A NumPy file is recognised by its first bytes; its columns have numbers, not names.
  const bool npy = with_data && data::file_is_npy(f.data);
  if (npy) {
    for (const char* flag : {"--target", "--columns", "--no-header", "--weights"})
      if (sub.count(flag))
        throw UsageError(std::string(flag) + ": names a CSV column; " + terminal_text(f.data) +
                         " is an .npy file (its target: --target-column N or --labels FILE)");
  } else if (with_data) {
    for (const char* flag : {"--target-column", "--labels"})
      if (sub.count(flag))
        throw UsageError(std::string(flag) + ": for .npy input; " + terminal_text(data::input_name(f.data)) +
                         " is read as CSV (its target: --target NAME)");
  }
  if (sub.count("--target-column") && f.target_column < 0)
    throw UsageError("--target-column: a column number from 0 (got " + std::to_string(f.target_column) + ")");
  if (sub.count("--labels") && f.labels.empty()) throw UsageError("--labels: empty path");
  if (sub.count("--labels") && sub.count("--target-column"))
    throw UsageError("--labels and --target-column: give one (the target is a file, or a column of --data)");
  if (sub.count("--plot-feature") && f.plot.empty()) throw UsageError("--plot-feature: needs --plot FILE");
  if (!(f.val_fraction >= 0.0 && f.val_fraction < 1.0))
    throw UsageError("--val-fraction: must be at least 0 and below 1 (got " + shortest_text(f.val_fraction) + ")");
  if (sub.count("--save") && f.save.empty()) throw UsageError("--save: empty path");
  if (sub.count("--plot") && f.plot.empty()) throw UsageError("--plot: empty path");
  const SolverChoice solver = lookup(kSolvers, f.solver, "--solver");
  if (solver.method == Method::Normal) {
    // The exact solution has no learning rate, epochs, batches or GPU step: a value given for
    // one of them would be silently ignored and then reported.
    for (const char* flag : {"--lr", "--epochs", "--batch-size", "--strategy", "--penalty", "--alpha", "--l1-ratio",
                             "--optimizer", "--momentum", "--beta1", "--beta2", "--eps", "--weight-decay",
                             "--lr-schedule", "--lr-step-epochs", "--lr-gamma", "--power-t", "--warmup-epochs",
                             "--average", "--early-stopping", "--patience", "--tol"})
      if (sub.count(flag))
        throw UsageError(std::string(flag) + ": not used by --solver " + f.solver +
                         " (the exact least-squares solution has no learning rate, epochs, batches or GPU step "
                         "strategy); leave it out");
  } else if (sub.count("--ridge")) {
    throw UsageError("--ridge: an L2 penalty of the exact solvers (--solver auto|cholesky|qr|svd); SGD has no "
                     "penalty yet");
  }
  if (!(std::isfinite(f.ridge) && f.ridge >= 0))
    throw UsageError("--ridge: the penalty must be a finite number >= 0 (got " + shortest_text(f.ridge) + ")");
  if (sub.count("--weights") && f.weights.empty()) throw UsageError("--weights: empty column name");

  TrainPlan plan;
  if (sub.count("--memory-limit")) {
    if (!npy)
      throw UsageError("--memory-limit: streams an .npy --data file in chunks; CSV files and the synthetic problem "
                       "are read into memory");
    plan.memory_limit = parse_byte_size(f.memory_limit, "--memory-limit");
  }
  plan.csv_path = f.data;
  plan.csv.target = f.target;
  plan.csv.header = !f.no_header;
  plan.csv.read.on_wait = [](const std::string& name) {
    std::cerr << "linreg: note: waiting for data on " << terminal_text(name) << " (nothing has been written to it yet)\n";
  };
  if (!f.columns.empty()) plan.csv.columns = data::split_names(f.columns, "--columns");
  plan.csv.weights = f.weights;
  plan.npy_input = npy;
  plan.npy.target_column = f.target_column;
  plan.npy.labels = f.labels;
  plan.synthetic = f.spec;
  if (sub.count("--true-w") != 0) {  // given, even if empty: an empty list is an error
    plan.synthetic.true_w = parse_decimal_list(f.true_w, "--true-w");
    // --true-w alone sets the feature count; with --features they must agree.
    if (sub.count("--features") == 0) plan.synthetic.features = static_cast<int64_t>(plan.synthetic.true_w.size());
  }
  plan.synthetic.seed = f.opt.seed;
  plan.device = lookup(kDevices, f.device, "--device");
  plan.sgd = f.opt;
  plan.sgd.loss = lookup(kLosses, f.loss, "--loss");
  plan.sgd.strategy = lookup(kStrategies, f.strategy, "--strategy");
  plan.method = solver.method;
  plan.exact.method = solver.exact;
  plan.exact.intercept = !f.no_intercept;
  plan.exact.ridge = f.ridge;
  plan.sgd.intercept = !f.no_intercept;
  plan.sgd.penalty = lookup(kPenalties, f.penalty, "--penalty");
  plan.sgd.optimizer = lookup(kOptimizers, f.optimizer, "--optimizer");
  plan.sgd.schedule = lookup(kSchedules, f.schedule, "--lr-schedule");
  // A setting of a rule that is not in use would be ignored without a word: refused instead.
  const Optimizer o = plan.sgd.optimizer;
  const bool adam = o == Optimizer::Adam || o == Optimizer::AdamW;
  const std::vector<std::pair<const char*, bool>> used_only_with = {
      {"--alpha", plan.sgd.penalty != Penalty::None},
      {"--l1-ratio", plan.sgd.penalty == Penalty::ElasticNet},
      {"--momentum", o == Optimizer::Momentum || o == Optimizer::Nesterov},
      {"--beta1", adam},
      {"--beta2", adam},
      {"--eps", adam},
      {"--lr-step-epochs", plan.sgd.schedule == LrSchedule::Step},
      {"--lr-gamma", plan.sgd.schedule == LrSchedule::Step},
      {"--power-t", plan.sgd.schedule == LrSchedule::InvScaling},
      {"--warmup-epochs", plan.sgd.schedule == LrSchedule::WarmupCosine},
      {"--patience", plan.sgd.early_stopping},
      {"--tol", plan.sgd.early_stopping}};
  static const std::map<std::string, std::string> kNeeds = {
      {"--alpha", "--penalty l2|l1|elasticnet"}, {"--l1-ratio", "--penalty elasticnet"},
      {"--momentum", "--optimizer momentum|nesterov"}, {"--beta1", "--optimizer adam|adamw"},
      {"--beta2", "--optimizer adam|adamw"}, {"--eps", "--optimizer adam|adamw"},
      {"--lr-step-epochs", "--lr-schedule step"}, {"--lr-gamma", "--lr-schedule step"},
      {"--power-t", "--lr-schedule invscaling"}, {"--warmup-epochs", "--lr-schedule warmup-cosine"},
      {"--patience", "--early-stopping"}, {"--tol", "--early-stopping"}};
  if (plan.method == Method::Sgd)
    for (const auto& [flag, used] : used_only_with)
      if (sub.count(flag) && !used) throw UsageError(std::string(flag) + ": used only with " + kNeeds.at(flag));
  // torch.optim.AdamW's default weight decay is 0.01 (Adam's and SGD's: 0).
  if (o == Optimizer::AdamW && !sub.count("--weight-decay")) plan.sgd.weight_decay = 0.01;
  plan.val_fraction = f.val_fraction;
  plan.standardize = f.standardize;
  plan.need_rows = !f.plot.empty();
  if (!with_data) {
    validate_synthetic(plan.synthetic);
    check_labels_fit_float32(plan.synthetic);
  }
  // Settings that do not depend on the data fail before any is read (the batch size is checked
  // against the rows once they are known).
  if (plan.method == Method::Sgd) validate_train(plan.sgd, std::max<int64_t>(plan.sgd.batch_size, 1));
  plan.cluster = &comm;
  if (comm.rank() != 0) return plan;
  // Outputs must be writable, and distinct from the input and each other, before any work.
  if (!f.save.empty()) outputs.add(f.save, "--save");
  if (!f.plot.empty()) outputs.add(f.plot, "--plot");
  if (with_data) outputs.add_input("--data", f.data);
  if (!f.labels.empty()) outputs.add_input("--labels", f.labels);
  outputs.check(f.json ? "--json" : "");
  return plan;
}

// The plot's feature, by name (the first feature by default).
int64_t plot_feature_index(const TrainFlags& f, const TrainOutcome& o) {
  if (f.plot_feature.empty()) return 0;
  const auto it = std::find(o.feature_names.begin(), o.feature_names.end(), f.plot_feature);
  if (it == o.feature_names.end()) throw InputError("--plot-feature '" + f.plot_feature + "': not one of the features");
  return it - o.feature_names.begin();
}

std::string render_plot(const TrainFlags& f, const TrainPlan& plan, const TrainOutcome& o, int64_t feature) {
  data::FitPlotInput in;
  in.data = &o.rows;
  in.feature = feature;
  in.w = o.fit.w;
  in.b = o.fit.b;
  in.train_losses = o.fit.epoch_losses;
  in.val_losses = o.fit.epoch_val_losses;
  in.loss_name = loss_name(plan.sgd.loss);
  // The file's name as a title: its bytes may be anything, the SVG must stay valid UTF-8.
  const std::string base =
      o.synthetic ? std::string("synthetic data") : terminal_text(data::input_name(f.data.substr(f.data.find_last_of('/') + 1)));
  in.title = base + ": " + o.target_name + " against " + o.feature_names[static_cast<size_t>(feature)] +
             (plan.method == Method::Normal ? " (exact least squares)" : "");
  in.seed = plan.sgd.seed;
  return data::render_fit_plot(in);
}

int run_train(TrainFlags& f, const CLI::App& sub) {
  OutputPlan outputs;
  // Under mpirun every rank runs this command; they train together, and rank 0 alone reports and
  // writes (main silences the other ranks' output).
  const Communicator& comm = join_cluster();
  TrainPlan plan;
  together(comm, [&] { plan = plan_from_flags(f, sub, outputs, comm); });
  // With an output on stdout (--save -, --plot -), the report goes to stderr.
  std::ostream& os = outputs.report_stream();
  if (f.standardize && plan.method == Method::Normal)
    std::cerr << "linreg: note: --standardize does not change --solver " << f.solver
              << " (the exact solution does not depend on the feature scales; the columns are scaled internally and "
                 "the system solved in double)\n";

  // The exact solver has no epochs: its lines wait for the solve, so that a refused system is
  // one line on stderr and nothing on stdout.
  const bool print_early = plan.method == Method::Sgd;
  const int64_t stride = epoch_stride(plan.sgd.epochs, kEpochLines);
  std::string header;
  std::unique_ptr<Progress> progress;
  int64_t plot_feature = 0;
  const auto on_data = [&](const TrainOutcome& o) { plot_feature = plot_feature_index(f, o); };
  const auto on_start = [&](const TrainOutcome& o) {
    for (size_t j : o.scaling.constant)
      std::cerr << "linreg: warning: column '" << o.feature_names[j]
                << "' is constant in the training rows; its weight is not determined by the data\n";
    if (print_early && !o.note.empty()) std::cerr << "linreg: note: " << o.note << '\n';
    if (print_early && stride > 1 && !f.json)
      std::cerr << "linreg: note: " << plan.sgd.epochs << " epochs: printing every " << ordinal(stride)
                << " epoch's line and the last\n";
    header = f.json ? "" : (o.synthetic ? "" : data_line(plan, o)) + "device: " + o.device + " (" + o.backend + ")\n";
    if (print_early) os << header << std::flush;
    progress = std::make_unique<Progress>(!f.quiet && print_early, plan.sgd.epochs, o.train_rows);
  };
  const auto on_epoch = [&](const EpochReport& rep) {
    const bool shown = stride == 1 || rep.epoch % stride == 0 || rep.epoch == plan.sgd.epochs ||
                       !std::isfinite(rep.train_loss) || std::isnan(rep.val_loss);
    if (!f.json && shown) {
      progress->clear();
      os << epoch_line(rep) << std::endl;
    }
    progress->epoch(rep, !f.json && shown);
  };
  TrainOutcome out;
  try {
    out = run_training(plan, on_data, on_start, on_epoch);
  } catch (const std::bad_alloc&) {
    if (progress) progress->finish();
    if (plan.csv_path.empty())
      throw InputError("out of host memory for --examples " + std::to_string(plan.synthetic.examples) +
                       " x --features " + std::to_string(plan.synthetic.features) + "; use fewer examples or features");
    throw InputError("out of host memory for the data of " + data::input_name(plan.csv_path) +
                     "; it is too large for this machine (use fewer rows or --columns)");
  }
  if (progress) progress->finish();
  if (!print_early && !out.note.empty()) std::cerr << "linreg: note: " << out.note << '\n';
  if (out.fit.exact && !out.fit.exact->warning.empty())
    std::cerr << "linreg: warning: --solver " << f.solver << ": " << out.fit.exact->warning << '\n';
  // The epoch's line is out (above); the error follows it.
  // (Every rank of a job diverges together: the message is theirs in common.)
  if (out.fit.diverged) together(comm, [&] { throw InputError(diverged_message(plan, out.fit)); });
  if (comm.rank() != 0) return 0;

  RunReport report{&plan, &out, f.save, f.plot};
  // The model file and the plot are rendered, then written together: each appears whole, and a
  // failure of either leaves both targets as they were.
  if (!f.save.empty()) outputs.set("--save", data::json_text(data::model_to_json(run_model(report)), 2) + "\n");
  if (!f.plot.empty()) outputs.set("--plot", render_plot(f, plan, out, plot_feature));
  outputs.commit();
  // The exact solver prints nothing until its files are written: a failure is one line on stderr.
  if (!print_early) os << header;
  if (f.json) std::cout << data::json_text(run_json(report)) << std::endl;
  else os << text_report(report);
  return 0;
}

}  // namespace

void add_train_command(CLI::App& root, Commands& cmds) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* sub = root.add_subcommand(
      "train",
      "Fit y = Xw + b by minibatch SGD (or exactly: --solver auto|cholesky|qr|svd) on the lab's synthetic data or a "
      "CSV file");
  sub->add_option("--device", f->device, "auto | gpu | cpu (auto: the GPU when usable, else the CPU; an exact --solver goes to the GPU under auto only "
                  "when its pass over the data is at least 1e10 multiply-adds, rows x (coefficients + 1)^2)")
      ->capture_default_str();
  sub->add_option("--examples", f->spec.examples, "number of synthetic examples")->capture_default_str()->transform(decimal_integer());
  sub->add_option("--features", f->spec.features, "number of synthetic features")->capture_default_str()->transform(decimal_integer());
  sub->add_option("--true-w", f->true_w,
                  "true weights, comma list (default: 2,-3.4 for 2 features, else w_j = 4j/d - 2)");
  sub->add_option("--true-b", f->spec.true_b, "true bias")->capture_default_str()->transform(decimal_number(true));
  sub->add_option("--noise", f->spec.noise, "standard deviation of the label noise")->capture_default_str()->transform(decimal_number(true));
  sub->add_option("--batch-size", f->opt.batch_size, "minibatch size")->capture_default_str()->transform(decimal_integer());
  sub->add_option("--lr", f->opt.lr, "learning rate")->capture_default_str()->transform(decimal_number(true));
  sub->add_option("--epochs", f->opt.epochs, "passes over the data (beyond 1000, every k-th epoch's line is printed)")->capture_default_str()->transform(decimal_integer());
  sub->add_option("--seed", f->opt.seed,
                  "seed for the data, the initial weights, the shuffles and the validation split")
      ->capture_default_str()
      ->transform(decimal_integer(true));
  sub->add_option("--loss", f->loss,
                  "half-mse: the lab's section 4, (y'-y)^2/2 averaged over the batch; "
                  "mse: section 5's nn.MSELoss, mean (y'-y)^2")
      ->capture_default_str();
  sub->add_option("--strategy", f->strategy, "GPU step strategy: auto | cublas | fused | persistent")
      ->capture_default_str();
  // How SGD steps (docs/SGD.md). Anything but the defaults trains on the CPU.
  sub->add_option("--penalty", f->penalty,
                  "SGD penalty, scikit-learn's SGDRegressor: none | l2 (alpha/2 |w|^2) | l1 (alpha |w|_1, exact zeros "
                  "by a proximal step) | elasticnet; the intercept is not penalised")
      ->capture_default_str();
  sub->add_option("--alpha", f->opt.alpha, "the penalty's strength")->capture_default_str()->transform(decimal_number(false));
  sub->add_option("--l1-ratio", f->opt.l1_ratio, "elasticnet: the L1 share rho of alpha*(rho |w|_1 + (1-rho)/2 |w|^2)")
      ->capture_default_str()
      ->transform(decimal_number(false));
  sub->add_option("--optimizer", f->optimizer,
                  "torch.optim's step rules: sgd | momentum | nesterov | adam | adamw")
      ->capture_default_str();
  sub->add_option("--momentum", f->opt.momentum, "momentum and nesterov: mu in [0, 1) (torch: buf = mu buf + g)")
      ->capture_default_str()
      ->transform(decimal_number(false));
  sub->add_option("--beta1", f->opt.beta1, "adam, adamw: first-moment decay")->capture_default_str()->transform(decimal_number(false));
  sub->add_option("--beta2", f->opt.beta2, "adam, adamw: second-moment decay")->capture_default_str()->transform(decimal_number(false));
  sub->add_option("--eps", f->opt.eps, "adam, adamw: added to the denominator")->capture_default_str()->transform(decimal_number(false));
  sub->add_option("--weight-decay", f->opt.weight_decay,
                  "torch.optim's weight_decay on w and b (adamw: decoupled, default 0.01; else L2 in the gradient, "
                  "default 0)")
      ->transform(decimal_number(false));
  sub->add_option("--lr-schedule", f->schedule,
                  "constant | step (StepLR, per epoch) | cosine (CosineAnnealingLR, T_max = --epochs) | invscaling "
                  "(scikit-learn: lr / t^power_t, per step) | warmup-cosine (linear warm-up, then cosine)")
      ->capture_default_str();
  sub->add_option("--lr-step-epochs", f->opt.lr_step_epochs, "step: multiply the rate by --lr-gamma every this many epochs")
      ->capture_default_str()
      ->transform(decimal_integer());
  sub->add_option("--lr-gamma", f->opt.lr_gamma, "step: the factor, in (0, 1]")->capture_default_str()->transform(decimal_number(false));
  sub->add_option("--power-t", f->opt.power_t, "invscaling: the exponent")->capture_default_str()->transform(decimal_number(false));
  sub->add_option("--warmup-epochs", f->opt.warmup_epochs, "warmup-cosine: epochs of linear warm-up (below --epochs)")
      ->capture_default_str()
      ->transform(decimal_integer());
  sub->add_flag("--average", f->opt.average, "averaged SGD: report the mean of the iterates after every step");
  sub->add_flag("--early-stopping", f->opt.early_stopping,
                "stop when the validation loss (with --val-fraction; else the training loss) has not improved by more "
                "than --tol for --patience epochs; the best epoch's model is reported");
  sub->add_option("--patience", f->opt.patience, "early stopping: epochs without improvement")
      ->capture_default_str()
      ->transform(decimal_integer());
  sub->add_option("--tol", f->opt.tol, "early stopping: the improvement that counts")->capture_default_str()->transform(decimal_number(false));
  sub->add_flag("--json", f->json, "print one JSON object on stdout and nothing else there");
  // Data in, models out (docs/DATA.md).
  sub->add_option("--data", f->data, "train on a CSV file with a header row, or a NumPy .npy file (instead of synthetic data); - is stdin (CSV)");
  sub->add_flag("--no-header", f->no_header, "--data has no header row: its columns are c1, c2, ... (the target: the last)");
  sub->add_option("--target", f->target, "the label column of --data (default: the last column)");
  sub->add_option("--columns", f->columns, "feature columns of --data, comma list (default: all but the target)");
  sub->add_option("--target-column", f->target_column,
                  "an .npy --data: the target's column, from 0 (default: the last); the features are named x<column>")
      ->transform(decimal_integer(true));
  sub->add_option("--labels", f->labels, "an .npy --data of features only: the targets, an .npy file of one value per row");
  sub->add_option("--memory-limit", f->memory_limit,
                  "hold at most this many bytes of training rows in memory (e.g. 512M, 8G): an .npy --data "
                  "file larger than that is streamed in chunks (SGD on the CPU or the GPU, the exact solvers part by part; "
                  "under mpirun, each rank's shard); one larger than the free memory always is");
  sub->add_flag("--standardize", f->standardize,
                "train on features scaled to zero mean and unit variance; weights are reported in original units");
  sub->add_option("--val-fraction", f->val_fraction,
                  "hold out this share of the rows (seeded by --seed) as a validation set, in [0, 1)")
      ->capture_default_str()
      ->transform(decimal_number(false));
  sub->add_option("--solver", f->solver,
                  "sgd: minibatch SGD on float32 copies of the data; exact least squares in double on the values as "
                  "read: cholesky (normal equations, fastest; 'normal' is its old name), qr (Householder QR: "
                  "error bounded by cond(X), not its square), svd (rank-revealing, minimum-norm solution), auto "
                  "('exact'; picks by the condition number and says which, drops dependent columns as R's lm does)")
      ->capture_default_str();
  sub->add_flag("--no-intercept", f->no_intercept,
                "fit y = Xw through the origin (b = 0), with every solver; --standardize then scales without centring");
  sub->add_option("--ridge", f->ridge,
                  "exact solvers: L2 penalty ALPHA, minimising sum (y - Xw - b)^2 + ALPHA |w|^2 (scikit-learn's "
                  "Ridge; the intercept is not penalised)")
      ->transform(decimal_number(false));
  sub->add_option("--weights", f->weights,
                  "the column of --data holding per-row weights >= 0: weighted least squares; SGD multiplies each "
                  "example's gradient and loss by its weight (CPU only)");
  sub->add_option("--save", f->save, "write the trained model as JSON (read by linreg predict); - is stdout");
  sub->add_option("--plot", f->plot, "write an SVG: the data and the fitted line, and the loss per epoch; - is stdout");
  sub->add_option("--plot-feature", f->plot_feature, "the feature on the plot's x axis (default: the first)");
  sub->add_flag("--quiet", f->quiet,
                "no progress on stderr (a redrawn line on a terminal; elsewhere a line after 3 s, then every 30 s)");
  cmds.emplace_back(sub, [f, sub] {
    f->spec.seed = f->opt.seed;
    return run_train(*f, *sub);
  });
}

}  // namespace linreg::cli
