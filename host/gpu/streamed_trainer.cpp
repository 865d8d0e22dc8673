// train_streamed_gpu: three stages in flight per chunk (see streamed_trainer.hpp).
//
//   host thread   read chunk i+1 into pinned buffer (i+1) % 2      (once its last copy is done)
//   copy stream   pinned buffer i % 2 → device chunk buffer i % 2  (once chunk i−2's rows moved on)
//   compute       shuffle chunk i, gather its rows in that order, run the complete minibatches
//
// Events order the stages; the host waits only for a pinned buffer to be free before reading
// into it, and once per epoch for the loss of the epoch before. Rows held in host memory skip the first stage.
#include "host/gpu/streamed_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <future>
#include <numeric>
#include <string>
#include <vector>

#include "host/cluster/communicator.hpp"
#include "host/core/dataset.hpp"
#include "host/core/error.hpp"
#include "host/core/formulas.hpp"
#include "host/gpu/nccl_collective.hpp"
#include "host/gpu/rule_run.hpp"
#include "host/train/job_batches.hpp"
#include "host/train/permutation.hpp"
#include "host/train/step_pool.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/launch_limits.hpp"
#include "kernels/sgd_kernels.hpp"
#include "kernels/sgd_rules.hpp"
#include "kernels/shuffle.hpp"
#include "kernels/stream_kernels.hpp"

namespace linreg {
namespace {

using Clock = std::chrono::steady_clock;

// Host memory pinned in place for the life of the object (cudaHostRegister), so the copy engine
// reads it directly; when the driver refuses (a limit on locked memory), ok() is false and the
// rows go through the pinned staging buffers instead.
class PinnedInPlace {
 public:
  PinnedInPlace(const void* p, size_t bytes) {
    if (!p || bytes == 0) return;
    // Read-only where the device supports it (the rows are const), else the default mapping.
    void* q = const_cast<void*>(p);
    if (cudaHostRegister(q, bytes, cudaHostRegisterReadOnly) == cudaSuccess ||
        (cudaGetLastError(), cudaHostRegister(q, bytes, cudaHostRegisterDefault) == cudaSuccess)) {
      p_ = p;
    } else {
      cudaGetLastError();  // a refusal is not an error: clear it
    }
  }
  ~PinnedInPlace() {
    if (p_) cudaHostUnregister(const_cast<void*>(p_));
  }
  PinnedInPlace(const PinnedInPlace&) = delete;
  PinnedInPlace& operator=(const PinnedInPlace&) = delete;
  bool ok() const { return p_ != nullptr; }

 private:
  const void* p_ = nullptr;
};

// Called on the reading thread once chunk c is read into slot k (0 or 1): host work that belongs
// with the read (a job's chunk order).
using AfterRead = std::function<void(int64_t c, int k)>;
// Called as chunk c's m rows of slot k are copied to the device, on the copy stream: more of the
// chunk's host data to copy with them (guarded by the same events as the rows: the source may be
// rewritten once the copy is done, the destination once the compute stream has used it).
using OnCopy = std::function<void(int64_t c, int k, int64_t m, cudaStream_t copy)>;

class Streamer {
 public:
  // comm: a rank of a data-parallel job (null: one process). Its reads are agreed (every rank
  // learns of one rank's failure together), its rows always go through the pinned buffers, and
  // `chunks` (the job's count, which the rank's largest shard sets) may exceed its own: a chunk
  // past its rows has none.
  Streamer(const RowChunks& src, int64_t chunk_rows, int64_t batch, const Communicator* comm = nullptr,
           int64_t chunks = -1, AfterRead after_read = {}, OnCopy on_copy = {})
      : src_(src), n_(src.rows()), d_(src.features()), chunk_rows_(chunk_rows),
        chunks_(chunks >= 0 ? chunks : (n_ + chunk_rows - 1) / chunk_rows), comm_(comm),
        after_read_(std::move(after_read)), on_copy_(std::move(on_copy)),
        direct_X_(comm ? nullptr : src.resident_X(), static_cast<size_t>(n_ * d_) * sizeof(float)),
        direct_y_(comm ? nullptr : src.resident_y(), static_cast<size_t>(n_) * sizeof(float)) {
    // y may share a page with X (two small allocations side by side), which CUDA will not
    // register twice: then y, 1/(d + 1) of the rows' bytes, is copied into pinned memory once.
    if (direct_X_.ok() && !direct_y_.ok() && !comm && src.resident_y()) {
      pinned_y_ = std::make_unique<PinnedBuffer<float>>(static_cast<size_t>(n_));
      std::copy_n(src.resident_y(), n_, pinned_y_->data());
    }
    direct_ = direct_X_.ok() && (direct_y_.ok() || pinned_y_);
    const size_t cx = static_cast<size_t>(chunk_rows * d_), cy = static_cast<size_t>(chunk_rows);
    for (int k = 0; k < 2; ++k) {
      if (!direct_) {
        host_X_[k] = std::make_unique<PinnedBuffer<float>>(cx);
        host_y_[k] = std::make_unique<PinnedBuffer<float>>(cy);
      }
      dev_X_[k].resize(cx);
      dev_y_[k].resize(cy);
    }
    // The ordered rows: a chunk behind at most batch − 1 rows left from the chunk before.
    ord_X_.resize(static_cast<size_t>((chunk_rows + batch) * d_));
    ord_y_.resize(static_cast<size_t>(chunk_rows + batch));
    if (!comm) rows_.resize(static_cast<size_t>(chunk_rows));  // order_rows' (a job orders chunks on the host)
  }

  int64_t chunks() const { return chunks_; }
  int64_t chunk_rows() const { return chunk_rows_; }
  bool direct() const { return direct_; }
  cudaStream_t compute() const { return compute_.get(); }

  // For chunks order[0..) in turn: brings chunk order[i] to the device and calls
  // f(X, y, m, chunk, slot) on the compute stream's side, with X, y the chunk's m rows on the
  // device (m may be 0 in a job), valid for the work f enqueues on the compute stream before it
  // returns (after which the buffer is refilled); slot is the one after_read filled.
  template <typename F>
  void each(const std::vector<uint32_t>& order, const F& f) {
    std::future<void> next;
    if (!direct_) next = read(order[0], 0);
    for (size_t i = 0; i < order.size(); ++i) {
      const int k = static_cast<int>(i & 1);
      const int64_t c = order[i], first = c * chunk_rows_, m = std::clamp<int64_t>(n_ - first, 0, chunk_rows_);
      const float* hx = nullptr;
      const float* hy = nullptr;
      if (direct_) {
        hx = src_.resident_X() + first * d_;
        hy = (pinned_y_ ? pinned_y_->data() : src_.resident_y()) + first;
      } else {
        // Chunk i is in pinned buffer k (in a job, once every rank's read of it succeeded).
        if (comm_) together(*comm_, [&] { next.get(); });
        else next.get();
        hx = host_X_[k]->data();
        hy = host_y_[k]->data();
      }
      // The device buffer is free once the compute stream has used chunk i − 2's rows.
      LINREG_CHECK(cudaStreamWaitEvent(copy_.get(), consumed_[k].get(), 0));
      if (m > 0) {
        LINREG_CHECK(cudaMemcpyAsync(dev_X_[k].data(), hx, static_cast<size_t>(m * d_) * sizeof(float),
                                     cudaMemcpyHostToDevice, copy_.get()));
        LINREG_CHECK(cudaMemcpyAsync(dev_y_[k].data(), hy, static_cast<size_t>(m) * sizeof(float),
                                     cudaMemcpyHostToDevice, copy_.get()));
      }
      if (on_copy_) on_copy_(c, k, m, copy_.get());
      copied_[k].record(copy_.get());
      if (!direct_ && i + 1 < order.size()) {
        // Pinned buffer 1 − k was last read by chunk i − 1's copy: wait for it, then refill it.
        LINREG_CHECK(cudaEventSynchronize(copied_[1 - k].get()));
        next = read(order[i + 1], 1 - k);
      }
      LINREG_CHECK(cudaStreamWaitEvent(compute_.get(), copied_[k].get(), 0));
      f(dev_X_[k].data(), dev_y_[k].data(), m, c, k);
      consumed_[k].record(compute_.get());
    }
  }

  // The chunk's rows in order rows (on the device) behind `held` rows already in ord_X_.
  void order_rows(const float* X, const float* y, int64_t m, uint32_t engine_seed, int64_t held) {
    cudaStream_t s = compute();
    kern::device_permutation_seeded(m, engine_seed, rows_.data(), s);
    kern::gather_rows(X, y, rows_.data(), m, d_, ord_X_.data() + held * d_, ord_y_.data() + held, s);
  }
  float* ordered_X() { return ord_X_.data(); }
  float* ordered_y() { return ord_y_.data(); }

 private:
  // Reads chunk c into pinned buffer k on a second thread.
  std::future<void> read(int64_t c, int k) {
    return std::async(std::launch::async, [this, c, k] {
      const int64_t first = c * chunk_rows_, m = std::clamp<int64_t>(n_ - first, 0, chunk_rows_);
      if (m > 0) src_.read(first, m, host_X_[k]->data(), host_y_[k]->data());  // straight into pinned memory
      if (after_read_) after_read_(c, k);
    });
  }

  const RowChunks& src_;
  int64_t n_, d_, chunk_rows_, chunks_;
  const Communicator* comm_;
  AfterRead after_read_;
  OnCopy on_copy_;
  PinnedInPlace direct_X_, direct_y_;
  std::unique_ptr<PinnedBuffer<float>> pinned_y_;  // y's copy when y could not be registered
  bool direct_ = false;
  CudaStream compute_, copy_;
  CudaEvent copied_[2], consumed_[2];
  std::unique_ptr<PinnedBuffer<float>> host_X_[2], host_y_[2];
  DeviceBuffer<float> dev_X_[2], dev_y_[2], ord_X_, ord_y_;
  DeviceBuffer<uint32_t> rows_;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A validation set for rows of d features (streamed rows carry no weights, nor may it).
void check_validation(const HostDataset& v, int64_t d) {
  if (v.n <= 0) throw InputError("validation dataset is empty");
  if (v.d != d) throw InputError("validation dataset has a different number of features");
  if (v.X.size() != static_cast<size_t>(v.n * d) || v.y.size() != static_cast<size_t>(v.n))
    throw InputError("validation dataset has inconsistent sizes");
  if (!v.weights.empty()) throw InputError("streamed rows have no weights: nor may the validation rows");
}

// The rows of a chunk the device can hold beside `reserved` bytes: three chunks of rows (two in
// flight, one shuffled) and index_words uint32 a row (one process, 2: the chunk's order and the
// identity; a job's rank, 3: the identity, and its rows in the chunk's order for each of the two
// chunks in flight), with a fifth of the free memory and 256 MiB left for the rest (cuBLAS,
// Thrust's scratch, the sums).
int64_t device_chunk_rows(size_t free_b, int64_t d, int64_t batch, int64_t reserved, int64_t index_words) {
  const int64_t row_bytes = 3 * (d + 1) * static_cast<int64_t>(sizeof(float)) + index_words * static_cast<int64_t>(sizeof(uint32_t));
  const int64_t usable = static_cast<int64_t>(free_b) / 5 * 4 - (int64_t{256} << 20) - reserved;
  return std::min<int64_t>(usable / row_bytes - batch, (int64_t{1} << 31) - batch);
}

// The losses of streamed SGD and what is decided on them, for both streamers. Epoch e's loss (of
// its model, over every row) is taken during epoch e + 1's pass, on each chunk as it arrives and
// before it trains, so an epoch moves the rows across once: end_pass() opens the epoch just
// trained (keeps its model aside, takes the validation loss, the rows held on the device, by the
// in-memory trainer's evaluation: the same kernel on the same rows), add_chunk() sums each chunk
// under it during the next pass, and the next end_pass() (or, after the last epoch, close() at
// the end of a pass of its own) reports it and decides (divergence, early stopping; a stop then
// rewinds the iterate to epoch e's). As on the CPU. comm: a rank of a job (the sums are of this
// rank's rows, added across ranks in rank order, so every rank decides alike); null: one process.
class EpochLosses {
 public:
  EpochLosses(const TrainOptions& opt, int64_t d, int64_t chunks, int64_t rows, const HostDataset* validation,
              int64_t val_rows, const Communicator* comm, cudaStream_t s)
      : opt_(opt), d_(d), rows_(rows), val_rows_(val_rows), nv_(validation ? validation->n : 0), comm_(comm), s_(s),
        stopping_(opt, val_rows > 0), model_(static_cast<size_t>(d + 1)), chunk_loss_(static_cast<size_t>(chunks)),
        host_loss_(static_cast<size_t>(chunks)), val_sum_(1), val_host_(1) {
    if (nv_ > 0) {
      Xv_.resize(validation->X.size());
      yv_.resize(validation->y.size());
      Xv_.upload(validation->X.data(), validation->X.size(), s);
      yv_.upload(validation->y.data(), validation->y.size(), s);
    }
  }

  bool pending() const { return pending_; }

  // Zeroes the chunks' sums before a pass that may leave some unwritten (a job's rank holds no
  // rows of some chunks).
  void clear() { LINREG_CHECK(cudaMemsetAsync(chunk_loss_.data(), 0, chunk_loss_.bytes(), s_)); }

  // Chunk c's m rows on the device: their loss under the pending epoch's model.
  void add_chunk(const float* X, const float* y, int64_t m, int64_t c, double* partials) {
    if (pending_ && m > 0)
      kern::loss_sum(X, y, m, d_, model_.data(), opt_.loss, partials, chunk_loss_.data() + c, s_);
  }

  // Epoch rep.epoch has ended with `model` (what the run reports after it): kept aside for its
  // loss during the next pass; its validation loss now.
  void open(EpochReport rep, const float* model, double* partials, TrainResult& res) {
    LINREG_CHECK(cudaMemcpyAsync(model_.data(), model, model_.bytes(), cudaMemcpyDeviceToDevice, s_));
    if (val_rows_ > 0) {
      const auto t1 = Clock::now();
      if (nv_ > 0) kern::loss_sum(Xv_.data(), yv_.data(), nv_, d_, model_.data(), opt_.loss, partials, val_sum_.data(), s_);
      else LINREG_CHECK(cudaMemsetAsync(val_sum_.data(), 0, sizeof(double), s_));
      LINREG_CHECK(cudaMemcpyAsync(val_host_.data(), val_sum_.data(), sizeof(double), cudaMemcpyDeviceToHost, s_));
      LINREG_CHECK(cudaStreamSynchronize(s_));
      const double sum = comm_ ? sum_in_rank_order(*comm_, val_host_.data()[0]) : val_host_.data()[0];
      rep.val_loss = sum / static_cast<double>(val_rows_);
      res.eval_seconds += seconds_since(t1);
    }
    rep_ = rep;
    pending_ = true;
  }

  // Epoch e's pass has been enqueued (it began at t0): waits for it, closes the epoch before (a
  // stop there drops this pass's steps: false) and opens epoch e (the iterate kept aside too,
  // for such a rewind). The pass's time is the steps and the loss of the epoch before.
  bool end_pass(int64_t e, Clock::time_point t0, RuleRun& run, double* partials, const EpochCallback& cb,
                TrainResult& res) {
    LINREG_CHECK(cudaStreamSynchronize(s_));
    const double pass = seconds_since(t0);
    if (pending_ && !close(res, run, cb)) {
      run.rewind(s_);
      return false;
    }
    EpochReport rep;
    rep.epoch = e + 1;
    rep.epoch_seconds = pass;
    res.train_seconds += pass;
    run.snapshot(s_);
    open(rep, run.model(s_), partials, res);
    return true;
  }

  // The pass after the pending epoch has ended: records it from its chunks' sums, added in file
  // order (then across ranks). False: stop there.
  bool close(TrainResult& res, RuleRun& run, const EpochCallback& cb) {
    chunk_loss_.download(host_loss_.data(), host_loss_.size(), s_);
    LINREG_CHECK(cudaStreamSynchronize(s_));
    pending_ = false;
    double sum = 0;
    for (const double v : host_loss_) sum += v;
    if (comm_) sum = sum_in_rank_order(*comm_, sum);
    rep_.train_loss = sum / static_cast<double>(rows_);
    res.epoch_losses.push_back(rep_.train_loss);
    if (val_rows_ > 0) res.epoch_val_losses.push_back(rep_.val_loss);
    res.epochs_run = rep_.epoch;
    if (cb) cb(rep_);
    if (!std::isfinite(rep_.train_loss)) {
      res.diverged = true;
      return false;
    }
    if (!opt_.early_stopping) return true;
    const EarlyStopping::Verdict v = stopping_.observe(val_rows_ > 0 ? rep_.val_loss : rep_.train_loss, rep_.epoch - 1);
    if (v.new_best) {
      run.keep_best(model_.data(), s_);
      res.best_epoch = stopping_.best_epoch();
    }
    if (v.stop) res.stop_reason = stopping_.reason();
    return !v.stop;
  }

 private:
  const TrainOptions& opt_;
  int64_t d_, rows_, val_rows_, nv_;  // rows, val_rows: the job's (one process: all); nv: held here
  const Communicator* comm_;
  cudaStream_t s_;
  EarlyStopping stopping_;
  DeviceBuffer<float> model_, Xv_, yv_;
  DeviceBuffer<double> chunk_loss_;
  std::vector<double> host_loss_;
  DeviceBuffer<double> val_sum_;
  PinnedBuffer<double> val_host_;
  bool pending_ = false;
  EpochReport rep_;
};

// The last epoch's loss: one pass of its own over the chunks, in file order.
void last_loss_pass(Streamer& st, const std::vector<uint32_t>& in_file, EpochLosses& losses, double* partials,
                    RuleRun& run, const EpochCallback& cb, TrainResult& res) {
  const auto t1 = Clock::now();
  losses.clear();
  st.each(in_file, [&](const float* X, const float* y, int64_t m, int64_t c, int) { losses.add_chunk(X, y, m, c, partials); });
  losses.close(res, run, cb);
  res.eval_seconds += seconds_since(t1);
}

}  // namespace

TrainResult train_streamed_gpu(int device, const RowChunks& src, const TrainOptions& opt, int64_t chunk_rows,
                               const EpochCallback& cb, const HostDataset* validation) {
  const int64_t n = src.rows(), d = src.features();
  if (n <= 0 || d <= 0) throw InputError("no training data");
  if (chunk_rows <= 0) throw std::logic_error("train_streamed_gpu: chunk_rows must be positive");
  validate_train(opt, n);
  const bool has_val = validation != nullptr;
  if (has_val) check_validation(*validation, d);
  if (!opt.initial_w.empty() && static_cast<int64_t>(opt.initial_w.size()) != d)
    throw SettingError("initial_w", "the initial weights must have one value per feature (" + std::to_string(d) +
                                        "), got " + std::to_string(opt.initial_w.size()));
  LINREG_CHECK(cudaSetDevice(device));
  const int64_t B = opt.batch_size;
  // The device holds the validation rows (resident: evaluated each epoch) and the chunks: a
  // chunk sized by the host's memory may not fit.
  size_t free_b = 0, total_b = 0;
  LINREG_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const int64_t val_bytes = has_val ? validation->n * (d + 1) * static_cast<int64_t>(sizeof(float)) : 0;
  const int64_t fits = device_chunk_rows(free_b, d, B, val_bytes, 2);
  if (fits < B)
    throw DeviceUnavailable("the GPU has " + std::to_string(free_b >> 20) + " MiB free: too little to stream chunks of " +
                            std::to_string(B) + " rows of " + std::to_string(d) + " features" +
                            (has_val ? " beside the " + std::to_string(validation->n) + " validation rows (" +
                                           std::to_string(val_bytes >> 20) + " MiB)"
                                     : std::string()));
  const bool clamped = chunk_rows > fits && n > fits;
  chunk_rows = std::min({chunk_rows, n, fits});
  Streamer st(src, chunk_rows, B);
  cudaStream_t s = st.compute();
  const bool cublas = d > kern::kMaxFusedFeatures;
  CublasHandle handle;
  LINREG_CHECK(cublasSetStream(handle.get(), s));
  LINREG_CHECK(cublasSetPointerMode(handle.get(), CUBLAS_POINTER_MODE_DEVICE));
  const float consts_host[2] = {1.0f, 0.0f};
  DeviceBuffer<float> consts(2);
  consts.upload(consts_host, 2, s);

  TrainResult res;
  res.strategy = std::string(cublas ? "cublas" : "batch sums") + ", streamed" +
                 (st.direct() ? " from pinned host memory" : " through pinned buffers") +
                 (clamped ? " (device chunks of " + std::to_string(chunk_rows) + " rows: what its free memory holds)" : "");
  RuleRun run(opt, opt.initial_w.empty() ? initial_weights(d, opt.seed) : opt.initial_w, s);
  // Minibatches read the ordered rows in place: the identity as their permutation.
  std::vector<uint32_t> iota(static_cast<size_t>(chunk_rows + B));
  std::iota(iota.begin(), iota.end(), 0u);
  DeviceBuffer<uint32_t> identity(iota.size());
  identity.upload(iota.data(), iota.size(), s);
  DeviceBuffer<double> partials(std::max(kern::partials_capacity(std::min<int64_t>(d, kern::kMaxFusedFeatures)),
                                         kern::loss_partials_capacity()));
  DeviceBuffer<double> sums(static_cast<size_t>(d + 2));
  DeviceBuffer<float> Xb, r, g;
  if (cublas) {
    Xb.resize(static_cast<size_t>(B * d));
    r.resize(static_cast<size_t>(B));
    g.resize(static_cast<size_t>(d));
  }
  std::vector<uint32_t> order(static_cast<size_t>(st.chunks())), in_file(order.size());
  std::iota(in_file.begin(), in_file.end(), 0u);
  EpochLosses losses(opt, d, st.chunks(), n, validation, has_val ? validation->n : 0, nullptr, s);
  LINREG_CHECK(cudaStreamSynchronize(s));

  for (int64_t e = 0; e < opt.epochs; ++e) {
    const auto t0 = Clock::now();
    if (st.chunks() == 1) order[0] = 0;
    else thrust_compatible_permutation(st.chunks(), chunk_order_seed(opt.seed, e), order.data());
    int64_t held = 0;  // ordered rows not yet in a step (fewer than a minibatch)
    // Steps over ordered rows [0, count): the complete minibatches, or with `last` every row.
    const auto steps = [&](int64_t count, bool last) {
      int64_t start = 0;
      for (; start + B <= count || (last && start < count); start += B) {
        const int64_t bt = std::min(B, count - start);
        const kern::RuleStep& step = run.next_step(e, bt);
        if (cublas) {
          kern::gather_residual(st.ordered_X(), st.ordered_y(), identity.data(), start, bt, d, run.params(), Xb.data(),
                                r.data(), s);
          kern::cublas_xt_r(handle.get(), Xb.data(), r.data(), bt, d, consts.data(), consts.data() + 1, g.data());
          kern::rule_update_residuals(g.data(), r.data(), bt, d, step, run.params(), run.state(), s);
        } else {
          kern::batch_sums(st.ordered_X(), st.ordered_y(), identity.data(), start, bt, d, run.params(), opt.loss,
                           partials.data(), sums.data(), s);
          kern::rule_update_sums(sums.data(), d, step, run.params(), run.state(), s);
        }
      }
      // The rows left over move to the front for the next chunk (start ≥ B > their count, so
      // the two ranges never overlap).
      const int64_t left = std::max<int64_t>(0, count - start);
      if (left > 0 && start > 0) {
        LINREG_CHECK(cudaMemcpyAsync(st.ordered_X(), st.ordered_X() + start * d, static_cast<size_t>(left * d) * sizeof(float),
                                     cudaMemcpyDeviceToDevice, s));
        LINREG_CHECK(cudaMemcpyAsync(st.ordered_y(), st.ordered_y() + start, static_cast<size_t>(left) * sizeof(float),
                                     cudaMemcpyDeviceToDevice, s));
      }
      return left;
    };
    st.each(order, [&](const float* X, const float* y, int64_t m, int64_t c, int) {
      losses.add_chunk(X, y, m, c, partials.data());
      st.order_rows(X, y, m, chunk_rows_seed(opt.seed, e, c), held);
      held = steps(held + m, false);
    });
    if (held > 0) steps(held, true);  // the epoch's last, short batch
    if (!losses.end_pass(e, t0, run, partials.data(), cb, res)) break;
  }
  if (losses.pending()) last_loss_pass(st, in_file, losses, partials.data(), run, cb, res);
  run.result(res.diverged, s, res.w, res.b);
  return res;
}

TrainResult train_streamed_gpu_job(int device, const RowChunks& src, const TrainOptions& opt, int64_t chunk_rows,
                                   const ShardPlacement& shard, const EpochCallback& cb, const HostDataset* validation) {
  const Communicator& comm = *shard.comm;
  const int ranks = comm.size(), rank = comm.rank();
  // n: this rank's rows; N: the job's. Every rank's count (a collective) sets the job's chunks.
  const int64_t n = src.rows(), d = src.features(), N = shard.total_rows, B = opt.batch_size;
  const std::vector<int64_t> ranks_rows = gather_counts(comm, n);
  if (std::accumulate(ranks_rows.begin(), ranks_rows.end(), int64_t{0}) != N)
    throw std::logic_error("train_streamed_gpu_job: the ranks' rows do not add up to the job's");
  const int64_t nv = validation ? validation->n : 0;  // this rank's share of the validation rows
  // The settings and this rank's device, checked on every rank together: one rank's error is
  // every rank's, before any of them waits on another in NCCL.
  int64_t fits = 0;
  size_t free_b = 0;
  together(comm, [&] {
    if (N <= 0 || d <= 0) throw InputError("no training data");
    if (chunk_rows <= 0) throw std::logic_error("train_streamed_gpu_job: chunk_rows must be positive");
    validate_train(opt, N);
    if (!opt.initial_w.empty() && static_cast<int64_t>(opt.initial_w.size()) != d)
      throw SettingError("initial_w", "the initial weights must have one value per feature (" + std::to_string(d) +
                                          "), got " + std::to_string(opt.initial_w.size()));
    if (nv > 0) check_validation(*validation, d);
    LINREG_CHECK(cudaSetDevice(device));
    size_t total_b = 0;
    LINREG_CHECK(cudaMemGetInfo(&free_b, &total_b));
    fits = device_chunk_rows(free_b, d, B, nv * (d + 1) * static_cast<int64_t>(sizeof(float)), 3);
  });
  // Every rank's chunks are alike: the job's chunk is the smallest asked for (every rank asks
  // for the same: taking the smallest makes sure) and what the fullest device holds, and no
  // larger than the largest shard.
  const std::vector<int64_t> ranks_fit = gather_counts(comm, fits), ranks_asked = gather_counts(comm, chunk_rows);
  chunk_rows = *std::min_element(ranks_asked.begin(), ranks_asked.end());
  const int64_t most = *std::max_element(ranks_rows.begin(), ranks_rows.end());
  const int64_t fit_all = *std::min_element(ranks_fit.begin(), ranks_fit.end());
  together(comm, [&] {
    if (fits < B)
      throw DeviceUnavailable("the GPU of rank " + std::to_string(rank) + " has " + std::to_string(free_b >> 20) +
                              " MiB free: too little to stream chunks of " + std::to_string(B) + " rows of " +
                              std::to_string(d) + " features");
  });
  const bool clamped = chunk_rows > fit_all && most > fit_all;
  // A job chunk's order holds every rank's rows of it as uint32.
  chunk_rows = std::min({chunk_rows, std::max<int64_t>(most, 1), fit_all, int64_t{0xffffffff} / ranks});
  const int64_t chunks = (most + chunk_rows - 1) / chunk_rows;
  // Chunk k of the job: every rank's chunk k of its own rows, in rank order. Its rows, and where
  // this rank's start among them.
  const auto piece = [&](int r, int64_t k) { return std::clamp<int64_t>(ranks_rows[r] - k * chunk_rows, 0, chunk_rows); };
  const auto job_rows = [&](int64_t k) {
    int64_t rows = 0;
    for (int r = 0; r < ranks; ++r) rows += piece(r, k);
    return rows;
  };
  const auto before_me = [&](int64_t k) {
    int64_t rows = 0;
    for (int r = 0; r < rank; ++r) rows += piece(r, k);
    return rows;
  };

  // Per buffer slot, made on the reading thread beside the read: the job chunk's order (the
  // two-level shuffle's, of every rank's rows of it), this rank's rows in that order (indices
  // into its part of the chunk: pinned, copied to the device with the rows) and their places in
  // it (read on the host by JobBatches).
  struct Slot {
    std::vector<uint32_t> order, at;
    std::unique_ptr<PinnedBuffer<uint32_t>> mine;
    DeviceBuffer<uint32_t> mine_dev;
  };
  Slot slots[2];
  int64_t pass_epoch = -1;  // the epoch whose order the reader makes; −1: a loss pass, no order
  const int order_threads = StepPool::default_threads();
  const AfterRead make_order = [&](int64_t c, int k) {
    if (pass_epoch < 0) return;
    Slot& sl = slots[k];
    const int64_t R = job_rows(c), first = before_me(c), m = piece(rank, c);
    sl.order.resize(static_cast<size_t>(R));
    thrust_compatible_permutation(R, chunk_rows_seed(opt.seed, pass_epoch, c), sl.order.data(), order_threads);
    sl.at.clear();
    sl.at.reserve(static_cast<size_t>(m));
    uint32_t* mine = sl.mine->data();
    for (int64_t p = 0; p < R; ++p) {
      const int64_t r = static_cast<int64_t>(sl.order[static_cast<size_t>(p)]) - first;
      if (r >= 0 && r < m) {
        mine[sl.at.size()] = static_cast<uint32_t>(r);
        sl.at.push_back(static_cast<uint32_t>(p));
      }
    }
  };
  const OnCopy copy_order = [&](int64_t, int k, int64_t m, cudaStream_t copy) {
    if (pass_epoch < 0 || m == 0) return;
    LINREG_CHECK(cudaMemcpyAsync(slots[k].mine_dev.data(), slots[k].mine->data(), static_cast<size_t>(m) * sizeof(uint32_t),
                                 cudaMemcpyHostToDevice, copy));
  };

  // Everything this rank allocates, before NCCL starts (allocation failures agreed).
  const bool cublas = d > kern::kMaxFusedFeatures;
  std::unique_ptr<Streamer> streamer;
  std::unique_ptr<CublasHandle> handle;
  std::unique_ptr<RuleRun> run_owner;
  std::unique_ptr<EpochLosses> losses_owner;
  DeviceBuffer<float> consts, Xb, r, g, tmp_X, tmp_y;
  DeviceBuffer<uint32_t> identity;
  DeviceBuffer<double> partials, sums, gathered;
  cudaStream_t s = nullptr;
  together(comm, [&] {
    for (Slot& sl : slots) {
      sl.mine = std::make_unique<PinnedBuffer<uint32_t>>(static_cast<size_t>(chunk_rows));
      sl.mine_dev.resize(static_cast<size_t>(chunk_rows));
    }
    streamer = std::make_unique<Streamer>(src, chunk_rows, B, &comm, chunks, make_order, copy_order);
    s = streamer->compute();
    handle = std::make_unique<CublasHandle>();
    LINREG_CHECK(cublasSetStream(handle->get(), s));
    LINREG_CHECK(cublasSetPointerMode(handle->get(), CUBLAS_POINTER_MODE_DEVICE));
    const float consts_host[2] = {1.0f, 0.0f};
    consts.resize(2);
    consts.upload(consts_host, 2, s);
    run_owner = std::make_unique<RuleRun>(opt, opt.initial_w.empty() ? initial_weights(d, opt.seed) : opt.initial_w, s);
    std::vector<uint32_t> iota(static_cast<size_t>(chunk_rows + B));
    std::iota(iota.begin(), iota.end(), 0u);
    identity.resize(iota.size());
    identity.upload(iota.data(), iota.size(), s);
    partials.resize(std::max(kern::partials_capacity(std::min<int64_t>(d, kern::kMaxFusedFeatures)),
                             kern::loss_partials_capacity()));
    sums.resize(static_cast<size_t>(d + 2));
    gathered.resize(static_cast<size_t>(ranks) * static_cast<size_t>(d + 1));
    losses_owner = std::make_unique<EpochLosses>(opt, d, chunks, N, validation, shard.val_total, &comm, s);
    tmp_X.resize(static_cast<size_t>(B * d));
    tmp_y.resize(static_cast<size_t>(B));
    if (cublas) {
      Xb.resize(static_cast<size_t>(B * d));
      r.resize(static_cast<size_t>(B));
      g.resize(static_cast<size_t>(d));
    }
    LINREG_CHECK(cudaStreamSynchronize(s));
  });
  const NcclCollective nccl(comm);
  Streamer& st = *streamer;
  RuleRun& run = *run_owner;
  EpochLosses& losses = *losses_owner;

  TrainResult res;
  res.strategy = std::string(cublas ? "cublas" : "batch sums") + ", streamed through pinned buffers, NCCL across " +
                 std::to_string(ranks) + (ranks == 1 ? " rank" : " ranks") +
                 (clamped ? " (device chunks of " + std::to_string(chunk_rows) + " rows: what every GPU holds)" : "");

  // One step of the job: this rank's `count` rows of the minibatch (ordered rows [start, start +
  // count)), the ranks' sums added in rank order, the rules' update with the whole batch's size.
  const auto step = [&](int64_t e, int64_t start, int64_t count, int64_t bt) {
    if (count == 0) {
      LINREG_CHECK(cudaMemsetAsync(sums.data(), 0, sums.bytes(), s));
    } else if (cublas) {
      kern::gather_residual(st.ordered_X(), st.ordered_y(), identity.data(), start, count, d, run.params(), Xb.data(),
                            r.data(), s);
      kern::cublas_xt_r(handle->get(), Xb.data(), r.data(), count, d, consts.data(), consts.data() + 1, g.data());
      kern::residual_sums(g.data(), r.data(), count, d, sums.data(), s);
    } else {
      kern::batch_sums(st.ordered_X(), st.ordered_y(), identity.data(), start, count, d, run.params(), opt.loss,
                       partials.data(), sums.data(), s);
    }
    nccl.allgather(sums.data(), d + 1, gathered.data(), s);
    kern::rank_order_sum(gathered.data(), ranks, d + 1, sums.data(), s);
    kern::rule_update_sums(sums.data(), d, run.next_step(e, bt), run.params(), run.state(), s);
  };

  std::vector<uint32_t> order(static_cast<size_t>(chunks)), in_file(order.size());
  std::iota(in_file.begin(), in_file.end(), 0u);
  for (int64_t e = 0; e < opt.epochs; ++e) {
    const auto t0 = Clock::now();
    if (chunks == 1) order[0] = 0;
    else thrust_compatible_permutation(chunks, chunk_order_seed(opt.seed, e), order.data());
    pass_epoch = e;
    if (losses.pending()) losses.clear();
    JobBatches batches(B);  // which of this rank's ordered rows each minibatch takes
    const auto step_of_epoch = [&](int64_t start, int64_t count, int64_t bt) { step(e, start, count, bt); };
    st.each(order, [&](const float* X, const float* y, int64_t m, int64_t c, int k) {
      losses.add_chunk(X, y, m, c, partials.data());
      Slot& sl = slots[k];
      if (m > 0) {  // this rank's rows of the chunk, in the chunk's order, behind those left over
        const int64_t left = batches.left();
        kern::gather_rows(X, y, sl.mine_dev.data(), m, d, st.ordered_X() + left * d, st.ordered_y() + left, s);
      }
      const int64_t start = batches.chunk(sl.at.data(), m, job_rows(c), step_of_epoch);
      // This rank's rows of the unfinished minibatch move to the front (through a scratch
      // buffer: they are fewer than a minibatch, but may overlap where they go).
      const int64_t rest = batches.left();
      if (rest > 0 && start > 0) {
        const size_t xb = static_cast<size_t>(rest * d) * sizeof(float), yb = static_cast<size_t>(rest) * sizeof(float);
        LINREG_CHECK(cudaMemcpyAsync(tmp_X.data(), st.ordered_X() + start * d, xb, cudaMemcpyDeviceToDevice, s));
        LINREG_CHECK(cudaMemcpyAsync(tmp_y.data(), st.ordered_y() + start, yb, cudaMemcpyDeviceToDevice, s));
        LINREG_CHECK(cudaMemcpyAsync(st.ordered_X(), tmp_X.data(), xb, cudaMemcpyDeviceToDevice, s));
        LINREG_CHECK(cudaMemcpyAsync(st.ordered_y(), tmp_y.data(), yb, cudaMemcpyDeviceToDevice, s));
      }
    });
    batches.finish(step_of_epoch);  // the epoch's last, short batch
    if (!losses.end_pass(e, t0, run, partials.data(), cb, res)) break;
  }
  if (losses.pending()) {
    pass_epoch = -1;  // no order to make
    last_loss_pass(st, in_file, losses, partials.data(), run, cb, res);
  }
  run.result(res.diverged, s, res.w, res.b);
  return res;
}

}  // namespace linreg
