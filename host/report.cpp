#include "host/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace linreg {

std::string epoch_line(const EpochReport& rep) {
  char buf[128];
  if (rep.val_loss >= 0)
    std::snprintf(buf, sizeof buf, "epoch %lld, loss %f, val loss %f", static_cast<long long>(rep.epoch), rep.train_loss,
                  rep.val_loss);
  else
    std::snprintf(buf, sizeof buf, "epoch %lld, loss %f", static_cast<long long>(rep.epoch), rep.train_loss);
  return buf;
}

std::string format_values(const std::vector<float>& v, size_t max_items) {
  std::ostringstream os;
  os << '[';
  const size_t shown = std::min(v.size(), max_items);
  for (size_t i = 0; i < shown; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v[i]));
    os << (i ? ", " : "") << buf;
  }
  if (shown < v.size()) os << ", ... (" << v.size() << " values)";
  os << ']';
  return os.str();
}

// A float as the shortest decimal that reads back as the same float (0.03f → 0.03, not
// 0.029999999329447746), so JSON shows what the user typed.
double json_float(float v) {
  if (!std::isfinite(v)) return static_cast<double>(v);
  char buf[32];
  for (int prec = 6; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return std::strtod(buf, nullptr);
}

nlohmann::json json_floats(const std::vector<float>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (float x : v) a.push_back(json_float(x));
  return a;
}

double samples_per_second(const RunInfo& info, const TrainResult& result) {
  if (result.train_seconds <= 0) return 0;
  return static_cast<double>(info.examples) * static_cast<double>(result.epochs_run) / result.train_seconds;
}

std::string text_summary(const RunInfo& info, const TrainResult& r) {
  std::ostringstream os;
  char buf[256];
  os << "w: " << format_values(r.w) << '\n';
  if (info.synthetic) {
    const auto& tw = info.spec.true_w;
    std::vector<float> err(tw.size());
    double max_err = 0;
    for (size_t j = 0; j < tw.size() && j < r.w.size(); ++j) {
      err[j] = tw[j] - r.w[j];
      max_err = std::max(max_err, std::fabs(static_cast<double>(err[j])));
    }
    os << "true w: " << format_values(tw) << '\n';
    std::snprintf(buf, sizeof buf, "error in w (true - learned): %s, max |error| %.3g\n", format_values(err).c_str(),
                  max_err);
    os << buf;
    std::snprintf(buf, sizeof buf, "b: %.6g   true b: %.6g   error in b: %.3g\n", static_cast<double>(r.b),
                  static_cast<double>(info.spec.true_b), static_cast<double>(info.spec.true_b - r.b));
    os << buf;
  } else {
    std::snprintf(buf, sizeof buf, "b: %.6g\n", static_cast<double>(r.b));
    os << buf;
  }
  std::snprintf(buf, sizeof buf,
                "trained %lld epochs of %lld examples in %.3f ms (%.3g samples/s, %s); loss evaluation %.3f ms\n",
                static_cast<long long>(r.epochs_run), static_cast<long long>(info.examples), r.train_seconds * 1e3,
                samples_per_second(info, r), r.strategy.c_str(), r.eval_seconds * 1e3);
  os << buf;
  return os.str();
}

nlohmann::json result_json(const RunInfo& info, const TrainResult& r) {
  nlohmann::json j;
  j["device"] = info.device;
  j["backend"] = info.backend;
  if (!info.note.empty()) j["note"] = info.note;
  j["strategy"] = r.strategy;
  j["examples"] = info.examples;
  j["features"] = info.features;
  j["batch_size"] = info.options.batch_size;
  j["lr"] = json_float(info.options.lr);
  j["epochs"] = info.options.epochs;
  j["epochs_run"] = r.epochs_run;
  j["seed"] = info.options.seed;
  j["loss_kind"] = loss_name(info.options.loss);
  j["loss"] = r.epoch_losses.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.epoch_losses.back());
  j["epoch_losses"] = r.epoch_losses;
  if (!r.epoch_val_losses.empty()) j["epoch_val_losses"] = r.epoch_val_losses;
  j["w"] = json_floats(r.w);
  j["b"] = json_float(r.b);
  if (info.synthetic) {
    j["true_w"] = json_floats(info.spec.true_w);
    j["true_b"] = json_float(info.spec.true_b);
    j["noise"] = json_float(info.spec.noise);
  }
  j["train_seconds"] = r.train_seconds;
  j["eval_seconds"] = r.eval_seconds;
  j["samples_per_second"] = samples_per_second(info, r);
  return j;
}

}  // namespace linreg
