// What a training run is asked to do. validate_* throw SettingError naming the setting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/core/formulas.hpp"

namespace linreg {

enum class DeviceChoice { Auto, Gpu, Cpu };

// How the GPU runs an SGD step. cublas: the classic pipeline (residual kernel, cuBLAS
// gemv for Xᵀr, fused SGD kernel), a few launches per step. fused: one kernel per step reads each
// minibatch row once (residual, loss and gradient partials), deterministic reduction + update,
// an epoch captured in a CUDA graph. persistent: small problems, many steps inside one kernel
// with w, b on chip. auto: the fastest for the problem's shape. The CPU ignores it.
enum class Strategy { Auto, Cublas, Fused, Persistent };

// The lab's synthetic problem: X ~ N(0,1) (n×d), y = Xw + b + N(0, noise²).
struct SyntheticSpec {
  int64_t examples = 1000;
  int64_t features = 2;
  std::vector<float> true_w;  // empty: default_true_w(features)
  float true_b = 4.2f;
  float noise = 0.01f;
  uint64_t seed = 42;
};

struct TrainOptions {
  int64_t batch_size = 10;
  float lr = 0.03f;
  int64_t epochs = 3;
  LossKind loss = LossKind::HalfMse;
  uint64_t seed = 42;  // initial weights and per-epoch shuffles
  Strategy strategy = Strategy::Auto;
  // false: the model goes through the origin (b stays 0, never updated). A model without an
  // intercept and data with per-row weights (HostDataset::weights: each example's gradient and
  // loss term is multiplied by its weight) train on the CPU only.
  bool intercept = true;
};

// The lab's [2, -3.4] for d = 2; otherwise w_j = 4·j/d − 2 (evenly spaced in [-2, 2)),
// the same vector the PyTorch reference runs (bench/pytorch_reference.py) use.
std::vector<float> default_true_w(int64_t features);

// Parses "2,-3.4" into floats; throws InputError, its message starting with `what`, on a non-number.
std::vector<float> parse_float_list(const std::string& text, const std::string& flag);

// Throw SettingError naming the offending setting. validate_synthetic fills an empty true_w.
void validate_synthetic(SyntheticSpec& spec);
void validate_train(const TrainOptions& opt, int64_t examples);

const char* loss_name(LossKind kind);
const char* strategy_name(Strategy s);
const char* device_choice_name(DeviceChoice d);

}  // namespace linreg
