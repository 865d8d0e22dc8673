// Validation of the training configuration: one place, one message per mistake. Errors are
// SettingErrors naming the setting, so that the command line can name its flag.
#include "host/core/config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "host/core/error.hpp"

namespace linreg {

std::vector<float> default_true_w(int64_t features) {
  if (features == 2) return {2.0f, -3.4f};
  std::vector<float> w(static_cast<size_t>(features));
  for (int64_t j = 0; j < features; ++j)
    w[static_cast<size_t>(j)] = static_cast<float>(4.0 * static_cast<double>(j) / static_cast<double>(features) - 2.0);
  return w;
}

std::vector<float> parse_float_list(const std::string& text, const std::string& flag) {
  std::vector<float> out;
  std::stringstream ss(text);
  std::string item;
  size_t pos = 0;
  while (std::getline(ss, item, ',')) {
    ++pos;
    // Trim spaces so "2, -3.4" works.
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    const std::string t = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    char* end = nullptr;
    errno = 0;
    const double v = t.empty() ? 0.0 : std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v) ||
        std::fabs(v) > 3.4e38) {
      throw InputError(flag + ": item " + std::to_string(pos) + " ('" + t + "') is not a finite number");
    }
    out.push_back(static_cast<float>(v));
  }
  if (!text.empty() && text.back() == ',') throw InputError(flag + ": trailing comma in '" + text + "'");
  if (out.empty()) throw InputError(flag + ": expected a comma-separated list of numbers");
  return out;
}

void validate_synthetic(SyntheticSpec& spec) {
  if (spec.examples <= 0) throw SettingError("examples", "the number of examples must be at least 1 (got " + std::to_string(spec.examples) + ")");
  // Row indices are 32-bit on both backends.
  if (spec.examples >= (int64_t{1} << 31)) throw SettingError("examples", "the number of examples must be below 2^31");
  if (spec.features <= 0) throw SettingError("features", "the number of features must be at least 1 (got " + std::to_string(spec.features) + ")");
  if (spec.features > (int64_t{1} << 20)) throw SettingError("features", "the number of features must be at most 1048576");
  if (!std::isfinite(spec.noise) || spec.noise < 0)
    throw SettingError("noise", "the noise must be a finite number >= 0");
  if (!std::isfinite(spec.true_b)) throw SettingError("true_b", "the true bias must be a finite number");
  if (spec.true_w.empty()) spec.true_w = default_true_w(spec.features);
  if (static_cast<int64_t>(spec.true_w.size()) != spec.features)
    throw SettingError("true_w", "the true weights have " + std::to_string(spec.true_w.size()) +
                                   " values for " + std::to_string(spec.features) + " features");
  for (float v : spec.true_w)
    if (!std::isfinite(v)) throw SettingError("true_w", "the true weights must be finite numbers");
}

void validate_train(const TrainOptions& opt, int64_t examples) {
  if (opt.batch_size <= 0) throw SettingError("batch_size", "the batch size must be at least 1 (got " + std::to_string(opt.batch_size) + ")");
  if (opt.batch_size > examples)
    throw SettingError("batch_size", "the batch size (" + std::to_string(opt.batch_size) +
                                           ") must not exceed the number of examples (" + std::to_string(examples) + ")");
  if (!std::isfinite(opt.lr) || opt.lr <= 0) throw SettingError("lr", "the learning rate must be a finite number > 0");
  if (opt.epochs <= 0) throw SettingError("epochs", "the number of epochs must be at least 1 (got " + std::to_string(opt.epochs) + ")");
}

const char* loss_name(LossKind kind) { return kind == LossKind::HalfMse ? "half-mse" : "mse"; }

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::Auto: return "auto";
    case Strategy::Cublas: return "cublas";
    case Strategy::Fused: return "fused";
    case Strategy::Persistent: return "persistent";
  }
  return "?";
}

const char* device_choice_name(DeviceChoice d) {
  switch (d) {
    case DeviceChoice::Auto: return "auto";
    case DeviceChoice::Gpu: return "gpu";
    case DeviceChoice::Cpu: return "cpu";
  }
  return "?";
}

}  // namespace linreg
