// Validation split and standardisation (see prep.hpp).
#include "host/data/prep.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/core/formulas.hpp"

namespace linreg::data {

__extension__ typedef unsigned __int128 u128;

Scaling fit_scaling(const HostDataset& ds, bool centre, const Communicator* comm) {
  return fit_scaling([&](const std::function<void(const HostDataset&)>& f) { f(ds); }, ds.d, centre, comm);
}

Scaling fit_scaling(const RowParts& parts, int64_t d, bool centre, const Communicator* comm) {
  const Communicator& ranks = comm ? *comm : single_process();
  int64_t local = 0;
  parts([&](const HostDataset& ds) { local += ds.n; });
  const int64_t n = sum_counts(ranks, local);
  if (n <= 0 || d <= 0) throw InputError("cannot standardise an empty dataset");
  Scaling s;
  s.mean.assign(static_cast<size_t>(d), 0.0);
  s.scale.assign(static_cast<size_t>(d), 0.0);
  // Two passes in double over the values as read: the mean, then the centred sum of squares (no
  // cancellation). Without centring the mean stays 0 and the scale is the root mean square. Each
  // pass adds the rows in order, part after part (a streamed file adds up as if read whole); in
  // a data-parallel job it ends with the ranks' sums added in rank order.
  if (centre) {
    parts([&](const HostDataset& ds) {
      for (int64_t i = 0; i < ds.n; ++i)
        for (int64_t j = 0; j < d; ++j) s.mean[j] += ds.x(i, j);
    });
    sum_in_rank_order(ranks, s.mean.data(), d);
    for (auto& m : s.mean) m /= static_cast<double>(n);
  }
  parts([&](const HostDataset& ds) {
    for (int64_t i = 0; i < ds.n; ++i) {
      for (int64_t j = 0; j < d; ++j) {
        const double c = ds.x(i, j) - s.mean[j];
        s.scale[j] += c * c;
      }
    }
  });
  sum_in_rank_order(ranks, s.scale.data(), d);
  for (int64_t j = 0; j < d; ++j) {
    const double sd = std::sqrt(s.scale[j] / static_cast<double>(n));
    // Constant (to float precision), or all zeros uncentred: keep scale 1 so the column stays
    // exact zeros (centred) or as it is.
    if (!(sd > 1e-7 * std::fabs(s.mean[j])) || sd == 0.0) {
      s.scale[j] = 1.0;
      s.constant.push_back(static_cast<size_t>(j));
    } else {
      s.scale[j] = sd;
    }
  }
  return s;
}

void apply_scaling(HostDataset& ds, const Scaling& s) {
  const int64_t n = ds.n, d = ds.d;
  if (static_cast<int64_t>(s.mean.size()) != d) throw InputError("scaling has a different number of features");
  std::vector<double> inv(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) inv[j] = 1.0 / s.scale[j];
  for (int64_t i = 0; i < n; ++i) {
    float* x = ds.X.data() + i * d;
    for (int64_t j = 0; j < d; ++j) x[j] = static_cast<float>((ds.x(i, j) - s.mean[j]) * inv[j]);
  }
  ds.X64 = {};  // the unscaled doubles no longer describe X
}

void unscale_weights(const Scaling& s, const std::vector<double>& w_std, double b_std, std::vector<double>& w,
                     double& b) {
  const size_t d = w_std.size();
  if (s.empty()) {
    w = w_std;
    b = b_std;
    return;
  }
  if (s.mean.size() != d) throw InputError("scaling has a different number of features");
  w.assign(d, 0.0);
  b = b_std;
  for (size_t j = 0; j < d; ++j) {
    w[j] = w_std[j] / s.scale[j];
    b -= w[j] * s.mean[j];
  }
}

HostDataset take_rows(const HostDataset& ds, const std::vector<int64_t>& idx) {
  HostDataset out;
  out.n = static_cast<int64_t>(idx.size());
  out.d = ds.d;
  out.feature_names = ds.feature_names;
  out.target_name = ds.target_name;
  out.X.resize(static_cast<size_t>(out.n * ds.d));
  const bool has_y = !ds.y.empty(), wide = !ds.X64.empty(), wide_y = !ds.y64.empty(), weighted = !ds.weights.empty();
  if (has_y) out.y.resize(static_cast<size_t>(out.n));
  if (wide) out.X64.resize(static_cast<size_t>(out.n * ds.d));
  if (wide_y) out.y64.resize(static_cast<size_t>(out.n));
  if (weighted) out.weights.resize(static_cast<size_t>(out.n));
  const size_t row = static_cast<size_t>(ds.d);
  for (int64_t k = 0; k < out.n; ++k) {
    const int64_t i = idx[static_cast<size_t>(k)];
    std::memcpy(out.X.data() + k * ds.d, ds.X.data() + i * ds.d, row * sizeof(float));
    if (wide) std::memcpy(out.X64.data() + k * ds.d, ds.X64.data() + i * ds.d, row * sizeof(double));
    if (has_y) out.y[k] = ds.y[i];
    if (wide_y) out.y64[k] = ds.y64[i];
    if (weighted) out.weights[k] = ds.weights[i];
  }
  return out;
}

std::pair<HostDataset, HostDataset> split_validation(const HostDataset& ds, double fraction, uint64_t seed,
                                                     const std::string& flag) {
  if (fraction == 0.0) return {ds, HostDataset{}};
  const std::vector<int64_t> va = validation_rows(ds.n, fraction, seed, flag);  // checks the fraction
  return {take_rows(ds, rows_kept(ds.n, va)), take_rows(ds, va)};
}

HeldOutPart held_out_part(const std::vector<int64_t>& held_out, int64_t begin, int64_t end) {
  const auto first = std::lower_bound(held_out.begin(), held_out.end(), begin);
  const auto last = std::lower_bound(first, held_out.end(), end);
  HeldOutPart part;
  part.rows.assign(first, last);
  for (int64_t& r : part.rows) r -= begin;
  part.training_before = begin - (first - held_out.begin());
  return part;
}

std::vector<int64_t> rows_kept(int64_t n, const std::vector<int64_t>& held_out) {
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(n) - std::min(held_out.size(), static_cast<size_t>(n)));
  auto next = held_out.begin();
  for (int64_t i = 0; i < n; ++i) {
    if (next != held_out.end() && *next == i) ++next;
    else kept.push_back(i);
  }
  return kept;
}

int64_t validation_count(int64_t n, double fraction, const std::string& flag) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw InputError(flag + ": must be at least 0 and below 1 (got " + std::to_string(fraction) + ")");
  if (fraction == 0.0) return 0;
  const int64_t n_val = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (n_val < 1 || n - n_val < 1)
    throw InputError(flag + ": " + std::to_string(fraction) + " of " + std::to_string(n) + " rows leaves " +
                     (n_val < 1 ? "no validation rows" : "no training rows"));
  return n_val;
}

std::vector<int64_t> validation_rows(int64_t n, double fraction, uint64_t seed, const std::string& flag) {
  const int64_t n_val = validation_count(n, fraction, flag);
  // A seeded partial Fisher-Yates shuffle of the order 0..n−1: step i swaps position i with a
  // position drawn from [i, n); the first n_val positions then hold the held-out rows. Positions
  // below n_val are all visited, so they are a plain array; a position past them holds its own
  // index until a step swaps it, so only the (at most n_val) positions moved are kept, in a map.
  std::vector<int64_t> head(static_cast<size_t>(n_val));
  for (int64_t i = 0; i < n_val; ++i) head[static_cast<size_t>(i)] = i;
  std::unordered_map<int64_t, int64_t> tail;
  tail.reserve(static_cast<size_t>(n_val));
  uint64_t state = splitmix64(seed ^ 0x56414c4944ull);  // "VALID"
  for (int64_t i = 0; i < n_val; ++i) {
    state = splitmix64(state);
    const uint64_t span = static_cast<uint64_t>(n - i);
    const int64_t j = i + static_cast<int64_t>((static_cast<u128>(state) * span) >> 64);  // Lemire's range map
    if (j < n_val) {
      std::swap(head[static_cast<size_t>(i)], head[static_cast<size_t>(j)]);
      continue;
    }
    std::swap(head[static_cast<size_t>(i)], tail.try_emplace(j, j).first->second);
  }
  std::sort(head.begin(), head.end());
  return head;
}

}  // namespace linreg::data
