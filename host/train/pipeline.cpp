// run_training: the one route every `linreg train` takes (see pipeline.hpp).
#include "host/train/pipeline.hpp"

#include <sys/stat.h>

#include <chrono>
#include <tuple>
#include <utility>

#include "host/core/error.hpp"
#include "host/train/sharded_pipeline.hpp"
#include "host/train/streamed_pipeline.hpp"

namespace linreg {
namespace {

using Clock = std::chrono::steady_clock;

// The rows before the split: the CSV or .npy file, or the synthetic problem drawn on the host.
HostDataset read_rows(const TrainPlan& plan, TrainOutcome& out) {
  if (plan.csv_path.empty()) {
    HostDataset ds = generate_synthetic_host(plan.synthetic);
    for (int64_t j = 0; j < ds.d; ++j) ds.feature_names.push_back("x" + std::to_string(j));
    ds.target_name = "y";
    return ds;
  }
  const auto t0 = Clock::now();
  HostDataset ds = plan.npy_input ? data::read_npy(plan.csv_path, plan.npy).data : data::read_csv(plan.csv_path, plan.csv).data;
  out.read_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  struct stat st {};
  if (::stat(plan.csv_path.c_str(), &st) == 0) out.read_bytes = static_cast<double>(st.st_size);
  return ds;
}

void describe(const HostDataset& train, TrainOutcome& out) {
  out.train_rows = train.n;
  out.features = train.d;
  out.feature_names = train.feature_names;
  out.target_name = train.target_name;
}

}  // namespace

void to_original_units(const data::Scaling& scaling, FitResult& fit) {
  if (scaling.empty()) return;
  std::vector<double> w;
  double b = 0;
  data::unscale_weights(scaling, fit.w, fit.b, w, b);
  fit.w = std::move(w);
  fit.b = b;
  fit.float32 = false;
}

TrainOutcome run_training(const TrainPlan& plan, const StartCallback& on_data, const StartCallback& on_start,
                          const EpochCallback& on_epoch) {
  if (plan.cluster && plan.cluster->size() > 1) return run_training_sharded(plan, *plan.cluster, on_data, on_start, on_epoch);
  if (streams(plan, nullptr)) return run_training_streamed(plan, on_data, on_start, on_epoch);
  TrainOutcome out;
  out.synthetic = plan.csv_path.empty();
  const bool on_device = out.synthetic && plan.val_fraction == 0 && !plan.standardize && plan.method == Method::Sgd;

  if (on_device) {
    // The lab's run: the data is generated where the fitter lives.
    validate_train(plan.sgd, plan.synthetic.examples);
    std::unique_ptr<Fitter> fitter = make_fitter(plan.method, plan.device, plan.sgd, plan.exact, &out.note);
    fitter->generate(plan.synthetic);
    out.device = fitter->device_name();
    out.backend = fitter->backend();
    out.train_rows = plan.synthetic.examples;
    out.features = plan.synthetic.features;
    for (int64_t j = 0; j < out.features; ++j) out.feature_names.push_back("x" + std::to_string(j));
    out.target_name = "y";
    if (on_data) on_data(out);
    if (on_start) on_start(out);
    out.fit = fitter->fit(on_epoch);
    if (out.fit.diverged) return out;
    if (plan.need_rows || out.train_rows * (out.features + 1) <= kMetricsCopyLimit) {
      out.rows = fitter->rows();
      out.train_metrics = data::compute_metrics(out.rows, out.fit.w, out.fit.b);
      out.has_metrics = true;
      if (!plan.need_rows) out.rows = HostDataset{};
    }
    return out;
  }

  HostDataset train = read_rows(plan, out);
  describe(train, out);
  if (on_data) on_data(out);
  if (plan.val_fraction > 0) std::tie(train, out.validation) = data::split_validation(train, plan.val_fraction, plan.sgd.seed);
  describe(train, out);
  out.validation_rows = out.validation.n;
  const HostDataset* val = out.validation.n > 0 ? &out.validation : nullptr;
  if (plan.method == Method::Sgd) validate_train(plan.sgd, train.n);

  // SGD on standardised copies; the originals serve the metrics.
  HostDataset train_std, val_std;
  const HostDataset* fit_train = &train;
  const HostDataset* fit_val = val;
  if (plan.standardize && plan.method == Method::Sgd) {
    // Without an intercept the columns are scaled, not centred: the model could not absorb a shift.
    out.scaling = data::fit_scaling(train, plan.sgd.intercept);
    train_std = train;
    data::apply_scaling(train_std, out.scaling);
    fit_train = &train_std;
    if (val) {
      val_std = *val;
      data::apply_scaling(val_std, out.scaling);
      fit_val = &val_std;
    }
  }

  const DeviceChoice device =
      plan.method == Method::Normal ? exact_device(plan.device, train.n, train.d, plan.exact.intercept) : plan.device;
  std::unique_ptr<Fitter> fitter =
      make_fitter(plan.method, device, plan.sgd, plan.exact, &out.note, !train.weights.empty());
  fitter->load(*fit_train, fit_val);
  out.device = fitter->device_name();
  out.backend = fitter->backend();
  if (on_start) on_start(out);
  FitResult fit = fitter->fit(on_epoch);
  fitter.reset();
  train_std = HostDataset{};
  val_std = HostDataset{};
  if (fit.diverged) {
    out.fit = std::move(fit);
    return out;
  }
  to_original_units(out.scaling, fit);
  out.fit = std::move(fit);
  if (out.fit.exact) out.inference = infer(*out.fit.exact, out.feature_names, plan.exact.intercept, plan.exact.ridge);
  out.train_metrics = data::compute_metrics(train, out.fit.w, out.fit.b);
  if (val) out.validation_metrics = data::compute_metrics(*val, out.fit.w, out.fit.b);
  out.has_metrics = true;
  out.rows = std::move(train);
  return out;
}

}  // namespace linreg
