// run_training on an .npy file streamed in chunks (see streamed_pipeline.hpp).
#include "host/train/streamed_pipeline.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/gpu_backend.hpp"

namespace linreg {
namespace {

std::string gib(double bytes) {
  char buf[32];
  if (bytes >= 1024.0 * 1024.0 * 1024.0) std::snprintf(buf, sizeof buf, "%.3g GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  else std::snprintf(buf, sizeof buf, "%.3g MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

// The rows SGD trains on, from the file: float32, standardised when the run standardises (from
// the values as read, as the in-memory route scales them).
class NpyChunks final : public RowChunks {
 public:
  NpyChunks(const data::NpyRows& file, const data::Scaling* scaling) : file_(file), scaling_(scaling) {}
  int64_t rows() const override { return file_.rows(); }
  int64_t features() const override { return file_.features(); }
  void read(int64_t r0, int64_t count, std::vector<float>& X, std::vector<float>& y) const override {
    HostDataset ds;  // X and y: the caller's arrays, reused (swapped in and out)
    ds.X.swap(X);
    ds.y.swap(y);
    file_.read(r0, count, ds, /*floats_only=*/!scaling_);
    if (scaling_) data::apply_scaling(ds, *scaling_);
    X.swap(ds.X);
    y.swap(ds.y);
  }

 private:
  const data::NpyRows& file_;
  const data::Scaling* scaling_;
};

// The file's rows in chunks, in file order, for the statistics' passes (values as read).
data::RowParts parts_of(const data::NpyRows& file, int64_t chunk_rows) { return npy_row_parts(file, 0, file.rows(), chunk_rows); }

}  // namespace

data::RowParts npy_row_parts(const data::NpyRows& file, int64_t begin, int64_t end, int64_t part) {
  return [&file, begin, end, part](const std::function<void(const HostDataset&)>& f) {
    HostDataset ds;
    for (int64_t r0 = begin; r0 < end; r0 += part) {
      file.read(r0, std::min(part, end - r0), ds);
      f(ds);
    }
  };
}

LeastSquaresParts npy_parts(const data::NpyRows& file, int64_t begin, int64_t end, int64_t part) {
  LeastSquaresParts parts;
  parts.rows = end - begin;
  parts.features = file.features();
  parts.wide = file.wide();
  for (int64_t j = 0; j < parts.features; ++j) parts.names.push_back("x" + std::to_string(j));
  parts.each = [&file, begin, end, part](const std::function<void(const HostDataset&, int64_t)>& f) {
    HostDataset ds;
    for (int64_t r0 = begin; r0 < end; r0 += part) {
      file.read(r0, std::min(part, end - r0), ds);
      f(ds, r0 - begin);
    }
  };
  parts.head = [&file, begin, end](int64_t m) {
    HostDataset ds;
    file.read(begin, std::min(m, end - begin), ds);
    return ds;
  };
  return parts;
}

int64_t exact_part_rows(uint64_t limit, int64_t features, bool wide) {
  // One part in memory at a time, with the values as read (float64 beside float32 when wide).
  const uint64_t row = npy_training_bytes(1, features, wide);
  if (limit < row)
    throw SettingError("memory_limit", std::to_string(limit) + " bytes is too small for one row (" + std::to_string(row) +
                                           " bytes)");
  return static_cast<int64_t>(std::min<uint64_t>(limit / row, uint64_t{1} << 31));
}

uint64_t npy_training_bytes(int64_t rows, int64_t features, bool float64) {
  const uint64_t values = static_cast<uint64_t>(rows) * static_cast<uint64_t>(features + 1);
  return values * (sizeof(float) + (float64 ? sizeof(double) : 0));
}

int64_t stream_chunk_rows(uint64_t limit, int64_t features) {
  // A chunk row, twice (the chunk training and the one being read): its (features + 1) float32
  // values and its uint32 entry in the chunk's order.
  const uint64_t row = static_cast<uint64_t>(features + 1) * sizeof(float);
  const uint64_t rows = limit / (2 * (row + sizeof(uint32_t)));
  if (rows < 1)
    throw SettingError("memory_limit", std::to_string(limit) + " bytes is too small: streaming holds two chunks of "
                                           "rows, and two rows of " + std::to_string(features + 1) +
                                           " float32 values take " + std::to_string(2 * row) + " bytes");
  return static_cast<int64_t>(std::min<uint64_t>(rows, uint64_t{1} << 31));
}

bool streams(const TrainPlan& plan, std::string* why) {
  if (!plan.npy_input || (plan.cluster && plan.cluster->size() > 1)) return false;
  const data::NpyRows file(plan.csv_path, plan.npy);
  const uint64_t need = npy_training_bytes(file.rows(), file.features(), file.wide());
  if (plan.memory_limit > 0) {
    if (need <= plan.memory_limit) return false;
    if (why) *why = "the rows take " + gib(static_cast<double>(need)) + ", over --memory-limit: streaming them from the file";
    return true;
  }
  const uint64_t free = host_memory_available();
  if (free == 0 || need <= free / 10 * 9) return false;
  if (why)
    *why = "the rows take " + gib(static_cast<double>(need)) + " and this machine has " + gib(static_cast<double>(free)) +
           " free: streaming them from the file";
  return true;
}

TrainOutcome run_training_streamed(const TrainPlan& plan, const StartCallback& on_data, const StartCallback& on_start,
                                   const EpochCallback& on_epoch) {
  TrainOutcome out;
  out.synthetic = false;
  out.streamed = true;
  streams(plan, &out.note);
  if (plan.val_fraction > 0)
    throw SettingError("memory_limit", "a validation split is not available on streamed rows yet; leave out --val-fraction");
  if (plan.method == Method::Normal && plan.device == DeviceChoice::Gpu)
    throw DeviceUnavailable("streamed exact solves run on the CPU; use --device cpu or auto (or a --memory-limit "
                            "that holds the rows: the GPU's pass is made in chunks anyway)");
  const data::NpyRows file(plan.csv_path, plan.npy);
  const int64_t n = file.rows(), d = file.features();
  out.train_rows = n;
  out.features = d;
  for (int64_t j = 0; j < d; ++j) out.feature_names.push_back("x" + std::to_string(j));
  out.target_name = "y";
  struct stat st {};
  if (::stat(plan.csv_path.c_str(), &st) == 0) out.read_bytes = static_cast<double>(st.st_size);
  if (on_data) on_data(out);
  const uint64_t limit = plan.memory_limit > 0 ? plan.memory_limit : host_memory_available() / 2;
  if (plan.method == Method::Normal) {
    const int64_t part = exact_part_rows(limit, d, file.wide());
    const LeastSquaresParts parts = npy_parts(file, 0, n, part);
    LeastSquaresOptions o;
    o.method = plan.exact.method;
    o.intercept = plan.exact.intercept;
    o.ridge = plan.exact.ridge;
    out.device = out.backend = "cpu";
    if (on_start) on_start(out);
    out.fit = exact_fit_result(std::make_shared<LeastSquaresFit>(least_squares(parts, o)), false,
                               "; streamed in parts of " + std::to_string(part) + " rows");
    out.inference = infer(*out.fit.exact, out.feature_names, plan.exact.intercept, plan.exact.ridge);
    out.train_metrics = data::compute_metrics(parts_of(file, part), out.fit.w, out.fit.b);
    out.has_metrics = true;
    return out;
  }
  validate_train(plan.sgd, n);
  // Standardising a float64 file reads each chunk with its float64 values too (the scaling is
  // applied to the values as read, as in memory): 8 more bytes a value while one chunk is read,
  // so the two float32 chunks get half the limit.
  const bool wide_reads = plan.standardize && file.wide();
  const int64_t chunk = stream_chunk_rows(wide_reads ? limit / 2 : limit, d);
  // The statistics' passes read the values as read (float64 beside float32 for a float64 file,
  // three times the bytes): chunks of a third of the rows keep them within the limit too.
  const data::RowParts parts = parts_of(file, std::max<int64_t>(1, chunk / 3));
  if (plan.standardize) out.scaling = data::fit_scaling(parts, d, plan.sgd.intercept);
  const NpyChunks chunks(file, out.scaling.empty() ? nullptr : &out.scaling);
  // SGD streams to the GPU where one is placed: the host holds four chunks then (two pinned
  // buffers, and the two the reader fills), so each chunk gets a quarter of the limit.
  const Placement where = place(plan.device);
  if (!where.note.empty()) out.note += "; " + where.note;
  out.device = where.gpu ? where.gpu_name : "cpu";
  out.backend = where.gpu ? "cuda" : "cpu";
  const int64_t rows_per_chunk = where.gpu ? stream_chunk_rows(wide_reads ? limit / 4 : limit / 2, d) : chunk;
  if (on_start) on_start(out);
  const TrainResult r = where.gpu ? where.gpu->train_streamed(chunks, plan.sgd, rows_per_chunk, on_epoch)
                                  : train_streamed(chunks, plan.sgd, chunk, on_epoch);
  FitResult& f = out.fit;
  f.w.assign(r.w.begin(), r.w.end());
  f.b = static_cast<double>(r.b);
  f.float32 = true;
  f.epoch_losses = r.epoch_losses;
  f.epochs_run = r.epochs_run;
  f.best_epoch = r.best_epoch;
  f.stop_reason = r.stop_reason;
  f.diverged = r.diverged;
  f.train_seconds = r.train_seconds;
  f.eval_seconds = r.eval_seconds;
  f.method = r.strategy + " in chunks of " + std::to_string(std::min(rows_per_chunk, n)) + " rows";
  if (f.diverged) return out;
  to_original_units(out.scaling, f);
  out.train_metrics = data::compute_metrics(parts, f.w, f.b);
  out.has_metrics = true;
  return out;
}

}  // namespace linreg
