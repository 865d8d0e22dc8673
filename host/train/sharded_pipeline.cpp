// run_training for a rank of a data-parallel job (see sharded_pipeline.hpp).
#include "host/train/sharded_pipeline.hpp"

#include <sys/stat.h>

#include <chrono>
#include <numeric>

#include "host/core/error.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/streamed_pipeline.hpp"

namespace linreg {
namespace {

using Clock = std::chrono::steady_clock;

// Rows [s.begin, s.end) of ds, names kept.
HostDataset keep_rows(const HostDataset& ds, const Shard& s) {
  std::vector<int64_t> idx(static_cast<size_t>(s.rows()));
  std::iota(idx.begin(), idx.end(), s.begin);
  HostDataset out = data::take_rows(ds, idx);
  out.feature_names = ds.feature_names;
  out.target_name = ds.target_name;
  return out;
}

struct ShardRows {
  HostDataset rows;       // this rank's
  int64_t total = 0;      // the job's
  int64_t first = 0;      // the first of `rows` among them
};

ShardRows read_shard(const TrainPlan& plan, const Communicator& comm, TrainOutcome& out) {
  ShardRows r;
  const auto t0 = Clock::now();
  if (plan.npy_input) {
    data::NpyOptions o = plan.npy;
    o.shard_index = comm.rank();
    o.shard_count = comm.size();
    data::CsvRead read = data::read_npy(plan.csv_path, o);
    r.rows = std::move(read.data);
    r.total = read.total_rows;
    r.first = read.first_row;
  } else {
    // The synthetic problem is one draw of the whole data, and CSV has no row offsets: both are
    // made whole on every rank and the shard kept (an .npy file is read by shard).
    HostDataset all;
    if (plan.csv_path.empty()) {
      all = generate_synthetic_host(plan.synthetic);
      for (int64_t j = 0; j < all.d; ++j) all.feature_names.push_back("x" + std::to_string(j));
      all.target_name = "y";
    } else {
      all = data::read_csv(plan.csv_path, plan.csv).data;
    }
    const Shard s = shard_of(all.n, comm.rank(), comm.size());
    r.rows = keep_rows(all, s);
    r.total = all.n;
    r.first = s.begin;
  }
  out.read_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  struct stat st {};
  if (!plan.csv_path.empty() && ::stat(plan.csv_path.c_str(), &st) == 0) out.read_bytes = static_cast<double>(st.st_size);
  return r;
}

}  // namespace

TrainOutcome run_training_sharded(const TrainPlan& plan, const Communicator& comm, const StartCallback& on_data,
                                  const StartCallback& on_start, const EpochCallback& on_epoch) {
  TrainOutcome out;
  together(comm, [&] {
    out.synthetic = plan.csv_path.empty();
    // A shard larger than --memory-limit (or the free memory) is streamed from the file.
    if (plan.npy_input && streams(plan, nullptr)) {
      out = run_training_streamed(plan, on_data, on_start, on_epoch);
      return;
    }
    ShardRows shard;
    together(comm, [&] { shard = read_shard(plan, comm, out); });
    if (shard.total < comm.size())
      throw InputError("the data has " + std::to_string(shard.total) + (shard.total == 1 ? " row" : " rows") +
                       " for " + std::to_string(comm.size()) + " ranks: start at most " + std::to_string(shard.total) +
                       " (each rank trains on a shard of the rows)");
    HostDataset train = std::move(shard.rows), val;
    out.features = train.d;
    out.feature_names = train.feature_names;
    out.target_name = train.target_name;
    out.train_rows = shard.total;
    if (on_data) on_data(out);

    // The split: drawn over all rows on every rank (the same marks as one process draws), each
    // rank keeping its part; train and validation rows keep the file's order, so a rank's
    // training rows are a contiguous run of the job's.
    ShardPlacement place;
    place.comm = &comm;
    place.first_row = shard.first;
    place.total_rows = shard.total;
    if (plan.val_fraction > 0) {
      // The job's held-out rows (ascending), and those of them in this rank's shard.
      const std::vector<int64_t> held_out = data::validation_rows(shard.total, plan.val_fraction, plan.sgd.seed);
      const data::HeldOutPart mine = data::held_out_part(held_out, shard.first, shard.first + train.n);
      const int64_t before = mine.training_before, val_total = static_cast<int64_t>(held_out.size());
      together(comm, [&] {
        val = data::take_rows(train, mine.rows);
        train = data::take_rows(train, data::rows_kept(train.n, mine.rows));
      });
      place.first_row = before;
      place.total_rows = shard.total - val_total;
      place.val_total = val_total;
      out.train_rows = place.total_rows;
      out.validation_rows = val_total;
    }
    const HostDataset* val_ptr = place.val_total > 0 ? &val : nullptr;
    if (plan.method == Method::Sgd) validate_train(plan.sgd, place.total_rows);

    HostDataset train_std, val_std;
    const HostDataset* fit_train = &train;
    const HostDataset* fit_val = val_ptr;
    if (plan.standardize && plan.method == Method::Sgd) {
      out.scaling = data::fit_scaling(train, plan.sgd.intercept, &comm);
      together(comm, [&] {
        train_std = train;
        data::apply_scaling(train_std, out.scaling);
        if (val_ptr) {
          val_std = val;
          data::apply_scaling(val_std, out.scaling);
        }
      });
      fit_train = &train_std;
      if (val_ptr) fit_val = &val_std;
    }

    // The exact solver's device rule by this rank's share of the work (auto: the GPU only for a
    // large pass over the data); every rank decides alike only if the shards are alike, which
    // does not matter: each reduces its own shard where it is.
    const DeviceChoice device = plan.method == Method::Normal
                                    ? exact_device(plan.device, train.n, train.d, plan.exact.intercept)
                                    : plan.device;
    std::unique_ptr<Fitter> fitter = make_fitter(plan.method, device, plan.sgd, plan.exact, &out.note,
                                                 !train.weights.empty(), &place);
    together(comm, [&] { fitter->load(*fit_train, fit_val); });
    out.device = fitter->device_name() + ", " + std::to_string(comm.size()) + " ranks (" + comm.transport() + ")";
    out.backend = fitter->backend();
    if (on_start) on_start(out);
    FitResult fit = fitter->fit(on_epoch);
    fitter.reset();
    train_std = HostDataset{};
    val_std = HostDataset{};
    if (fit.diverged) {
      out.fit = std::move(fit);
      return;
    }
    to_original_units(out.scaling, fit);
    out.fit = std::move(fit);
    if (out.fit.exact) out.inference = infer(*out.fit.exact, out.feature_names, plan.exact.intercept, plan.exact.ridge);
    out.train_metrics = data::compute_metrics(train, out.fit.w, out.fit.b, comm);
    if (val_ptr) out.validation_metrics = data::compute_metrics(val, out.fit.w, out.fit.b, comm);
    out.has_metrics = true;
    out.rows = std::move(train);
  });
  return out;
}

}  // namespace linreg
