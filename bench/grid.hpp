// The problems `linreg bench` runs: the default grid (the lab's problem up to 10M×256), the
// --quick grid, and --rows, which picks grid rows by number or names new ones ("200kx64:b256").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace linreg::bench {

// One benchmark problem: synthetic X (examples × features), minibatch SGD with `batch`.
// `epochs` is the problem's own epoch count (the lab's 3): the bench reports the median epoch,
// and problem_seconds = median × epochs for comparison with whole-run figures.
struct Problem {
  int64_t examples = 0;
  int64_t features = 0;
  int64_t batch = 0;
  int64_t epochs = 3;
};

// "1000x2 b10", "1Mx256 b4096": short, for tables and notes.
std::string problem_label(const Problem& p);
// "10M", "100k", "1000", "1.5M".
std::string count_label(int64_t n);

// 1000×2 b10 3 epochs (the lab), 100k×2 b10 1 epoch, 1M×16 b1024, 1M×256 b4096, 10M×256 b65536.
std::vector<Problem> default_grid();
// The same regimes at sizes a laptop CPU runs in well under a minute.
std::vector<Problem> quick_grid();

// --rows: a comma list whose items are 1-based numbers into `grid` or problems written
// NxD:bB[:eE] (N and B take k/M suffixes: "1Mx16:b1024:e3"). Throws InputError naming --rows.
std::vector<Problem> parse_rows(const std::string& text, const std::vector<Problem>& grid);

}  // namespace linreg::bench
