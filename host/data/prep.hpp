// Preparing a dataset for training: a seeded validation split and feature standardisation.
// Statistics are computed in double; the scaling is fitted on the training rows only (no peeking
// at the validation rows) and undone on the learned weights, so that reported and saved weights
// are in the original units.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "host/core/dataset.hpp"

namespace linreg {
class Communicator;
}

namespace linreg::data {

// x_std = (x − mean) / scale, per feature. scale is the population standard deviation, or 1 for a
// constant column (which then becomes all zeros and keeps whatever weight it starts with).
struct Scaling {
  std::vector<double> mean;
  std::vector<double> scale;
  std::vector<size_t> constant;  // indices of constant columns (for a warning)
  bool empty() const { return mean.empty(); }
};

// From the values as read (the double copies where the dataset has them). centre = false (a model
// without an intercept, which could not absorb the shift): mean 0 and the root mean square as
// the scale, so that only the scales change.
// comm: a data-parallel job, ds this rank's shard: the statistics are the whole job's (every rank
// gets the same scaling).
Scaling fit_scaling(const HostDataset& ds, bool centre = true, const Communicator* comm = nullptr);
// The same of rows that come in parts (a file streamed in chunks): parts(f) calls f on each part
// in row order, and is called once per pass (three times). The sums run on across the parts, so
// the result is the one of the rows read whole.
using RowParts = std::function<void(const std::function<void(const HostDataset&)>&)>;
Scaling fit_scaling(const RowParts& parts, int64_t features, bool centre, const Communicator* comm = nullptr);
// In place: X (float32) from the values as read; the double copy X64 is dropped (SGD trains on
// X; the originals serve the metrics).
void apply_scaling(HostDataset& ds, const Scaling& s);

// Weights learned on standardised features → the same model in original units:
// w_j = w'_j / s_j, b = b' − Σ w'_j m_j / s_j.
void unscale_weights(const Scaling& s, const std::vector<double>& w_std, double b_std, std::vector<double>& w,
                     double& b);

// Holds out round(fraction·n) rows chosen by a seeded Fisher-Yates shuffle (SplitMix64, the same
// on every platform); both parts keep the file's row order. fraction in [0, 1); 0 gives an empty
// validation set. Throws InputError naming `flag` when either part would be empty.
std::pair<HostDataset, HostDataset> split_validation(const HostDataset& ds, double fraction, uint64_t seed,
                                                     const std::string& flag = "--val-fraction");

// How many rows a split of `fraction` holds out of n: round(fraction·n). Checks what
// split_validation checks (fraction in [0, 1); both parts keep a row unless fraction is 0), so a
// caller can size the held-out rows before it draws them.
int64_t validation_count(int64_t n, double fraction, const std::string& flag = "--val-fraction");

// The rows split_validation holds out, ascending: validation_count(n, fraction) indices in [0, n)
// (none for fraction 0). The partial shuffle is kept sparse (only the positions it moves are
// stored), so the memory is a few words per held-out row, not per row of the data: a file
// streamed because it does not fit in memory can be split, and every rank of a job draws the
// whole job's split and keeps its shard's part.
std::vector<int64_t> validation_rows(int64_t n, double fraction, uint64_t seed,
                                     const std::string& flag = "--val-fraction");

// The held-out rows (validation_rows' ascending list) that fall in rows [begin, end) (a rank's
// shard), counted from begin, and how many training rows lie before begin.
struct HeldOutPart {
  std::vector<int64_t> rows;
  int64_t training_before = 0;
};
HeldOutPart held_out_part(const std::vector<int64_t>& held_out, int64_t begin, int64_t end);

// Rows [0, n) less the held-out ones (an ascending list of some of them): the training rows,
// ascending.
std::vector<int64_t> rows_kept(int64_t n, const std::vector<int64_t>& held_out);

// Rows [idx...] of ds (names copied).
HostDataset take_rows(const HostDataset& ds, const std::vector<int64_t>& idx);

}  // namespace linreg::data
