// The two fitters behind the Fitter interface: SGD wraps a Trainer (CPU or GPU backend), the
// exact solver runs least_squares, its pass over the data on the placed device.
#include "host/train/fit.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/gpu_backend.hpp"
#include "host/train/least_squares.hpp"

namespace linreg {
namespace {

class SgdFitter final : public Fitter {
 public:
  // `gpu`: the trainer is that backend's (one GPU, not a rank of a job): rows too large for the
  // device then stream to it from host memory.
  SgdFitter(std::unique_ptr<Trainer> trainer, const TrainOptions& opt, const GpuBackend* gpu = nullptr)
      : trainer_(std::move(trainer)), opt_(opt), gpu_(gpu) {}
  std::string device_name() const override { return trainer_->device_name(); }
  std::string backend() const override { return trainer_->backend(); }
  void load(const HostDataset& train, const HostDataset* validation) override {
    streamed_ = nullptr;
    streamed_val_ = nullptr;
    if (gpu_ && train.weights.empty() && !fits_on_device(train, validation)) {
      streamed_ = &train;  // kept by reference until fit() returns, and the validation rows too
      streamed_val_ = validation;
      return;
    }
    trainer_->load(train, validation);
  }
  void generate(const SyntheticSpec& spec) override {
    streamed_ = nullptr;
    streamed_val_ = nullptr;
    trainer_->generate(spec);
  }
  HostDataset rows() const override { return streamed_ ? *streamed_ : trainer_->download(); }

  FitResult fit(const EpochCallback& on_epoch) override {
    TrainResult r;
    if (streamed_) {
      validate_train(opt_, streamed_->n);
      // Three chunks on the device (two in flight, the shuffled rows) and two uint32 a row: within
      // three quarters of its free memory less the validation rows (the streamer clamps the
      // chunk to what fits, too).
      int64_t free_b = 0;
      gpu_->memory_info(&free_b, nullptr);
      free_b -= rows_bytes(streamed_val_);
      const int64_t row = 3 * (streamed_->d + 1) * static_cast<int64_t>(sizeof(float)) + 2 * sizeof(uint32_t);
      const int64_t chunk = std::clamp<int64_t>(free_b / 4 * 3 / row, opt_.batch_size, (int64_t{1} << 31) - opt_.batch_size);
      r = gpu_->train_streamed(ResidentRows(*streamed_), opt_, chunk, on_epoch, streamed_val_, nullptr);
      r.strategy += " in chunks of " + std::to_string(std::min(chunk, streamed_->n)) + " rows";
    } else {
      validate_train(opt_, trainer_->examples());
      r = trainer_->fit(opt_, on_epoch);
    }
    FitResult f;
    f.w.assign(r.w.begin(), r.w.end());
    f.b = static_cast<double>(r.b);
    f.float32 = true;
    f.epoch_losses = std::move(r.epoch_losses);
    f.epoch_val_losses = std::move(r.epoch_val_losses);
    f.epochs_run = r.epochs_run;
    f.best_epoch = r.best_epoch;
    f.stop_reason = std::move(r.stop_reason);
    f.diverged = r.diverged;
    f.train_seconds = r.train_seconds;
    f.eval_seconds = r.eval_seconds;
    f.method = std::move(r.strategy);
    return f;
  }

 private:
  // The bytes of a dataset's float32 X and y on the device (0 for none).
  static int64_t rows_bytes(const HostDataset* ds) {
    return ds ? ds->n * (ds->d + 1) * static_cast<int64_t>(sizeof(float)) : 0;
  }
  // Whether the training and validation rows (float32 X and y) take at most 90% of the GPU's
  // free memory.
  bool fits_on_device(const HostDataset& train, const HostDataset* validation) const {
    int64_t free_b = 0;
    gpu_->memory_info(&free_b, nullptr);
    const double need = static_cast<double>(rows_bytes(&train) + rows_bytes(validation));
    return need <= 0.9 * static_cast<double>(free_b);
  }

  std::unique_ptr<Trainer> trainer_;
  TrainOptions opt_;
  const GpuBackend* gpu_ = nullptr;
  const HostDataset* streamed_ = nullptr;      // rows streamed from host memory, when set
  const HostDataset* streamed_val_ = nullptr;  // their validation rows (held on the device)
};

class ExactFitter final : public Fitter {
 public:
  ExactFitter(const GpuBackend* gpu, std::string gpu_name, const ExactOptions& opt, const ShardPlacement& shard = {})
      : gpu_(gpu), gpu_name_(std::move(gpu_name)), opt_(opt), shard_(shard) {}
  std::string device_name() const override { return gpu_ ? gpu_name_ : "cpu"; }
  std::string backend() const override { return gpu_ ? "cuda" : "cpu"; }
  void load(const HostDataset& train, const HostDataset*) override {
    owned_ = HostDataset{};
    data_ = &train;
  }
  void generate(const SyntheticSpec& spec) override {
    owned_ = generate_synthetic_host(spec);
    data_ = &owned_;
  }
  HostDataset rows() const override { return data_ ? *data_ : HostDataset{}; }

  FitResult fit(const EpochCallback&) override {
    if (!data_) throw InputError("the exact solver was given no data");
    LeastSquaresOptions o;
    o.method = opt_.method;
    o.intercept = opt_.intercept;
    o.ridge = opt_.ridge;
    o.weights = data_->weights.empty() ? nullptr : &data_->weights;
    o.gpu = gpu_;
    o.comm = shard_.comm;
    o.first_row = shard_.first_row;
    return exact_fit_result(std::make_shared<LeastSquaresFit>(least_squares(*data_, o)), gpu_ != nullptr);
  }

 private:
  const GpuBackend* gpu_;
  std::string gpu_name_;
  ExactOptions opt_;
  ShardPlacement shard_;
  const HostDataset* data_ = nullptr;
  HostDataset owned_;
};

}  // namespace

std::string shared_gpu(const Communicator& comm, const std::string& pci_bus_id) {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::string where = std::string(host) + " " + (pci_bus_id.empty() ? "device 0" : pci_bus_id);
  uint64_t key = 1469598103934665603ull;  // FNV-1a of the place: equal places, equal keys
  for (const unsigned char c : where) key = (key ^ c) * 1099511628211ull;
  std::vector<uint64_t> keys(static_cast<size_t>(comm.size()));
  comm.allgather(&key, sizeof key, keys.data());
  for (size_t r = 0; r < keys.size(); ++r)
    for (size_t s = 0; s < r; ++s)
      if (keys[s] == keys[r])
        return "ranks " + std::to_string(s) + " and " + std::to_string(r) +
               " share one GPU, and NCCL needs a GPU of its own for each rank";
  return {};
}

Placement place_sgd_ranks(const Communicator& comm, DeviceChoice device, bool weighted) {
  Placement p;
  together(comm, [&] { p = place(device); });  // under gpu, a rank without a GPU stops the job
  const int64_t gpus = sum_counts(comm, p.gpu ? 1 : 0);
  const bool any_weights = sum_counts(comm, weighted ? 1 : 0) > 0;  // a rank with no rows has none
  const std::string shared = gpus == comm.size() ? shared_gpu(comm, probe_gpu().pci_bus_id) : std::string();
  if (gpus == comm.size() && !any_weights && shared.empty()) return p;
  std::string why;
  if (any_weights) why = "weighted SGD runs on the CPU only";
  else if (!shared.empty()) why = shared + ": every rank trains on the CPU";
  else if (gpus > 0) why = std::to_string(gpus) + " of " + std::to_string(comm.size()) + " ranks have a usable GPU: every rank trains on the CPU";
  else why = p.note;
  // Every rank reaches this with the same verdict: thrown inside `together`, it is one error.
  if (device == DeviceChoice::Gpu) together(comm, [&] { throw DeviceUnavailable(why + "; use --device cpu or auto"); });
  Placement cpu;
  if (device == DeviceChoice::Auto) cpu.note = why;
  return cpu;
}

std::unique_ptr<Fitter> make_fitter(Method method, DeviceChoice device, const TrainOptions& sgd,
                                    const ExactOptions& exact, std::string* fallback_note, bool weighted,
                                    const ShardPlacement* shard) {
  if (shard && shard->comm && shard->comm->size() > 1) {
    if (method == Method::Normal) {
      // Each rank reduces its shard where it is placed (its GPU, or the CPU); the c×c results
      // are added on the host, in rank order.
      Placement p;
      together(*shard->comm, [&] { p = place(device); });
      if (fallback_note) *fallback_note = p.note;
      return std::make_unique<ExactFitter>(p.gpu, p.gpu_name, exact, *shard);
    }
    // SGD: every rank must sum its minibatches the same way (NCCL on GPU ranks, MPI on CPU
    // ranks), so the ranks agree on the device before any is made.
    const Communicator& comm = *shard->comm;
    const Placement p = place_sgd_ranks(comm, device, weighted);
    if (p.gpu) {
      std::unique_ptr<Trainer> trainer;
      together(comm, [&] { trainer = p.gpu->make_sharded_trainer(0, *shard); });
      return std::make_unique<SgdFitter>(std::move(trainer), sgd);
    }
    if (fallback_note) *fallback_note = p.note;
    return std::make_unique<SgdFitter>(make_cpu_trainer(0, *shard), sgd);
  }
  if (method == Method::Normal) {
    const Placement p = place(device);
    if (fallback_note) *fallback_note = p.note;
    return std::make_unique<ExactFitter>(p.gpu, p.gpu_name, exact);
  }
  if (weighted) {
    // The GPU kernels train the unweighted model (every rule of docs/SGD.md, but no row weights).
    const std::string what = "weighted SGD";
    if (device == DeviceChoice::Gpu)
      throw DeviceUnavailable(what + " runs on the CPU only; use --device cpu or auto");
    if (device == DeviceChoice::Auto) {
      // Say so only where a GPU would have trained: elsewhere the usual fallback note applies.
      const Placement p = place(device);
      if (fallback_note) *fallback_note = p.gpu ? what + " runs on the CPU only" : p.note;
    }
    return std::make_unique<SgdFitter>(make_cpu_trainer(), sgd);
  }
  const Placement p = place(device);
  if (fallback_note) *fallback_note = p.note;
  return std::make_unique<SgdFitter>(p.gpu ? p.gpu->make_trainer(0) : make_cpu_trainer(), sgd, p.gpu);
}

FitResult exact_fit_result(std::shared_ptr<const LeastSquaresFit> fit, bool on_gpu, const std::string& how) {
  FitResult f;
  f.w = fit->w;
  f.b = fit->b;
  f.train_seconds = fit->seconds;
  const bool gram = fit->method == ExactMethod::Cholesky;
  f.method = std::string(exact_method_name(fit->method)) +
             (!on_gpu ? " (LAPACK, double" + how + ")"
                      : gram ? " (Gram matrix by cuBLAS Dsyrk on the GPU, then LAPACK; double" + how + ")"
                             : " (R factor by cuSOLVER Dgeqrf on the GPU, then LAPACK; double" + how + ")");
  f.why = fit->why;
  f.exact = std::move(fit);
  return f;
}

DeviceChoice exact_device(DeviceChoice choice, int64_t rows, int64_t features, bool intercept) {
  if (choice != DeviceChoice::Auto) return choice;
  const double c = static_cast<double>(features + (intercept ? 1 : 0) + 1);
  return static_cast<double>(rows) * c * c >= kGpuExactMinMultiplyAdds ? DeviceChoice::Auto : DeviceChoice::Cpu;
}

const char* method_name(Method m) { return m == Method::Normal ? "normal" : "sgd"; }

}  // namespace linreg
