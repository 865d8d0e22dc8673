// The model-fitting interface: minibatch SGD and the exact solver both implement it, on either
// device. Data and options go in; a fitted model, its per-epoch history and timings come out.
// No flags and no printing here: the command layer does both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/core/config.hpp"
#include "host/core/dataset.hpp"
#include "host/train/least_squares.hpp"
#include "host/train/cpu_trainer.hpp"
#include "host/train/device.hpp"
#include "host/train/trainer.hpp"

namespace linreg {

// Minibatch SGD; exact least squares (the factorisation is ExactOptions::method: cholesky, the
// normal equations, is what "normal" names).
enum class Method { Sgd, Normal };

// The exact solvers' settings (least_squares.hpp).
struct ExactOptions {
  ExactMethod method = ExactMethod::Cholesky;
  bool intercept = true;
  double ridge = 0;
};

// A fitted model, in the units of the data the fitter was given.
struct FitResult {
  std::vector<double> w;
  double b = 0;
  bool float32 = false;  // w and b are float32 values widened (SGD); the exact solver's are doubles
  std::vector<double> epoch_losses;      // SGD: full-dataset training loss after each epoch
  std::vector<double> epoch_val_losses;  // SGD with a validation set
  int64_t epochs_run = 0;
  int64_t best_epoch = 0;      // SGD with early stopping: the epoch whose model is reported
  std::string stop_reason;     // why SGD stopped before its last epoch (early stopping), or empty
  bool diverged = false;       // SGD's loss became non-finite; training stopped at that epoch
  double train_seconds = 0;    // SGD passes (shuffles included), or building and solving the system
  double eval_seconds = 0;     // SGD's per-epoch loss evaluations
  std::string method;          // what ran: the SGD strategy ("cpu", "cublas", ...) or the solver
  // The exact solvers: why auto chose its factorisation, and the whole fit (for inference).
  std::string why;
  std::shared_ptr<const LeastSquaresFit> exact;
};

class Fitter {
 public:
  virtual ~Fitter() = default;
  Fitter() = default;
  Fitter(const Fitter&) = delete;
  Fitter& operator=(const Fitter&) = delete;

  virtual std::string device_name() const = 0;  // "cpu" or the GPU's name
  virtual std::string backend() const = 0;      // "cpu" or "cuda"

  // The data, given once before fit(): host rows (kept by reference until fit() returns; an
  // optional validation set is scored each epoch), or the synthetic problem, generated where the
  // fitter runs (cuRAND on the GPU).
  virtual void load(const HostDataset& train, const HostDataset* validation) = 0;
  virtual void generate(const SyntheticSpec& spec) = 0;
  // The training rows on the host (copied back from the device where they live there).
  virtual HostDataset rows() const = 0;

  virtual FitResult fit(const EpochCallback& on_epoch) = 0;
};

// A fitter for `method` placed on `device` (host/train/device.hpp: auto falls back to the CPU and
// sets *fallback_note; gpu without a usable GPU throws DeviceUnavailable). `sgd` is used by SGD.
// `exact` is used by the exact solver. `weighted`: the data will carry per-row weights.
// On the GPU the exact solver reduces the data there (every factorisation, weights, ridge, with or
// without an intercept; the small solves stay on the host), and SGD trains every rule of
// docs/SGD.md but not row weights: weighted SGD runs on the CPU (under auto; under gpu,
// DeviceUnavailable says so).
// `shard`: this process is a rank of a data-parallel job (cpu_trainer.hpp): the fitter is given
// the rank's shard and fits the whole job's data with the other ranks. The exact solver reduces
// each shard on the rank's device (GPU or CPU). SGD trains on GPU ranks (NCCL) when every rank
// has a usable GPU and the fit is unweighted, else on CPU ranks (MPI); the ranks decide together.
// On one GPU, training rows that would take more than 90% of its free memory stream to it from
// host memory in chunks (GpuBackend::train_streamed; a validation set stays on the device).
std::unique_ptr<Fitter> make_fitter(Method method, DeviceChoice device, const TrainOptions& sgd,
                                    const ExactOptions& exact = {}, std::string* fallback_note = nullptr,
                                    bool weighted = false, const ShardPlacement* shard = nullptr);

// Where the ranks of a data-parallel job train SGD (a collective; every rank gets the same
// answer): on their GPUs (each rank's own, by local rank; NCCL sums the minibatches) when every
// rank has a usable GPU, none would share one (shared_gpu) and no rank's rows carry weights; else
// every rank on the CPU, with the reason as the note under auto, and under gpu one agreed
// DeviceUnavailable naming it.
Placement place_sgd_ranks(const Communicator& comm, DeviceChoice device, bool weighted);

// A collective of the job's ranks, each naming the PCI address of the GPU it would use
// (GpuProbe::pci_bus_id): "ranks R and S share one GPU, ..." for the first two ranks on one GPU
// of one host, the same words on every rank, or empty when each rank has its own. NCCL refuses
// two ranks on one device (a node with fewer GPUs than ranks, or a CUDA_VISIBLE_DEVICES that
// shows every rank the same devices): make_fitter then trains SGD on the CPU.
std::string shared_gpu(const Communicator& comm, const std::string& pci_bus_id);

// Below this many multiply-adds in the exact solver's pass over the data (n·c², c = coefficients
// + 1), --device auto keeps an exact fit on the CPU: loading the GPU module and creating a context
// costs about 0.4 s, which OpenBLAS on a few cores spends on about 1e10 multiply-adds, and the
// data must cross PCIe besides. An explicit --device gpu is always obeyed.
constexpr double kGpuExactMinMultiplyAdds = 1e10;
// The device an exact fit of rows × features is placed on under `choice` (auto: see above).
DeviceChoice exact_device(DeviceChoice choice, int64_t rows, int64_t features, bool intercept);

const char* method_name(Method m);  // "sgd" | "normal"

// An exact fit as the fitters report it; `how` is added to the CPU's description (", streamed").
FitResult exact_fit_result(std::shared_ptr<const LeastSquaresFit> fit, bool on_gpu, const std::string& how = "");

}  // namespace linreg
