#include "bench/bench_report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <tuple>

#include "bench/bench_math.hpp"
#include "host/core/error.hpp"

namespace linreg::bench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// "2.86 TB/s", "35.1 GB/s", "512 MB/s".
std::string rate(double bytes_per_second) {
  if (!std::isfinite(bytes_per_second)) return "-";
  if (bytes_per_second >= 1e12) return fmt("%.2f TB/s", bytes_per_second / 1e12);
  if (bytes_per_second >= 1e9) return fmt("%.1f GB/s", bytes_per_second / 1e9);
  return fmt("%.0f MB/s", bytes_per_second / 1e6);
}

// "3.2x", "71.8x", "10800x".
std::string times(double v) { return std::isfinite(v) && v >= 1000 ? fmt("%.0fx", v) : fmt("%.3gx", v); }

std::string strategy_cell(const Row& r) {
  if (r.device == "cpu") {
    if (r.optimizer == "plain") return "cpu";
    return "cpu " + r.optimizer + (std::isfinite(r.vs_plain) ? " (" + fmt("%.2f", r.vs_plain) + "x plain)" : "");
  }
  std::string cell = r.strategy;
  if (r.strategy == "auto" && !r.strategy_ran.empty() && r.strategy_ran != "auto") cell = "auto->" + r.strategy_ran;
  if (r.optimizer != "plain")
    cell += " " + r.optimizer + (std::isfinite(r.vs_plain) ? " (" + fmt("%.2f", r.vs_plain) + "x plain)" : "");
  return cell;
}

bool has_compare(const Report& rep) { return !rep.torch_source.empty(); }

}  // namespace

std::string format_table(const Report& rep) {
  std::ostringstream os;
  for (const DeviceInfo& d : rep.devices) {
    os << d.device << ": " << d.name << ", copy bandwidth " << rate(d.copy.bandwidth);
    if (d.device == "cpu") {
      os << " (" << d.copy.threads << (d.copy.threads == 1 ? " thread" : " threads");
      if (d.copy_one_thread && d.copy.threads != 1) os << "; 1 thread " << rate(d.copy_one_thread->bandwidth);
      os << ")";
    }
    os << ", read + written, median of " << d.copy.seconds.size() << " copies of " << fmt("%.0f", d.copy.bytes / 1048576.0)
       << " MiB\n";
  }
  for (const auto& n : rep.notes) os << "note: " << n << '\n';
  if (has_compare(rep)) {
    os << "PyTorch: " << rep.torch_source;
    if (!rep.torch_version.empty()) os << " (torch " << rep.torch_version << ")";
    os << '\n';
  }
  os << '\n';

  std::vector<std::string> head = {"problem", "device", "strategy", "ms/epoch", "samples/s", "GB/s", "% copy", "vs CPU"};
  if (has_compare(rep)) {
    for (const char* h : {"torch eager ms", "torch graph ms", "vs eager", "vs graph"}) head.emplace_back(h);
  }
  head.emplace_back("note");
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> notes;
  for (const Row& r : rep.rows) {
    std::vector<std::string> c;
    std::string problem = problem_label(r.problem);
    if (r.examples != r.problem.examples) problem += " (" + count_label(r.examples) + ")";
    c.push_back(problem);
    c.push_back(r.device);
    c.push_back(strategy_cell(r));
    c.push_back(fmt("%.4g", r.median_epoch_seconds * 1e3));
    c.push_back(fmt("%.3g", r.samples_per_second));
    c.push_back(fmt("%.3g", r.bandwidth / 1e9));
    c.push_back(fmt("%.0f%%", r.bandwidth_share * 100));
    c.push_back(times(r.speedup_vs_cpu));
    if (has_compare(rep)) {
      c.push_back(fmt("%.4g", r.torch_eager_epoch_seconds * 1e3));
      c.push_back(fmt("%.4g", r.torch_graph_epoch_seconds * 1e3));
      c.push_back(times(r.speedup_vs_torch_eager));
      c.push_back(times(r.speedup_vs_torch_graph));
    }
    if (r.note.empty()) {
      c.emplace_back(r.skipped ? "skipped" : "");
    } else {
      notes.push_back(r.note);
      c.push_back((r.skipped ? "skipped [" : "[") + std::to_string(notes.size()) + "]");
    }
    cells.push_back(std::move(c));
  }
  std::vector<size_t> width(head.size());
  for (size_t k = 0; k < head.size(); ++k) {
    width[k] = head[k].size();
    for (const auto& c : cells) width[k] = std::max(width[k], c[k].size());
  }
  // Text columns left-aligned, numbers right-aligned.
  const size_t text_cols = 3;
  auto line = [&](const std::vector<std::string>& c) {
    std::string s;
    for (size_t k = 0; k < c.size(); ++k) {
      const size_t pad = width[k] - c[k].size();
      const bool left = k < text_cols || k + 1 == c.size();
      if (k) s += "  ";
      s += left ? c[k] + std::string(k + 1 == c.size() ? 0 : pad, ' ') : std::string(pad, ' ') + c[k];
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + '\n';
  };
  os << line(head);
  for (const auto& c : cells) os << line(c);
  for (size_t k = 0; k < notes.size(); ++k) os << "[" << k + 1 << "] " << notes[k] << '\n';
  os << "\nms/epoch: median SGD pass (shuffle included, evaluation excluded) after "
     << rep.settings.warmup_epochs << " warm-up epoch(s); GB/s: n*(d+1)*4 bytes of X and y per epoch / time; "
     << "% copy: of the device's copy bandwidth; vs CPU: samples/s over the CPU's.\n";
  return os.str();
}

nlohmann::json report_json(const Report& rep) {
  nlohmann::json j;
  j["tool"] = "linreg bench";
  j["version"] = "0.1.0";
  j["date"] = rep.date;
  j["grid"] = rep.grid_name;
  j["settings"] = {{"warmup_epochs", rep.settings.warmup_epochs},
                   {"timed_epochs", rep.settings.timed_epochs},
                   {"cpu_row_budget_seconds", rep.settings.cpu_row_budget_seconds},
                   {"memory_fraction", rep.settings.memory_fraction},
                   {"seed", rep.settings.seed},
                   {"loss", "half-mse"}};
  j["device_names"] = nlohmann::json::object();
  j["devices"] = nlohmann::json::array();
  for (const DeviceInfo& d : rep.devices) {
    nlohmann::json dj = {{"device", d.device},
                         {"name", d.name},
                         {"copy_bandwidth_bytes_per_second", num(d.copy.bandwidth)},
                         {"copy_bytes", d.copy.bytes},
                         {"copy_threads", d.copy.threads},
                         {"copy_seconds", d.copy.seconds}};
    if (d.copy_one_thread) dj["copy_bandwidth_one_thread_bytes_per_second"] = num(d.copy_one_thread->bandwidth);
    j["devices"].push_back(dj);
    j["device_names"][d.device] = d.name;
  }
  j["notes"] = rep.notes;
  if (has_compare(rep)) {
    j["compare"] = {{"source", rep.torch_source}, {"torch_version", rep.torch_version}};
  }
  j["rows"] = nlohmann::json::array();
  for (const Row& r : rep.rows) {
    nlohmann::json rj = {{"examples", r.examples},
                         {"requested_examples", r.problem.examples},
                         {"features", r.problem.features},
                         {"batch_size", r.problem.batch},
                         {"epochs", r.problem.epochs},
                         {"device", r.device},
                         {"device_name", r.device_name},
                         {"strategy", r.strategy},
                         {"strategy_ran", r.strategy_ran},
                         {"optimizer", r.optimizer},
                         {"vs_plain", std::isfinite(r.vs_plain) ? nlohmann::json(r.vs_plain) : nlohmann::json(nullptr)},
                         {"skipped", r.skipped},
                         {"note", r.note},
                         {"lr", static_cast<double>(r.lr)},
                         {"warmup_epochs", r.warmup_epochs},
                         {"timed_epochs", r.epoch_seconds.size()},
                         {"epoch_seconds", num(r.median_epoch_seconds)},
                         {"epoch_seconds_all", r.epoch_seconds},
                         {"min_epoch_seconds", num(r.min_epoch_seconds)},
                         {"problem_seconds", num(r.problem_seconds)},
                         {"bytes_per_epoch", num(r.bytes_per_epoch)},
                         {"samples_per_second", num(r.samples_per_second)},
                         {"bandwidth_bytes_per_second", num(r.bandwidth)},
                         {"bandwidth_share", num(r.bandwidth_share)},
                         {"speedup_vs_cpu", num(r.speedup_vs_cpu)},
                         {"final_loss", num(r.final_loss)},
                         {"diverged", r.diverged}};
    if (has_compare(rep)) {
      rj["torch_eager_epoch_seconds"] = num(r.torch_eager_epoch_seconds);
      rj["torch_graph_epoch_seconds"] = num(r.torch_graph_epoch_seconds);
      rj["speedup_vs_torch_eager"] = num(r.speedup_vs_torch_eager);
      rj["speedup_vs_torch_graph"] = num(r.speedup_vs_torch_graph);
    }
    j["rows"].push_back(rj);
  }
  return j;
}

void check_compare_json(const nlohmann::json& doc, const std::string& source) {
  const std::string what = "--compare " + source + ": ";
  if (!doc.is_object() || !doc.contains("rows") || !doc["rows"].is_array())
    throw InputError(what + "expected a JSON object with a \"rows\" array (bench/pytorch_reference.py --json)");
  size_t k = 0;
  for (const auto& r : doc["rows"]) {
    ++k;
    const std::string row = what + "row " + std::to_string(k) + " ";
    if (!r.is_object()) throw InputError(row + "is not an object");
    for (const char* key : {"examples", "features", "batch_size"})
      if (!r.contains(key) || !r[key].is_number_integer() || r[key].get<int64_t>() < 1)
        throw InputError(row + "has no positive integer \"" + key + "\"");
    for (const char* key : {"device", "mode"})
      if (!r.contains(key) || !r[key].is_string()) throw InputError(row + "has no string \"" + key + "\"");
    if (!r.contains("epoch_seconds") || !(r["epoch_seconds"].is_number() || r["epoch_seconds"].is_null()))
      throw InputError(row + "has no \"epoch_seconds\" (a number, or null when skipped)");
  }
}

nlohmann::json load_compare_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("--compare " + path + ": cannot read the file");
  nlohmann::json doc;
  try {
    in >> doc;
  } catch (const nlohmann::json::exception& e) {
    throw InputError("--compare " + path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  check_compare_json(doc, path);
  return doc;
}

void join_compare(Report& rep, const nlohmann::json& torch, const std::string& source) {
  check_compare_json(torch, source);
  rep.torch_source = source;
  rep.torch_version = torch.value("torch_version", std::string());
  if (torch.contains("device_names") && torch["device_names"].is_object()) {
    rep.torch_cpu_name = torch["device_names"].value("cpu", std::string());
    rep.torch_gpu_name = torch["device_names"].value("gpu", std::string());
  }
  // (examples, features, batch, device, mode) → fastest epoch median.
  using Key = std::tuple<int64_t, int64_t, int64_t, std::string, std::string>;
  std::map<Key, double> best;
  for (const auto& r : torch["rows"]) {
    if (!r["epoch_seconds"].is_number() || r.value("skipped", false)) continue;
    const double s = r["epoch_seconds"].get<double>();
    if (!(s > 0) || !std::isfinite(s)) continue;
    std::string device = r["device"].get<std::string>();
    if (device == "cuda") device = "gpu";
    const Key k{r["examples"].get<int64_t>(), r["features"].get<int64_t>(), r["batch_size"].get<int64_t>(), device,
                r["mode"].get<std::string>()};
    const auto it = best.find(k);
    if (it == best.end() || s < it->second) best[k] = s;
  }
  auto lookup = [&](const Row& r, const char* mode) {
    const auto it = best.find(Key{r.examples, r.problem.features, r.problem.batch, r.device, mode});
    return it == best.end() ? kNaN : it->second;
  };
  for (Row& r : rep.rows) {
    if (r.optimizer != "plain") continue;  // PyTorch's reference rows run the plain step
    r.torch_eager_epoch_seconds = lookup(r, "eager");
    r.torch_graph_epoch_seconds = lookup(r, "graph");
    // Same shape, so the ratio of times is the ratio of samples/s.
    r.speedup_vs_torch_eager = r.skipped ? kNaN : speedup(1.0 / r.median_epoch_seconds, 1.0 / r.torch_eager_epoch_seconds);
    r.speedup_vs_torch_graph = r.skipped ? kNaN : speedup(1.0 / r.median_epoch_seconds, 1.0 / r.torch_graph_epoch_seconds);
  }
  // Keep the reference rows for the chart.
  rep.torch_rows.clear();
  for (const auto& [k, s] : best) {
    TorchRow t;
    std::tie(t.examples, t.features, t.batch, t.device, t.mode) = k;
    t.epoch_seconds = s;
    rep.torch_rows.push_back(t);
  }
}

std::vector<ChartLine> chart_lines(const Report& rep) {
  // label → points (x, y); std::map keeps the legend order stable, ours before PyTorch's.
  std::map<std::string, std::vector<std::pair<double, double>>> lines, torch_lines;
  for (const Row& r : rep.rows) {
    // The plain step's rows only: an optimizer's row is a ratio to them, read in the table.
    if (r.skipped || !std::isfinite(r.samples_per_second) || r.optimizer != "plain") continue;
    const std::string label = r.device == "cpu" ? "linreg cpu" : "linreg gpu " + strategy_cell(r);
    lines[label].emplace_back(static_cast<double>(r.examples) * static_cast<double>(r.problem.features),
                              r.samples_per_second);
  }
  for (const TorchRow& t : rep.torch_rows) {
    // Only shapes that the bench ran, so that the lines compare like with like.
    const bool ran = std::any_of(rep.rows.begin(), rep.rows.end(), [&](const Row& r) {
      return r.examples == t.examples && r.problem.features == t.features && r.problem.batch == t.batch &&
             r.device == t.device;
    });
    if (!ran) continue;
    torch_lines["PyTorch " + t.device + " " + t.mode].emplace_back(
        static_cast<double>(t.examples) * static_cast<double>(t.features),
        samples_per_second(t.examples, t.epoch_seconds));
  }
  std::vector<ChartLine> out;
  for (auto* group : {&lines, &torch_lines}) {
    for (auto& [label, pts] : *group) {
      std::sort(pts.begin(), pts.end());
      ChartLine l;
      l.label = label;
      for (const auto& [x, y] : pts) {
        l.x.push_back(x);
        l.y.push_back(y);
      }
      out.push_back(std::move(l));
    }
  }
  return out;
}

}  // namespace linreg::bench
