// `linreg generate`: the lab's synthetic set (the very data `linreg train` generates for the same
// flags and --seed) written as CSV with a header x0..x{d-1},y, or as a NumPy .npy matrix (the
// label last). CSV values are written in their shortest round-trip form and .npy values as
// float32 bits, so `train --data` on either file sees exactly the same floats.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "host/cli/commands.hpp"
#include "host/cli/output_plan.hpp"
#include "host/core/config.hpp"
#include "host/core/dataset.hpp"
#include "host/core/error.hpp"
#include "host/data/csv.hpp"
#include "host/data/npy.hpp"

namespace linreg::cli {
namespace {

struct GenerateFlags {
  SyntheticSpec spec;
  std::string true_w;
  std::string out;
};


// Writes the file and says what was written.
int finish(const GenerateFlags& f, OutputPlan& outputs, std::string content, int64_t n, int64_t d) {
  const size_t bytes = content.size();
  outputs.set("--out", std::move(content));
  outputs.commit();
  outputs.report_stream() << "wrote " << count_of(n, "example") << " with " << count_of(d, "feature") << " (seed "
                          << f.spec.seed << ") to " << (f.out == "-" ? std::string("stdout") : terminal_text(f.out))
                          << " (" << count_of(static_cast<int64_t>(bytes), "byte") << ")\n";
  return 0;
}

int run_generate(GenerateFlags& f, const CLI::App& sub) {
  if (f.out.empty()) throw UsageError("--out: empty path");
  if (sub.count("--true-w")) {
    f.spec.true_w = parse_decimal_list(f.true_w, "--true-w");
    if (sub.count("--features") == 0) f.spec.features = static_cast<int64_t>(f.spec.true_w.size());
  }
  validate_synthetic(f.spec);
  check_labels_fit_float32(f.spec);
  // The output is checked before the data is drawn; with --out - the summary goes to stderr.
  OutputPlan outputs;
  outputs.add(f.out, "--out");
  outputs.check();
  const HostDataset ds = generate_synthetic_host(f.spec);
  const int64_t n = ds.n, d = ds.d;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(ds.y[static_cast<size_t>(i)]))
      throw InputError("row " + std::to_string(i + 1) + "'s label overflows float32 with these --true-w, --true-b and "
                       "--noise; use smaller weights");
  if (data::npy_path(f.out)) {
    // NumPy's format: one float32 matrix (n, d + 1), the label in the last column.
    std::vector<float> m(static_cast<size_t>(n * (d + 1)));
    for (int64_t i = 0; i < n; ++i) {
      std::copy(ds.X.begin() + i * d, ds.X.begin() + (i + 1) * d, m.begin() + i * (d + 1));
      m[static_cast<size_t>(i * (d + 1) + d)] = ds.y[static_cast<size_t>(i)];
    }
    std::string bytes = data::format_npy(m.data(), n, d + 1);
    m = {};
    return finish(f, outputs, std::move(bytes), n, d);
  }
  // Columns as pointers into a column-major copy (format_csv takes columns).
  std::vector<float> cols(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) cols[j * n + i] = ds.X[i * d + j];
  std::vector<std::string> names;
  std::vector<const float*> ptrs;
  for (int64_t j = 0; j < d; ++j) {
    names.push_back("x" + std::to_string(j));
    ptrs.push_back(cols.data() + j * n);
  }
  names.push_back("y");
  ptrs.push_back(ds.y.data());
  std::string text = data::format_csv(names, ptrs, n);
  cols = {};
  return finish(f, outputs, std::move(text), n, d);
}

}  // namespace

void add_generate_command(CLI::App& root, Commands& cmds) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* sub = root.add_subcommand(
      "generate", "Write the lab's synthetic dataset (X ~ N(0,1), y = Xw + b + noise) as a CSV or .npy file");
  sub->add_option("--examples", f->spec.examples, "number of examples (rows)")->capture_default_str()
      ->transform(decimal_integer());
  sub->add_option("--features", f->spec.features, "number of features")->capture_default_str()
      ->transform(decimal_integer());
  sub->add_option("--true-w", f->true_w,
                  "true weights, comma list (default: 2,-3.4 for 2 features, else w_j = 4j/d - 2)");
  sub->add_option("--true-b", f->spec.true_b, "true bias")->capture_default_str()->transform(decimal_number(true));
  sub->add_option("--noise", f->spec.noise, "standard deviation of the label noise")->capture_default_str()
      ->transform(decimal_number(true));
  sub->add_option("--seed", f->spec.seed, "seed (the same data as `linreg train --seed`)")->capture_default_str()
      ->transform(decimal_integer(true));
  sub->add_option("--out", f->out,
                  "the CSV file to write (header x0,...,x{d-1},y); - is stdout. A name ending in .npy writes NumPy's "
                  "format: one float32 matrix (examples, features + 1), the label last")
      ->required();
  cmds.emplace_back(sub, [f, sub] { return run_generate(*f, *sub); });
}

}  // namespace linreg::cli
