// GpuTrainer: minibatch SGD with every array resident on one GPU.
//
// Per epoch: a Thrust permutation on the device (or the caller's, uploaded), the SGD pass of the
// chosen strategy, then the full-dataset loss (two-pass, double, deterministic) and one 16-byte
// copy to pinned host memory — the only host synchronisation of the epoch. CUDA events time the
// SGD pass (shuffle included) and the evaluation apart.
//   cublas      per step: gather_residual → cublasSgemv (Xᵀr, device pointer mode) → sgd_update
//   fused       per step: fused_step (1–2 kernels); the epoch's steps captured once per fit as
//               at most two CUDA graphs of bounded size (host/gpu/graph_chunks.hpp) and replayed
//               each epoch (the permutation buffer is the same memory)
//   persistent  per epoch: one single-block kernel running every step with w, b in registers
// SGD's rules (optimizers, penalties, schedules, averaging, early stopping, no intercept, given
// initial weights) run on every strategy: see run_general.
// Before the timed epochs every kernel the run will launch is launched once on scratch
// parameters (see warm_up), so the first epoch's time holds no lazy module loading and no
// memory-pool growth.
#include "host/gpu/gpu_trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "host/core/error.hpp"
#include "host/core/formulas.hpp"
#include "host/core/optim.hpp"
#include "host/cluster/communicator.hpp"
#include "host/gpu/graph_chunks.hpp"
#include "host/gpu/nccl_collective.hpp"
#include "host/gpu/rule_run.hpp"
#include "host/gpu/strategy_rule.hpp"
#include "host/train/permutation.hpp"
#include "host/train/step_pool.hpp"
#include "host/train/trainer.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/device_limits.hpp"
#include "kernels/device_resources.hpp"
#include "kernels/generate.hpp"
#include "kernels/sgd_kernels.hpp"
#include "kernels/sgd_rules.hpp"
#include "kernels/shuffle.hpp"
#include "kernels/stream_kernels.hpp"

namespace linreg {

namespace {

const char* strategy_label(Strategy s) {
  switch (s) {
    case Strategy::Cublas: return "cublas";
    case Strategy::Fused: return "fused";
    case Strategy::Persistent: return "persistent";
    case Strategy::Auto: break;
  }
  return "auto";
}

class GpuTrainer final : public Trainer {
 public:
  GpuTrainer(int device, const GpuTuning& tuning, const ShardPlacement* shard) : device_(device), tuning_(tuning) {
    if (shard) {
      if (!shard->comm) throw InputError("a data-parallel GPU trainer needs the job's communicator");
      shard_ = *shard;
      sharded_ = true;
    }
    LINREG_CHECK(cudaSetDevice(device_));
    cudaDeviceProp prop{};
    LINREG_CHECK(cudaGetDeviceProperties(&prop, device_));
    name_ = prop.name;
    smem_ = kern::device_smem_limits(device_);
    stream_ = std::make_unique<CudaStream>();
    cublas_ = std::make_unique<CublasHandle>();
    LINREG_CHECK(cublasSetStream(cublas_->get(), stream_->get()));
    LINREG_CHECK(cublasSetPointerMode(cublas_->get(), CUBLAS_POINTER_MODE_DEVICE));
    const float consts[2] = {1.0f, 0.0f};
    consts_.resize(2);
    consts_.upload(consts, 2, stream_->get());
    ticket_.resize(1);
    LINREG_CHECK(cudaMemsetAsync(ticket_.data(), 0, sizeof(unsigned), stream_->get()));
    host_loss_ = std::make_unique<PinnedBuffer<double>>(2);
    sync();
  }

  ~GpuTrainer() override {
    // Let queued work finish before the buffers it uses are freed (destructors never throw).
    if (stream_) cudaStreamSynchronize(stream_->get());
  }

  std::string device_name() const override { return name_; }
  std::string backend() const override { return "cuda"; }

  void generate(const SyntheticSpec& spec_in) override {
    SyntheticSpec spec = spec_in;
    validate_synthetic(spec);  // fills an empty true_w
    set_device();
    const int64_t n = spec.examples, d = spec.features;
    if (n <= 0 || d <= 0) throw InputError("the numbers of examples and features must be positive");
    DeviceBuffer<float> true_w(static_cast<size_t>(d));
    true_w.upload(spec.true_w.data(), static_cast<size_t>(d), stream());
    // X's buffer first receives all synthetic_uniform_count(n, d) draws (X then the noise), as
    // on the host; the noise tail stays unused after the labels are made.
    {
      // Fail with the sizes named rather than with cudaMalloc's bare "out of memory".
      size_t free_b = 0, total_b = 0;
      LINREG_CHECK(cudaMemGetInfo(&free_b, &total_b));
      const uint64_t need = (static_cast<uint64_t>(synthetic_uniform_count(n, d)) + static_cast<uint64_t>(n)) * sizeof(float);
      check_memory_fits("GPU", need, static_cast<uint64_t>(free_b) + X_.bytes() + y_.bytes(), n, d);
    }
    X_.resize(static_cast<size_t>(synthetic_uniform_count(n, d)));
    y_.resize(static_cast<size_t>(n));
    kern::generate_synthetic(spec.seed, n, d, true_w.data(), static_cast<double>(spec.true_b),
                             static_cast<double>(spec.noise), X_.data(), y_.data(), stream());
    n_ = n;
    d_ = d;
    drop_validation();
    sync();  // true_w's buffer is freed on return
  }

  void load(const HostDataset& train, const HostDataset* validation) override {
    // A rank of a data-parallel job may hold no rows (the job has them).
    if (!sharded_ || train.n > 0) check_dataset(train, "training");
    // make_fitter keeps weighted data on the CPU; a direct caller gets an error, not a silently
    // unweighted fit.
    if (!train.weights.empty() || (validation && !validation->weights.empty()))
      throw DeviceUnavailable("weighted SGD runs on the CPU only");
    if (validation) {
      if (!sharded_ || validation->n > 0) check_dataset(*validation, "validation");
      if (validation->d != train.d) throw InputError("validation dataset has a different number of features");
    }
    set_device();
    X_.resize(train.X.size());
    y_.resize(train.y.size());
    X_.upload(train.X.data(), train.X.size(), stream());
    y_.upload(train.y.data(), train.y.size(), stream());
    n_ = train.n;
    d_ = train.d;
    drop_validation();
    if (validation) {
      Xv_.resize(validation->X.size());
      yv_.resize(validation->y.size());
      Xv_.upload(validation->X.data(), validation->X.size(), stream());
      yv_.upload(validation->y.data(), validation->y.size(), stream());
      nv_ = validation->n;
    }
    sync();
  }

  int64_t examples() const override { return sharded_ ? shard_.total_rows : n_; }
  int64_t features() const override { return d_; }

  HostDataset download() const override {
    HostDataset ds;
    ds.n = n_;
    ds.d = d_;
    ds.X.resize(static_cast<size_t>(n_ * d_));
    ds.y.resize(static_cast<size_t>(n_));
    set_device();
    X_.download(ds.X.data(), ds.X.size(), stream());
    y_.download(ds.y.data(), ds.y.size(), stream());
    sync();
    return ds;
  }

  double loss(const std::vector<float>& w, float b, LossKind kind) const override {
    if (static_cast<int64_t>(w.size()) != d_) throw InputError("loss: w has the wrong length");
    if (n_ <= 0) throw InputError("no training data loaded");
    set_device();
    std::vector<float> params(w);
    params.push_back(b);
    DeviceBuffer<float> d_params(params.size());
    DeviceBuffer<double> partials(kern::loss_partials_capacity());
    DeviceBuffer<double> out(1);
    d_params.upload(params.data(), params.size(), stream());
    kern::loss_sum(X_.data(), y_.data(), n_, d_, d_params.data(), kind, partials.data(), out.data(), stream());
    double sum = 0;
    out.download(&sum, 1, stream());
    sync();
    return sum / static_cast<double>(n_);
  }

 private:
  cudaStream_t stream() const { return stream_->get(); }
  void sync() const { LINREG_CHECK(cudaStreamSynchronize(stream())); }
  void set_device() const { LINREG_CHECK(cudaSetDevice(device_)); }

  static void check_dataset(const HostDataset& ds, const char* what) {
    if (ds.n <= 0 || ds.d <= 0) throw InputError(std::string(what) + " dataset is empty");
    if (ds.X.size() != static_cast<size_t>(ds.n * ds.d) || ds.y.size() != static_cast<size_t>(ds.n))
      throw InputError(std::string(what) + " dataset has inconsistent sizes");
  }

  void drop_validation() {
    Xv_.resize(0);
    yv_.resize(0);
    nv_ = 0;
  }

  TrainResult run(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>* perms,
                  const EpochCallback& cb) override {
    if (examples() <= 0) throw InputError("no training data loaded");
    validate_train(opt, examples());
    set_device();
    const int64_t n = n_, d = d_, B = opt.batch_size;
    if (!opt.initial_w.empty() && static_cast<int64_t>(opt.initial_w.size()) != d)
      throw SettingError("initial_w", "the initial weights must have one value per feature (" + std::to_string(d) +
                                          "), got " + std::to_string(opt.initial_w.size()));
    if (sharded_) return run_sharded(opt, perms, cb);
    // SGD's rules (docs/SGD.md) take run_general, on every strategy.
    const bool general = !opt.plain_sgd();
    Strategy strategy = opt.strategy == Strategy::Auto ? gpu_rule::choose_strategy(n, d, B, smem_) : opt.strategy;
    const char* why = nullptr;
    if (!gpu_rule::strategy_supported(strategy, d, B, smem_, &why))
      throw SettingError("strategy", std::string("the ") + strategy_label(strategy) + " strategy " + why);
    if (general) return run_general(opt, strategy, perms, cb);
    const double scale = grad_scale(opt.loss);
    const int64_t steps = kern::ceil_div(n, B);
    const int64_t last_bt = n - (steps - 1) * B;  // the epoch's last step: its true size
    const kern::FusedKernel fk = tuning_.fused_kernel;
    cudaStream_t s = stream();

    TrainResult res;
    res.strategy = strategy_label(strategy);

    // Every buffer of the run, allocated once, outside the step loop.
    std::vector<float> params = initial_weights(d, opt.seed);
    params.push_back(0.0f);  // b
    DeviceBuffer<float> d_params(params.size());
    d_params.upload(params.data(), params.size(), s);
    DeviceBuffer<uint32_t> perm(static_cast<size_t>(n));
    // Block partials: the fused step's (d + 2 per block) or only the evaluation's (2 per block).
    DeviceBuffer<double> partials(strategy == Strategy::Fused ? kern::partials_capacity(d)
                                                              : kern::loss_partials_capacity());
    DeviceBuffer<double> loss_out(2);  // [train loss sum, validation loss sum]
    DeviceBuffer<double> step_loss(1);
    DeviceBuffer<float> Xb, r, g;
    if (strategy == Strategy::Cublas) {
      Xb.resize(static_cast<size_t>(B * d));
      r.resize(static_cast<size_t>(B));
      g.resize(static_cast<size_t>(d));
    }
    CudaEvent ev_start, ev_sgd, ev_eval;

    // Untimed: every kernel of the run once, on scratch parameters (before capture, so that any
    // shared-memory opt-in happens outside it too).
    {
      DeviceBuffer<float> scratch(params.size());
      LINREG_CHECK(cudaMemcpyAsync(scratch.data(), d_params.data(), params.size() * sizeof(float),
                                   cudaMemcpyDeviceToDevice, s));
      kern::device_permutation(n, opt.seed, 0, perm.data(), s);  // Thrust's kernels; the pool grows
      for (const int64_t bt : {std::min(B, n), last_bt}) {
        switch (strategy) {
          case Strategy::Cublas:
            kern::gather_residual(X_.data(), y_.data(), perm.data(), 0, bt, d, scratch.data(), Xb.data(), r.data(), s);
            kern::cublas_xt_r(cublas_->get(), Xb.data(), r.data(), bt, d, consts_.data(), consts_.data() + 1,
                              g.data());
            kern::sgd_update(g.data(), r.data(), bt, d, opt.lr, scale, scratch.data(), s);
            break;
          case Strategy::Fused:
            kern::fused_step(X_.data(), y_.data(), perm.data(), 0, bt, d, opt.lr, scale, opt.loss, scratch.data(),
                             partials.data(), ticket_.data(), step_loss.data(), s, fk);
            break;
          case Strategy::Persistent:
            kern::persistent_epoch(X_.data(), y_.data(), perm.data(), bt, d, B, opt.lr, scale, scratch.data(), s);
            break;
          case Strategy::Auto: break;
        }
      }
      kern::loss_sum(X_.data(), y_.data(), n, d, scratch.data(), opt.loss, partials.data(), loss_out.data(), s);
      sync();
    }

    // The fused strategy's epoch as CUDA graphs of at most tuning_.graph_max_nodes kernel nodes:
    // a chunk graph of K full steps reading a staging copy of the permutation (replayed
    // full_chunks times per epoch, each after a copy of its K·B entries) and a tail graph of the
    // remaining steps reading the permutation itself. Each step's kernels read the same rows as
    // one graph of every step would and update d_params in place. Built once per fit, untimed.
    gpu_rule::GraphChunks chunks;
    DeviceBuffer<uint32_t> stage;
    Graph chunk_graph, tail_graph;
    if (strategy == Strategy::Fused) {
      const int nodes = std::max(kern::fused_step_kernels(B, d, fk), kern::fused_step_kernels(last_bt, d, fk));
      chunks = gpu_rule::graph_chunks(steps, B, nodes, tuning_.graph_max_nodes);
      // Steps first_step .. first_step + count, their rows at rows[t·B − first_row ...).
      auto capture = [&](Graph& graph, const uint32_t* rows, int64_t first_row, int64_t first_step, int64_t count) {
        graph.capture(s, [&] {
          for (int64_t t = first_step; t < first_step + count; ++t) {
            const int64_t start = t * B, bt = std::min(B, n - start);
            kern::fused_step(X_.data(), y_.data(), rows, start - first_row, bt, d, opt.lr, scale, opt.loss,
                             d_params.data(), partials.data(), ticket_.data(), step_loss.data(), s, fk);
          }
        });
        graph.upload(s);
      };
      if (chunks.full_chunks > 0) {
        stage.resize(static_cast<size_t>(chunks.stage_entries));
        // Steps 0 .. K − 1 (all full) against the staging buffer; each replay stands for chunk c.
        capture(chunk_graph, stage.data(), 0, 0, chunks.steps_per_chunk);
      }
      capture(tail_graph, perm.data(), 0, chunks.tail_first_step, chunks.tail_steps);
      sync();
    }

    for (int64_t e = 0; e < opt.epochs; ++e) {
      ev_start.record(s);
      if (perms != nullptr) {
        perm.upload((*perms)[static_cast<size_t>(e)].data(), static_cast<size_t>(n), s);
      } else {
        kern::device_permutation(n, opt.seed, e, perm.data(), s);
      }
      switch (strategy) {
        case Strategy::Cublas:
          for (int64_t t = 0; t < steps; ++t) {
            const int64_t start = t * B, bt = std::min(B, n - start);  // last step: its true size
            kern::gather_residual(X_.data(), y_.data(), perm.data(), start, bt, d, d_params.data(), Xb.data(),
                                  r.data(), s);
            kern::cublas_xt_r(cublas_->get(), Xb.data(), r.data(), bt, d, consts_.data(), consts_.data() + 1,
                              g.data());
            kern::sgd_update(g.data(), r.data(), bt, d, opt.lr, scale, d_params.data(), s);
          }
          break;
        case Strategy::Fused:
          for (int64_t c = 0; c < chunks.full_chunks; ++c) {
            LINREG_CHECK(cudaMemcpyAsync(stage.data(), perm.data() + c * chunks.stage_entries,
                                         static_cast<size_t>(chunks.stage_entries) * sizeof(uint32_t),
                                         cudaMemcpyDeviceToDevice, s));
            chunk_graph.launch(s);
          }
          tail_graph.launch(s);
          break;
        case Strategy::Persistent:
          kern::persistent_epoch(X_.data(), y_.data(), perm.data(), n, d, B, opt.lr, scale, d_params.data(), s);
          break;
        case Strategy::Auto:
          break;  // resolved above
      }
      ev_sgd.record(s);
      const EpochReport rep = finish_epoch(e, d_params.data(), opt.loss, partials.data(), loss_out.data(), ev_start,
                                           ev_sgd, ev_eval, res, cb);
      if (!std::isfinite(rep.train_loss)) {
        res.diverged = true;
        break;
      }
    }

    d_params.download(params.data(), params.size(), s);
    sync();
    res.b = params.back();
    params.pop_back();
    res.w = std::move(params);
    return res;
  }

  // The end of an epoch on either path, after its SGD pass (ev_sgd recorded): the full-dataset
  // loss of `model` (and the validation set's), the epoch's one copy back (16 bytes) and its one
  // synchronisation, the report, the result's lists, the callback.
  EpochReport finish_epoch(int64_t e, const float* model, LossKind loss, double* partials, double* loss_out,
                           CudaEvent& ev_start, CudaEvent& ev_sgd, CudaEvent& ev_eval, TrainResult& res,
                           const EpochCallback& cb) {
    cudaStream_t s = stream();
    // A rank of a data-parallel job may hold no training or no validation rows: its sums are 0.
    if (sharded_) LINREG_CHECK(cudaMemsetAsync(loss_out, 0, 2 * sizeof(double), s));
    if (n_ > 0) kern::loss_sum(X_.data(), y_.data(), n_, d_, model, loss, partials, loss_out, s);
    if (nv_ > 0) kern::loss_sum(Xv_.data(), yv_.data(), nv_, d_, model, loss, partials, loss_out + 1, s);
    ev_eval.record(s);
    LINREG_CHECK(cudaMemcpyAsync(host_loss_->data(), loss_out, 2 * sizeof(double), cudaMemcpyDeviceToHost, s));
    sync();
    double sums[2] = {host_loss_->data()[0], host_loss_->data()[1]};
    int64_t rows = n_, val_rows = nv_;
    if (sharded_) {  // the job's losses: every rank's sums, added in rank order (the same on every rank)
      sum_in_rank_order(*shard_.comm, sums, 2);
      rows = shard_.total_rows;
      val_rows = shard_.val_total;
    }
    EpochReport rep;
    rep.epoch = e + 1;
    rep.epoch_seconds = ev_sgd.since(ev_start) / 1e3;
    rep.train_loss = sums[0] / static_cast<double>(rows);
    if (val_rows > 0) rep.val_loss = sums[1] / static_cast<double>(val_rows);
    res.train_seconds += rep.epoch_seconds;
    res.eval_seconds += ev_eval.since(ev_sgd) / 1e3;
    res.epoch_losses.push_back(rep.train_loss);
    if (val_rows > 0) res.epoch_val_losses.push_back(rep.val_loss);
    res.epochs_run = e + 1;
    if (cb) cb(rep);
    return rep;
  }

  // The rules of docs/SGD.md. cublas and fused: per step, the strategy's gradient sums, then one
  // rule kernel (sgd_rules.hpp) with the step's number, rate and bias corrections fixed here,
  // launched step by step (no graph: each step's constants differ from epoch to epoch).
  // persistent: one kernel per epoch that makes the same constants itself. Per epoch the
  // evaluation of the reported model (the iterate, or the average) and one synchronisation, where
  // early stopping decides; nothing waits inside an epoch.
  TrainResult run_general(const TrainOptions& opt, Strategy strategy, const std::vector<std::vector<uint32_t>>* perms,
                          const EpochCallback& cb) {
    const int64_t n = n_, d = d_, B = opt.batch_size;
    const int64_t steps = kern::ceil_div(n, B);
    cudaStream_t s = stream();
    TrainResult res;
    res.strategy = strategy_label(strategy);

    RuleRun run(opt, opt.initial_w.empty() ? initial_weights(d, opt.seed) : opt.initial_w, s);
    DeviceBuffer<uint32_t> perm(static_cast<size_t>(n));
    DeviceBuffer<double> partials(strategy == Strategy::Fused ? kern::partials_capacity(d) : kern::loss_partials_capacity());
    DeviceBuffer<double> sums(strategy == Strategy::Fused ? static_cast<size_t>(d + 2) : 0);
    DeviceBuffer<double> loss_out(2);
    DeviceBuffer<float> Xb, r, g;
    if (strategy == Strategy::Cublas) {
      Xb.resize(static_cast<size_t>(B * d));
      r.resize(static_cast<size_t>(B));
      g.resize(static_cast<size_t>(d));
    }
    CudaEvent ev_start, ev_sgd, ev_eval;
    const double scale = grad_scale(opt.loss);

    EarlyStopping stopping(opt, nv_ > 0);
    for (int64_t e = 0; e < opt.epochs; ++e) {
      ev_start.record(s);
      if (perms != nullptr) perm.upload((*perms)[static_cast<size_t>(e)].data(), static_cast<size_t>(n), s);
      else kern::device_permutation(n, opt.seed, e, perm.data(), s);
      if (strategy == Strategy::Persistent) {
        kern::RuleStep& step = run.step();
        const kern::RuleState state = run.state();
        kern::PersistentRules pr;
        pr.rule = step.rule;
        pr.schedule = static_cast<int>(opt.schedule);
        pr.lr = static_cast<double>(opt.lr);
        pr.gamma = opt.lr_gamma;
        pr.power_t = opt.power_t;
        pr.epoch = e;
        pr.epochs = opt.epochs;
        pr.step_epochs = opt.lr_step_epochs;
        pr.warmup = opt.warmup_epochs;
        pr.steps_before = step.c.t;
        pr.l2 = step.c.l2;
        pr.l1 = step.c.l1;
        pr.intercept = opt.intercept;
        pr.average = opt.average;
        pr.s1 = state.s1;
        pr.s2 = state.s2;
        pr.avg = state.avg;
        kern::persistent_epoch_rules(X_.data(), y_.data(), perm.data(), n, d, B, scale, run.params(), pr, s);
        step.c.t += steps;
      }
      for (int64_t t = 0; strategy != Strategy::Persistent && t < steps; ++t) {
        const int64_t start = t * B, bt = std::min(B, n - start);  // last step: its true size
        const kern::RuleStep& step = run.next_step(e, bt);
        if (strategy == Strategy::Cublas) {
          kern::gather_residual(X_.data(), y_.data(), perm.data(), start, bt, d, run.params(), Xb.data(), r.data(), s);
          kern::cublas_xt_r(cublas_->get(), Xb.data(), r.data(), bt, d, consts_.data(), consts_.data() + 1, g.data());
          kern::rule_update_residuals(g.data(), r.data(), bt, d, step, run.params(), run.state(), s);
        } else {
          kern::batch_sums(X_.data(), y_.data(), perm.data(), start, bt, d, run.params(), opt.loss, partials.data(),
                           sums.data(), s);
          kern::rule_update_sums(sums.data(), d, step, run.params(), run.state(), s);
        }
      }
      ev_sgd.record(s);
      const float* model = run.model(s);
      const EpochReport rep =
          finish_epoch(e, model, opt.loss, partials.data(), loss_out.data(), ev_start, ev_sgd, ev_eval, res, cb);
      if (!close_epoch(rep, e, model, opt, nv_ > 0, run, stopping, res)) break;
    }
    run.result(res.diverged, s, res.w, res.b);
    return res;
  }

  // A rank of a data-parallel job (ShardPlacement): every rank walks the same permutation of all
  // the job's rows, made on the host (host_permutation: the device's shuffle, bit for bit), and
  // keeps the entries of each minibatch that fall in its shard, as indices into its rows. Per
  // step the rank's sums of its rows of the batch (batch_sums, or for more features than the
  // fused kernels hold the cublas strategy's Xᵀr), one NCCL allgather of the d + 1 sums, their
  // sum in rank order on the device (the same bits on every rank), and the rules' update with the
  // whole batch's size: every rank takes the same step. Every rule of docs/SGD.md applies; the
  // epoch's losses are the ranks' sums added in rank order on the host.
  TrainResult run_sharded(const TrainOptions& opt, const std::vector<std::vector<uint32_t>>* perms,
                          const EpochCallback& cb) {
    const int64_t N = shard_.total_rows, d = d_, B = opt.batch_size, steps = kern::ceil_div(N, B);
    const bool cublas = d > kern::kMaxFusedFeatures;
    cudaStream_t s = stream();
    const int ranks = shard_.comm->size();
    TrainResult res;
    res.strategy = std::string(cublas ? "cublas" : "batch sums") + ", NCCL across " + std::to_string(ranks) +
                   (ranks == 1 ? " rank" : " ranks");

    // Everything a rank allocates (its share sized by its own rows) before any rank waits on
    // another in NCCL: one rank out of memory ends every rank with its reason, where after the
    // first allgather the others would wait for it for ever.
    std::unique_ptr<RuleRun> run_owner;
    std::vector<uint32_t> order, local;
    std::vector<int64_t> offsets;
    DeviceBuffer<uint32_t> d_local;
    DeviceBuffer<double> partials, sums, gathered, loss_out;
    DeviceBuffer<float> Xb, r, g;
    together(*shard_.comm, [&] {
      run_owner = std::make_unique<RuleRun>(opt, opt.initial_w.empty() ? initial_weights(d, opt.seed) : opt.initial_w, s);
      order.resize(static_cast<size_t>(N));
      offsets.resize(static_cast<size_t>(steps + 1));
      local.reserve(static_cast<size_t>(n_));
      d_local.resize(static_cast<size_t>(std::max<int64_t>(n_, 1)));
      partials.resize(cublas ? kern::loss_partials_capacity()
                             : std::max(kern::partials_capacity(d), kern::loss_partials_capacity()));
      sums.resize(static_cast<size_t>(d + 2));
      gathered.resize(static_cast<size_t>(ranks) * (d + 1));
      loss_out.resize(2);
      if (cublas) {
        Xb.resize(static_cast<size_t>(B * d));
        r.resize(static_cast<size_t>(B));
        g.resize(static_cast<size_t>(d));
      }
      sync();
    });
    if (!nccl_) nccl_ = std::make_unique<NcclCollective>(*shard_.comm);
    RuleRun& run = *run_owner;
    CudaEvent ev_start, ev_sgd, ev_eval;
    EarlyStopping stopping(opt, shard_.val_total > 0);
    const int64_t first = shard_.first_row;

    for (int64_t e = 0; e < opt.epochs; ++e) {
      ev_start.record(s);
      const uint32_t* perm = nullptr;
      if (perms) {
        perm = (*perms)[static_cast<size_t>(e)].data();
      } else {
        // host_permutation's order, on the host's cores (the same bits for any thread count).
        thrust_compatible_permutation(N, shuffle_seed(opt.seed, e), order.data(), StepPool::default_threads());
        perm = order.data();
      }
      // Each minibatch's rows this rank holds, in the batch's order: steps t's are
      // local[offsets[t] .. offsets[t + 1]).
      local.clear();
      for (int64_t t = 0; t < steps; ++t) {
        offsets[static_cast<size_t>(t)] = static_cast<int64_t>(local.size());
        const int64_t end = std::min(N, (t + 1) * B);
        for (int64_t k = t * B; k < end; ++k) {
          const int64_t row = static_cast<int64_t>(perm[k]) - first;
          if (row >= 0 && row < n_) local.push_back(static_cast<uint32_t>(row));
        }
      }
      offsets[static_cast<size_t>(steps)] = static_cast<int64_t>(local.size());
      if (!local.empty()) d_local.upload(local.data(), local.size(), s);
      for (int64_t t = 0; t < steps; ++t) {
        const int64_t bt = std::min(B, N - t * B);  // the whole batch's size, across ranks
        const int64_t off = offsets[static_cast<size_t>(t)], held = offsets[static_cast<size_t>(t + 1)] - off;
        if (held == 0) {
          LINREG_CHECK(cudaMemsetAsync(sums.data(), 0, sums.bytes(), s));
        } else if (cublas) {
          kern::gather_residual(X_.data(), y_.data(), d_local.data(), off, held, d, run.params(), Xb.data(), r.data(), s);
          kern::cublas_xt_r(cublas_->get(), Xb.data(), r.data(), held, d, consts_.data(), consts_.data() + 1, g.data());
          kern::residual_sums(g.data(), r.data(), held, d, sums.data(), s);
        } else {
          kern::batch_sums(X_.data(), y_.data(), d_local.data(), off, held, d, run.params(), opt.loss, partials.data(),
                           sums.data(), s);
        }
        nccl_->allgather(sums.data(), d + 1, gathered.data(), s);
        kern::rank_order_sum(gathered.data(), ranks, d + 1, sums.data(), s);
        kern::rule_update_sums(sums.data(), d, run.next_step(e, bt), run.params(), run.state(), s);
      }
      ev_sgd.record(s);
      const float* model = run.model(s);
      const EpochReport rep =
          finish_epoch(e, model, opt.loss, partials.data(), loss_out.data(), ev_start, ev_sgd, ev_eval, res, cb);
      if (!close_epoch(rep, e, model, opt, shard_.val_total > 0, run, stopping, res)) break;
    }
    run.result(res.diverged, s, res.w, res.b);
    return res;
  }

  // After an epoch of the rules' loop: divergence, and early stopping (the best epoch's model
  // kept on the device). False: stop here.
  bool close_epoch(const EpochReport& rep, int64_t e, const float* model, const TrainOptions& opt, bool on_validation,
                   RuleRun& run, EarlyStopping& stopping, TrainResult& res) {
    if (!std::isfinite(rep.train_loss)) {
      res.diverged = true;
      return false;
    }
    if (!opt.early_stopping) return true;
    const EarlyStopping::Verdict v = stopping.observe(on_validation ? rep.val_loss : rep.train_loss, e);
    if (v.new_best) {
      run.keep_best(model, stream());
      res.best_epoch = stopping.best_epoch();
    }
    if (v.stop) {
      res.stop_reason = stopping.reason();
      return false;
    }
    return true;
  }

  int device_ = 0;
  GpuTuning tuning_;
  kern::SmemLimits smem_;  // this device's shared-memory limits: the strategy rule's input
  std::string name_;
  std::unique_ptr<CudaStream> stream_;
  std::unique_ptr<CublasHandle> cublas_;
  DeviceBuffer<float> consts_;    // {1, 0}: gemv's alpha and beta (device pointer mode)
  DeviceBuffer<unsigned> ticket_; // fused step's last-block ticket; 0 between kernels
  std::unique_ptr<PinnedBuffer<double>> host_loss_;
  int64_t n_ = 0, d_ = 0, nv_ = 0;
  ShardPlacement shard_;     // a rank of a data-parallel job: its rows among the job's
  bool sharded_ = false;
  std::unique_ptr<NcclCollective> nccl_;  // made at the first fit, on every rank
  DeviceBuffer<float> X_, y_;     // (n, d) row-major (+ the generator's unused noise tail), (n)
  DeviceBuffer<float> Xv_, yv_;   // validation set, when loaded
};

}  // namespace

Strategy choose_strategy(int64_t n, int64_t d, int64_t batch) {
  return gpu_rule::choose_strategy(n, d, batch, kern::kHopperSmem);
}

bool strategy_supported(Strategy s, int64_t d, int64_t batch, const char** why) {
  return gpu_rule::strategy_supported(s, d, batch, kern::kHopperSmem, why);
}

GpuTuning gpu_tuning_from_environment() {
  GpuTuning t;
  if (const char* v = std::getenv("LINREG_FUSED_KERNEL"); v && *v) {
    const std::string k(v);
    if (k == kern::fused_kernel_name(kern::FusedKernel::Tiled)) {
      t.fused_kernel = kern::FusedKernel::Tiled;
    } else if (k == kern::fused_kernel_name(kern::FusedKernel::RowGroups)) {
      t.fused_kernel = kern::FusedKernel::RowGroups;
    } else {
      throw InputError("LINREG_FUSED_KERNEL: expected tiled or rowgroups, got '" + k + "'");
    }
  }
  return t;
}

std::unique_ptr<Trainer> create_gpu_trainer(int device, const GpuTuning& tuning) {
  if (tuning.graph_max_nodes < 2) throw InputError("GPU tuning: a graph needs room for at least one step (2 nodes)");
  return std::make_unique<GpuTrainer>(device, tuning, nullptr);
}

std::unique_ptr<Trainer> create_sharded_gpu_trainer(int device, const ShardPlacement& shard) {
  return std::make_unique<GpuTrainer>(device, GpuTuning{}, &shard);
}


}  // namespace linreg
