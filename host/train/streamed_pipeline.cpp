// run_training on an .npy file streamed in chunks (see streamed_pipeline.hpp).
#include "host/train/streamed_pipeline.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/gpu_backend.hpp"

namespace linreg {
namespace {

// What drawing a validation split takes, a held-out row (data::validation_rows: its index, and a
// hash-map entry for a moved position; an upper bound on common standard libraries).
constexpr uint64_t kDrawBytesPerRow = 64;

std::string gib(double bytes) {
  char buf[32];
  if (bytes >= 1024.0 * 1024.0 * 1024.0) std::snprintf(buf, sizeof buf, "%.3g GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  else std::snprintf(buf, sizeof buf, "%.3g MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

// The training rows of file rows [begin, end) (a rank's shard; one process: all of them): with
// a validation split, the rows split_validation keeps for training, in file order, read by their
// index among them; without one, every row. The held-out rows are a sorted list (a few of the
// rows), so where training row t lies is a binary search.
class TrainingRows {
 public:
  // held_out: the held-out rows among [begin, end), ascending, counted from begin (empty: none).
  TrainingRows(const data::NpyRows& file, int64_t begin, int64_t end, std::vector<int64_t> held_out)
      : file_(file), begin_(begin), end_(end), held_(std::move(held_out)),
        rows_(end - begin - static_cast<int64_t>(held_.size())) {}
  int64_t rows() const { return rows_; }
  int64_t features() const { return file_.features(); }
  bool wide() const { return file_.wide(); }

  // Training rows [t0, t0 + count) into ds, as NpyRows::read gives rows.
  void read(int64_t t0, int64_t count, HostDataset& ds, bool floats_only = false) const {
    if (t0 < 0 || count < 0 || t0 + count > rows_) throw std::logic_error("TrainingRows::read: rows out of range");
    if (held_.empty()) {
      file_.read(begin_ + t0, count, ds, floats_only);
      return;
    }
    const int64_t d = file_.features();
    ds.n = 0;
    ds.d = d;
    ds.X.clear();
    ds.y.clear();
    ds.X64.clear();
    ds.y64.clear();
    each_training_row(t0, count, floats_only, [&](const HostDataset& piece, int64_t i, int64_t) {
      ds.X.insert(ds.X.end(), piece.X.begin() + i * d, piece.X.begin() + (i + 1) * d);
      ds.y.push_back(piece.y[static_cast<size_t>(i)]);
      if (!piece.X64.empty()) {
        ds.X64.insert(ds.X64.end(), piece.X64.begin() + i * d, piece.X64.begin() + (i + 1) * d);
        ds.y64.push_back(piece.y64[static_cast<size_t>(i)]);
      }
    });
    ds.n = count;
  }

  // The float32 values of training rows [t0, t0 + count) straight into X and y (for RowChunks).
  void read_floats(int64_t t0, int64_t count, float* X, float* y) const {
    if (t0 < 0 || count < 0 || t0 + count > rows_) throw std::logic_error("TrainingRows::read_floats: rows out of range");
    if (held_.empty()) {
      file_.read_floats(begin_ + t0, count, X, y);
      return;
    }
    const int64_t d = file_.features();
    each_training_row(t0, count, true, [&](const HostDataset& piece, int64_t i, int64_t k) {
      std::copy_n(piece.X.data() + i * d, d, X + k * d);
      y[k] = piece.y[static_cast<size_t>(i)];
    });
  }

  // The held-out rows, all of them, in file order: each read in a piece that starts at it and
  // takes the held-out rows that follow within the piece.
  HostDataset validation() const {
    HostDataset val;
    val.d = file_.features();
    std::vector<int64_t> keep;
    for (size_t k = 0; k < held_.size();) {
      const int64_t r0 = held_[k], m = std::min<int64_t>(kPiece, end_ - begin_ - r0);
      keep.clear();
      for (; k < held_.size() && held_[k] < r0 + m; ++k) keep.push_back(held_[k] - r0);
      file_.read(begin_ + r0, m, piece_);
      const HostDataset part = data::take_rows(piece_, keep);
      val.n += part.n;
      val.X.insert(val.X.end(), part.X.begin(), part.X.end());
      val.y.insert(val.y.end(), part.y.begin(), part.y.end());
      val.X64.insert(val.X64.end(), part.X64.begin(), part.X64.end());
      val.y64.insert(val.y64.end(), part.y64.begin(), part.y64.end());
    }
    return val;
  }

 private:
  static constexpr int64_t kPiece = 8192;
  // Calls take(piece, i, k) for training rows [t0, t0 + count) in order, the k-th being row i of
  // `piece` (the file's rows read a piece at a time, the held-out ones skipped).
  template <typename Take>
  void each_training_row(int64_t t0, int64_t count, bool floats_only, const Take& take) const {
    if (count == 0) return;
    int64_t f = file_row(t0), k = 0;
    auto next = std::lower_bound(held_.begin(), held_.end(), f);  // the next held-out row to skip
    while (k < count) {
      const int64_t m = std::min<int64_t>(kPiece, end_ - begin_ - f);
      file_.read(begin_ + f, m, piece_, floats_only);
      for (int64_t i = 0; i < m && k < count; ++i) {
        if (next != held_.end() && *next == f + i) {
          ++next;
          continue;
        }
        take(piece_, i, k++);
      }
      f += m;
    }
  }
  // The row (from begin) of training row t: t plus the held-out rows before it. held_[k] − k (the
  // training rows before held-out row k) never decreases, so those rows are the k with
  // held_[k] − k ≤ t, found by bisection.
  int64_t file_row(int64_t t) const {
    size_t lo = 0, hi = held_.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (held_[mid] - static_cast<int64_t>(mid) <= t) lo = mid + 1;
      else hi = mid;
    }
    return t + static_cast<int64_t>(lo);
  }

  const data::NpyRows& file_;
  int64_t begin_, end_;
  std::vector<int64_t> held_;
  int64_t rows_;
  mutable HostDataset piece_;    // one reader at a time (the streamer's reading thread, or a pass)
};

// Rows [begin, end) of `rows` (an NpyRows or TrainingRows) in parts, for least_squares and the
// statistics' passes.
template <class Rows>
LeastSquaresParts parts_of_rows(const Rows& rows, int64_t begin, int64_t end, int64_t part) {
  LeastSquaresParts parts;
  parts.rows = end - begin;
  parts.features = rows.features();
  parts.wide = rows.wide();
  for (int64_t j = 0; j < parts.features; ++j) parts.names.push_back("x" + std::to_string(j));
  parts.each = [&rows, begin, end, part](const std::function<void(const HostDataset&, int64_t)>& f) {
    HostDataset ds;
    for (int64_t r0 = begin; r0 < end; r0 += part) {
      rows.read(r0, std::min(part, end - r0), ds);
      f(ds, r0 - begin);
    }
  };
  parts.head = [&rows, begin, end](int64_t m) {
    HostDataset ds;
    rows.read(begin, std::min(m, end - begin), ds);
    return ds;
  };
  return parts;
}

template <class Rows>
data::RowParts row_parts_of(const Rows& rows, int64_t begin, int64_t end, int64_t part) {
  return [&rows, begin, end, part](const std::function<void(const HostDataset&)>& f) {
    HostDataset ds;
    for (int64_t r0 = begin; r0 < end; r0 += part) {
      rows.read(r0, std::min(part, end - r0), ds);
      f(ds);
    }
  };
}

// The rows SGD trains on, from the file: float32, standardised when the run standardises (from
// the values as read, as the in-memory route scales them). Unscaled rows are decoded straight
// into the caller's buffer; scaled ones pass through a dataset of the values as read.
template <class Rows>
class NpyChunks final : public RowChunks {
 public:
  NpyChunks(const Rows& file, const data::Scaling* scaling) : file_(file), scaling_(scaling) {}
  int64_t rows() const override { return file_.rows(); }
  int64_t features() const override { return file_.features(); }
  void read(int64_t r0, int64_t count, float* X, float* y) const override {
    if (!scaling_) {
      file_.read_floats(r0, count, X, y);
      return;
    }
    file_.read(r0, count, scaled_);
    data::apply_scaling(scaled_, *scaling_);
    std::copy_n(scaled_.X.data(), count * file_.features(), X);
    std::copy_n(scaled_.y.data(), count, y);
  }

 private:
  const Rows& file_;
  const data::Scaling* scaling_;
  mutable HostDataset scaled_;  // one reader at a time (the streamer's reading thread)
};

}  // namespace

data::RowParts npy_row_parts(const data::NpyRows& file, int64_t begin, int64_t end, int64_t part) {
  return row_parts_of(file, begin, end, part);
}

LeastSquaresParts npy_parts(const data::NpyRows& file, int64_t begin, int64_t end, int64_t part) {
  return parts_of_rows(file, begin, end, part);
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

int64_t stream_chunk_rows(uint64_t limit, int64_t features, int ranks) {
  // A chunk row, twice (the chunk training and the one being read): its (features + 1) float32
  // values and the uint32 entries in the job chunk's order (one per rank: every rank's chunk
  // of rows is in it).
  const uint64_t row = static_cast<uint64_t>(features + 1) * sizeof(float);
  const uint64_t rows = limit / (2 * (row + sizeof(uint32_t) * static_cast<uint64_t>(std::max(ranks, 1))));
  if (rows < 1)
    throw SettingError("memory_limit", std::to_string(limit) + " bytes is too small: streaming holds two chunks of "
                                           "rows, and two rows of " + std::to_string(features + 1) +
                                           " float32 values take " + std::to_string(2 * row) + " bytes");
  // A job chunk's order holds every rank's rows of it as uint32.
  return static_cast<int64_t>(std::min<uint64_t>({rows, uint64_t{1} << 31, 0xffffffffull / std::max(ranks, 1)}));
}

int64_t cpu_chunk_rows(uint64_t limit, int64_t features, int ranks) {
  const uint64_t row = static_cast<uint64_t>(features + 1) * sizeof(float);
  return std::min(stream_chunk_rows(limit, features, ranks),
                  static_cast<int64_t>(std::max<uint64_t>(1, kCpuChunkBytes / row)));
}

namespace {

// work() on every rank at once with its errors agreed (communicator.hpp: together); one process:
// work() itself.
void agreed(const Communicator* comm, const std::function<void()>& work) {
  if (comm) together(*comm, work);
  else work();
}

// The rows this process streams: rank `rank` of `ranks` holds shard_of's rows of the file.
Shard my_shard(const TrainPlan& plan, int64_t rows) {
  const Communicator* comm = plan.cluster;
  return comm ? shard_of(rows, comm->rank(), comm->size()) : Shard{0, rows};
}

}  // namespace

bool streams(const TrainPlan& plan, std::string* why) {
  if (!plan.npy_input) return false;
  const Communicator* comm = plan.cluster && plan.cluster->size() > 1 ? plan.cluster : nullptr;
  // In a job every rank decides as rank 0 does, on its shard (the largest) and its free memory.
  char decision = 0;
  std::string reason;
  agreed(comm, [&] {
    const data::NpyRows file(plan.csv_path, plan.npy);
    const int64_t rows = comm ? shard_of(file.rows(), 0, comm->size()).rows() : file.rows();
    const uint64_t need = npy_training_bytes(rows, file.features(), file.wide());
    const std::string whose = comm ? "each rank's rows take up to " : "the rows take ";
    if (plan.memory_limit > 0) {
      if (need <= plan.memory_limit) return;
      decision = 1;
      reason = whose + gib(static_cast<double>(need)) + ", over --memory-limit: streaming them from the file";
      return;
    }
    const uint64_t free = host_memory_available();
    if (free == 0 || need <= free / 10 * 9) return;
    decision = 1;
    reason = whose + gib(static_cast<double>(need)) + " and this machine has " + gib(static_cast<double>(free)) +
             " free: streaming them from the file";
  });
  if (comm) comm->broadcast(&decision, 1, 0);
  if (decision && why) *why = reason;
  return decision != 0;
}

namespace {

// The streamed fit on `rows` (the file's, or its training rows under a validation split, with
// `val` the validation rows in memory); out has the data's description already. `limit`: the
// bytes the rows may take (val's already taken off). job: this rank's place in a data-parallel
// job (null: one process): rows and val are then this rank's shares.
template <class Rows>
void fit_streamed(const TrainPlan& plan, const Rows& rows, const HostDataset* val, uint64_t limit,
                  const ShardPlacement* job, const StartCallback& on_start, const EpochCallback& on_epoch,
                  TrainOutcome& out) {
  const Communicator* comm = job ? job->comm : nullptr;
  const int ranks = comm ? comm->size() : 1;
  const int64_t n = rows.rows(), d = rows.features(), total = job ? job->total_rows : n;
  const std::string job_name = comm ? ", " + std::to_string(ranks) + " ranks (" + comm->transport() + ")" : "";
  const auto metrics_of_val = [&](const std::vector<double>& w, double b) {
    return comm ? data::compute_metrics(*val, w, b, *comm) : data::compute_metrics(*val, w, b);
  };
  if (plan.method == Method::Normal) {
    const int64_t part = exact_part_rows(limit, d, rows.wide());
    const LeastSquaresParts parts = parts_of_rows(rows, 0, n, part);
    LeastSquaresOptions o;
    o.method = plan.exact.method;
    o.intercept = plan.exact.intercept;
    o.ridge = plan.exact.ridge;
    o.comm = comm;
    o.first_row = job ? job->first_row : 0;
    // The pass that costs n·c² (the Gram matrix or R of each part) on the GPU where it is placed
    // (auto: for a large pass only, as in memory; in a job, by each rank's share, each reducing
    // its own parts where it is); the rest of the solve on the host.
    Placement where;
    agreed(comm, [&] { where = place(exact_device(plan.device, n, d, plan.exact.intercept)); });
    if (!where.note.empty()) out.note += "; " + where.note;
    o.gpu = where.gpu;
    out.device = (where.gpu ? where.gpu_name : std::string("cpu")) + job_name;
    out.backend = where.gpu ? "cuda" : "cpu";
    if (on_start) on_start(out);
    out.fit = exact_fit_result(std::make_shared<LeastSquaresFit>(least_squares(parts, o)), where.gpu != nullptr,
                               "; streamed in parts of " + std::to_string(part) + " rows");
    out.inference = infer(*out.fit.exact, out.feature_names, plan.exact.intercept, plan.exact.ridge);
    out.train_metrics = data::compute_metrics(row_parts_of(rows, 0, n, part), out.fit.w, out.fit.b, comm);
    if (val) out.validation_metrics = metrics_of_val(out.fit.w, out.fit.b);
    out.has_metrics = true;
    return;
  }
  validate_train(plan.sgd, total);
  // Standardising a float64 file reads each chunk with its float64 values too (the scaling is
  // applied to the values as read, as in memory): 8 more bytes a value while one chunk is read,
  // so the two float32 chunks get half the limit.
  const bool wide_reads = plan.standardize && rows.wide();
  const int64_t chunk = cpu_chunk_rows(wide_reads ? limit / 2 : limit, d, ranks);
  // The statistics' passes read the values as read (float64 beside float32 for a float64 file,
  // three times the bytes): chunks of a third of the rows keep them within the limit too.
  const data::RowParts parts = row_parts_of(rows, 0, n, std::max<int64_t>(1, chunk / 3));
  if (plan.standardize) out.scaling = data::fit_scaling(parts, d, plan.sgd.intercept, comm);
  const NpyChunks<Rows> chunks(rows, out.scaling.empty() ? nullptr : &out.scaling);
  // The validation rows as SGD sees them (float32, standardised when the run standardises).
  HostDataset val_fit;
  if (val) {
    val_fit = *val;
    val_fit.X64 = {};
    val_fit.y64 = {};
    if (!out.scaling.empty()) data::apply_scaling(val_fit, out.scaling);
  }
  // SGD streams to the GPU where one is placed: the host holds four chunks then (two pinned
  // buffers, and the two the reader fills), so each chunk gets a quarter of the limit; the
  // validation rows go to the device whole. In a job the ranks agree: every rank on its GPU
  // (NCCL sums each minibatch), or every rank on the CPU.
  const Placement where = comm ? place_sgd_ranks(*comm, plan.device, false) : place(plan.device);
  if (!where.note.empty()) out.note += "; " + where.note;
  out.device = (where.gpu ? where.gpu_name : std::string("cpu")) + job_name;
  out.backend = where.gpu ? "cuda" : "cpu";
  const int64_t rows_per_chunk = where.gpu ? stream_chunk_rows(wide_reads ? limit / 4 : limit / 2, d, ranks) : chunk;
  if (on_start) on_start(out);
  const HostDataset* fit_val = val ? &val_fit : nullptr;
  const TrainResult r = where.gpu ? where.gpu->train_streamed(chunks, plan.sgd, rows_per_chunk, on_epoch, fit_val, job)
                                  : train_streamed(chunks, plan.sgd, chunk, on_epoch, fit_val, job);
  val_fit = HostDataset{};
  FitResult& f = out.fit;
  f.w.assign(r.w.begin(), r.w.end());
  f.b = static_cast<double>(r.b);
  f.float32 = true;
  f.epoch_losses = r.epoch_losses;
  f.epoch_val_losses = r.epoch_val_losses;
  f.epochs_run = r.epochs_run;
  f.best_epoch = r.best_epoch;
  f.stop_reason = r.stop_reason;
  f.diverged = r.diverged;
  f.train_seconds = r.train_seconds;
  f.eval_seconds = r.eval_seconds;
  f.method = r.strategy + " in chunks of " + std::to_string(std::min(rows_per_chunk, std::max<int64_t>(n, 1))) +
             (comm ? " rows a rank" : " rows");
  if (f.diverged) return;
  to_original_units(out.scaling, f);
  out.train_metrics = data::compute_metrics(parts, f.w, f.b, comm);
  if (val) out.validation_metrics = metrics_of_val(f.w, f.b);
  out.has_metrics = true;
}

}  // namespace

TrainOutcome run_training_streamed(const TrainPlan& plan, const StartCallback& on_data, const StartCallback& on_start,
                                   const EpochCallback& on_epoch) {
  const Communicator* comm = plan.cluster && plan.cluster->size() > 1 ? plan.cluster : nullptr;
  TrainOutcome out;
  out.synthetic = false;
  out.streamed = true;
  streams(plan, &out.note);
  std::unique_ptr<data::NpyRows> file;
  agreed(comm, [&] { file = std::make_unique<data::NpyRows>(plan.csv_path, plan.npy); });
  const int64_t d = file->features(), all = file->rows();
  if (comm && all < comm->size())
    throw InputError("the data has " + std::to_string(all) + (all == 1 ? " row" : " rows") + " for " +
                     std::to_string(comm->size()) + " ranks: start at most " + std::to_string(all) +
                     " (each rank trains on a shard of the rows)");
  const Shard s = my_shard(plan, all);
  out.train_rows = all;
  out.features = d;
  for (int64_t j = 0; j < d; ++j) out.feature_names.push_back("x" + std::to_string(j));
  out.target_name = "y";
  struct stat st {};
  if (::stat(plan.csv_path.c_str(), &st) == 0) out.read_bytes = static_cast<double>(st.st_size);
  // The memory for the rows (of each rank: rank 0's, so that every rank's chunks are alike).
  uint64_t limit = plan.memory_limit > 0 ? plan.memory_limit : host_memory_available() / 2;
  if (comm) comm->broadcast(&limit, sizeof limit, 0);
  ShardPlacement job;
  job.comm = comm;
  job.first_row = s.begin;
  job.total_rows = all;
  if (plan.val_fraction <= 0) {
    const TrainingRows rows(*file, s.begin, s.end, {});
    if (on_data) on_data(out);
    fit_streamed(plan, rows, nullptr, limit, comm ? &job : nullptr, on_start, on_epoch, out);
    return out;
  }
  // The split of the in-memory route (the same rows held out, by the same seed; in a job drawn
  // over all rows on every rank, each keeping its shard's part); the validation rows are held
  // in memory, within half the limit (twice over when SGD standardises a copy). Drawing the split
  // takes a few words per held-out row (data::validation_rows): checked against the limit first.
  const int64_t n_val = data::validation_count(all, plan.val_fraction);
  const uint64_t draw_bytes = static_cast<uint64_t>(n_val) * kDrawBytesPerRow;
  if (draw_bytes > limit)
    throw SettingError("memory_limit", "drawing the " + std::to_string(n_val) + " validation rows takes about " +
                                           gib(static_cast<double>(draw_bytes)) +
                                           (comm ? " on every rank" : "") +
                                           ", over the memory for the rows: use a smaller --val-fraction");
  data::HeldOutPart mine = data::held_out_part(data::validation_rows(all, plan.val_fraction, plan.sgd.seed), s.begin, s.end);
  const int64_t before = mine.training_before;  // the training rows before the shard
  const TrainingRows rows(*file, s.begin, s.end, std::move(mine.rows));
  const int64_t my_val = s.rows() - rows.rows();
  job.first_row = before;
  job.total_rows = all - n_val;
  job.val_total = n_val;
  // Checked on rank 0's share (every rank alike): the largest shard's, near enough.
  int64_t val_rows = my_val;
  if (comm) comm->broadcast(&val_rows, sizeof val_rows, 0);
  const uint64_t val_bytes = npy_training_bytes(val_rows, d, file->wide()) * (plan.method == Method::Sgd ? 2 : 1);
  if (val_bytes > limit / 2)
    throw SettingError("memory_limit", "the " + std::to_string(val_rows) + " validation rows" +
                                           (comm ? " of a rank" : "") + " take " + gib(static_cast<double>(val_bytes)) +
                                           ", over half the memory for the rows: use a smaller --val-fraction");
  limit -= val_bytes;
  out.train_rows = job.total_rows;
  out.validation_rows = n_val;
  if (on_data) on_data(out);
  HostDataset val;
  agreed(comm, [&] { val = rows.validation(); });
  fit_streamed(plan, rows, &val, limit, comm ? &job : nullptr, on_start, on_epoch, out);
  return out;
}

}  // namespace linreg
