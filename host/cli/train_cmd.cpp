// `linreg train`: flags → validated config → trainer (GPU or CPU) → text report or one JSON object.
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "host/cli/commands.hpp"
#include "host/config.hpp"
#include "host/error.hpp"
#include "host/report.hpp"
#include "host/trainer.hpp"

namespace linreg::cli {
namespace {

struct TrainFlags {
  std::string device = "auto";
  SyntheticSpec spec;
  std::string true_w;
  TrainOptions opt;
  std::string loss = "half-mse";
  std::string strategy = "auto";
  bool json = false;
};

const std::map<std::string, DeviceChoice> kDevices{{"auto", DeviceChoice::Auto}, {"gpu", DeviceChoice::Gpu},
                                                   {"cpu", DeviceChoice::Cpu}};
const std::map<std::string, LossKind> kLosses{{"half-mse", LossKind::HalfMse}, {"mse", LossKind::Mse}};
const std::map<std::string, Strategy> kStrategies{{"auto", Strategy::Auto},
                                                  {"cublas", Strategy::Cublas},
                                                  {"fused", Strategy::Fused},
                                                  {"persistent", Strategy::Persistent}};

template <typename Map>
auto lookup(const Map& m, const std::string& key, const std::string& flag) {
  const auto it = m.find(key);
  if (it == m.end()) {
    std::string choices;
    for (const auto& kv : m) choices += (choices.empty() ? "" : "|") + kv.first;
    throw InputError(flag + ": unknown value '" + key + "' (choose " + choices + ")");
  }
  return it->second;
}

int run_train(TrainFlags& f, const CLI::App& sub) {
  // Config, validated once; every error names its flag.
  if (!f.true_w.empty()) {
    f.spec.true_w = parse_float_list(f.true_w, "--true-w");
    // --true-w alone sets the feature count; with --features they must agree.
    if (sub.count("--features") == 0) f.spec.features = static_cast<int64_t>(f.spec.true_w.size());
  }
  const DeviceChoice device = lookup(kDevices, f.device, "--device");
  f.opt.loss = lookup(kLosses, f.loss, "--loss");
  f.opt.strategy = lookup(kStrategies, f.strategy, "--strategy");
  validate_synthetic(f.spec);
  validate_train(f.opt, f.spec.examples);

  RunInfo info;
  std::unique_ptr<Trainer> trainer = make_trainer(device, &info.note);
  if (!info.note.empty()) std::cerr << "linreg: note: " << info.note << '\n';
  info.device = trainer->device_name();
  info.backend = trainer->backend();
  info.examples = f.spec.examples;
  info.features = f.spec.features;
  info.options = f.opt;
  info.spec = f.spec;

  trainer->generate(f.spec);
  if (!f.json) std::cout << "device: " << info.device << " (" << info.backend << ")" << std::endl;
  const TrainResult result = trainer->fit(f.opt, [&](const EpochReport& rep) {
    if (!f.json) std::cout << epoch_line(rep) << std::endl;
  });

  if (result.diverged) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "training diverged at epoch %lld (loss %g): --lr %g is too large for this data; try a smaller --lr",
                  static_cast<long long>(result.epochs_run), result.epoch_losses.back(), static_cast<double>(f.opt.lr));
    throw InputError(buf);
  }
  if (f.json)
    std::cout << result_json(info, result).dump() << std::endl;
  else
    std::cout << text_summary(info, result);
  return 0;
}

}  // namespace

void add_train_command(CLI::App& root, Commands& cmds) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* sub = root.add_subcommand(
      "train", "Fit y = Xw + b by minibatch SGD on a synthetic dataset (default: the lab's problem)");
  sub->add_option("--device", f->device, "auto | gpu | cpu (auto: the GPU when usable, else the CPU)")
      ->capture_default_str();
  sub->add_option("--examples", f->spec.examples, "number of synthetic examples")->capture_default_str();
  sub->add_option("--features", f->spec.features, "number of features")->capture_default_str();
  sub->add_option("--true-w", f->true_w,
                  "true weights, comma list (default: 2,-3.4 for 2 features, else w_j = 4j/d - 2)");
  sub->add_option("--true-b", f->spec.true_b, "true bias")->capture_default_str();
  sub->add_option("--noise", f->spec.noise, "standard deviation of the label noise")->capture_default_str();
  sub->add_option("--batch-size", f->opt.batch_size, "minibatch size")->capture_default_str();
  sub->add_option("--lr", f->opt.lr, "learning rate")->capture_default_str();
  sub->add_option("--epochs", f->opt.epochs, "passes over the data")->capture_default_str();
  sub->add_option("--seed", f->opt.seed, "seed for the data, the initial weights and the shuffles")
      ->capture_default_str();
  sub->add_option("--loss", f->loss,
                  "half-mse: the lab's section 4, (y'-y)^2/2 averaged over the batch; "
                  "mse: section 5's nn.MSELoss, mean (y'-y)^2")
      ->capture_default_str();
  sub->add_option("--strategy", f->strategy, "GPU step strategy: auto | cublas | fused | persistent")
      ->capture_default_str();
  sub->add_flag("--json", f->json, "print one JSON object on stdout and nothing else there");
  cmds.emplace_back(sub, [f, sub] {
    f->spec.seed = f->opt.seed;
    return run_train(*f, *sub);
  });
}

}  // namespace linreg::cli
