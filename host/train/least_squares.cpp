// Exact least squares through LAPACK (see least_squares.hpp). The data is read in row chunks into
// a column-major buffer of the scaled design [x̃, 1̃, y] (one buffer, reused), so the same code
// serves data of any height: the Gram matrix is accumulated chunk by chunk (dsyrk), and the QR
// factor is carried from chunk to chunk (each chunk factored below the previous R).
// One subject past 500 lines: the three factorisations share the scaled design, its rank test
// and the mapping back to original units.
#include "host/train/least_squares.hpp"

#include <algorithm>
#include <thread>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"
#include "host/train/gpu_backend.hpp"
#include "host/train/lapack.hpp"
#include "host/train/scaled_design.hpp"

namespace linreg {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The column-scaled design: the intercept column c_int first (when fitted; first, as R orders
// it, so that a dependency is blamed on the later feature column), then x̃_ij = (x_ij − s_j)·c_j,
// then y − s_y; every entry of row i multiplied by √v_i. With an intercept, s is the mean of the
// first rows (a shift that removes large offsets before any product; see prepare); without,
// s = 0. c makes each column
// unit-norm. Design column jj holds feature jj − o, o = 1 with an intercept, else 0.
struct Design {
  // The rows being passed over: all of this rank's rows in memory, or, for rows read a part at a
  // time (parts set), the current part. for_parts() moves them along; ds, n and first_row are
  // mutable for that and only that: every pass runs its body once per part, with its sums
  // carried from part to part, so a pass over parts computes what one pass over the whole would.
  mutable const HostDataset* ds = nullptr;
  const LeastSquaresParts* parts = nullptr;
  int64_t shard_first = 0;      // this rank's first row among the job's
  const std::vector<double>* v = nullptr;
  bool intercept = true;
  mutable int64_t n = 0;        // rows of ds
  int64_t d = 0, k = 0;         // k = d + intercept: the coefficients
  // A data-parallel job: every pass over the rows ends with a sum across ranks (in rank order,
  // the same on every rank). This shard holds rows [first_row, first_row + n) of total_rows.
  const Communicator* comm = &single_process();
  mutable int64_t first_row = 0;  // of ds among the job's rows
  int64_t total_rows = 0;
  bool wide = false;            // the values were read in double (X64), on every rank alike
  std::vector<double> shift;    // (d)
  double shift_y = 0;
  std::vector<double> scale;    // (k) per design column: c_int (with an intercept), then c_j
  int64_t observations = 0;
  double weight_sum = 0, weighted_y = 0;  // Σ v_i, Σ v_i (y_i − shift_y)
  int64_t o = 0;                // design column of feature 0

  bool is_intercept(int64_t jj) const { return intercept && jj == 0; }

  // Runs f() once with ds the whole shard, or once per part in row order.
  template <typename F>
  void for_parts(const F& f) const {
    if (!parts) {
      f();
      return;
    }
    const HostDataset* whole = ds;
    const int64_t rows = n;
    parts->each([&](const HostDataset& part, int64_t first) {
      ds = &part;
      n = part.n;
      first_row = shard_first + first;
      f();
    });
    ds = whole;  // the names (the parts are gone)
    n = rows;
    first_row = shard_first;
  }

  double weight(int64_t i) const { return v ? (*v)[static_cast<size_t>(i)] : 1.0; }

  // Row i of the scaled design, columns 0..k, to out[col · stride] (the cells of scaled_design.hpp).
  template <typename T>
  void row(const T* x, double y, double v, double* out, int64_t stride) const {
    const double sv = std::sqrt(v);
    if (intercept) out[0] = design_intercept_cell(scale[0], sv);
    for (int64_t j = 0; j < d; ++j)
      out[(j + o) * stride] = design_feature_cell(static_cast<double>(x[j]), shift[j], scale[j + o], sv);
    out[k * stride] = design_label_cell(y, shift_y, sv);
  }
  // The same design for the GPU module, which builds it on the device.
  ScaledDesignView view() const {
    ScaledDesignView w;
    if (!ds->X64.empty()) w.X64 = ds->X64.data();
    else w.X32 = ds->X.data();
    if (!ds->y64.empty()) w.y64 = ds->y64.data();
    else w.y32 = ds->y.data();
    w.weights = v ? v->data() : nullptr;
    w.n = n;
    w.d = d;
    w.intercept = intercept;
    w.shift = shift.data();
    w.shift_y = shift_y;
    w.scale = scale.data();
    return w;
  }
  template <typename F>
  void each_row(int64_t i0, int64_t m, const F& f) const {
    for (int64_t r = 0; r < m; ++r) {
      const int64_t i = i0 + r;
      if (!ds->X64.empty()) f(r, ds->X64.data() + i * d, ds->label(i), weight(i));
      else f(r, ds->X.data() + i * d, ds->label(i), weight(i));
    }
  }
  // Rows [i0, i0 + m) into A, column-major with leading dimension lda, from row r0 (for QR).
  void fill(int64_t i0, int64_t m, double* A, int64_t lda, int64_t r0) const {
    each_row(i0, m, [&](int64_t r, const auto* x, double y, double v) { row(x, y, v, A + r0 + r, lda); });
  }
  // Rows [i0, i0 + m) into A row after row (each row's k + 1 values contiguous: the Gram matrix
  // is then A·Aᵀ of a column-major (k+1)×m matrix, and the copy streams).
  void fill_rows(int64_t i0, int64_t m, double* A) const {
    each_row(i0, m, [&](int64_t r, const auto* x, double y, double v) { row(x, y, v, A + r * (k + 1), 1); });
  }
};

// Rows [0, n) in fixed blocks of kBlockRows: f(block, first row, end row) for every block, on up
// to hardware_concurrency threads (blocks dealt round-robin; f must not throw). Callers keep one
// result per block and combine them in block order, so that sums do not depend on the number of
// threads. Used for the passes over the data besides the factorisation itself (the checks and
// column norms, the sums of squares), which would otherwise add single-threaded passes to the
// multi-threaded BLAS one.
constexpr int64_t kBlockRows = 16384;
int64_t block_count(int64_t n) { return (n + kBlockRows - 1) / kBlockRows; }
template <typename F>
void for_blocks(int64_t n, int64_t cells_per_row, const F& f) {
  const int64_t blocks = block_count(n);
  const int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  const int threads = static_cast<int>(std::clamp<int64_t>(n * std::max<int64_t>(cells_per_row, 1) / 65536, 1,
                                                          std::min(hw, std::max<int64_t>(blocks, 1))));
  const auto run = [&](int t) {
    for (int64_t b = t; b < blocks; b += threads) f(b, b * kBlockRows, std::min(n, (b + 1) * kBlockRows));
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& th : pool) th.join();
}

std::string feature_name(const HostDataset& ds, int64_t j) {
  if (j < static_cast<int64_t>(ds.feature_names.size()) && !ds.feature_names[j].empty())
    return "column '" + ds.feature_names[j] + "'";
  return "column x" + std::to_string(j);
}

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

// Checks the data and the options, and fixes the shift, the scales and the observation count.
// In a data-parallel job each check runs on the rank's own rows inside `together`, so that a bad
// value anywhere ends every rank with the same message (naming the row of the whole data).
// ds: this rank's rows, or with parts (rows read a part at a time) a dataset of the names only.
Design prepare(const HostDataset& ds, const LeastSquaresParts* parts, const LeastSquaresOptions& opt) {
  Design z;
  z.ds = &ds;
  z.parts = parts;
  z.v = opt.weights;
  z.intercept = opt.intercept;
  const int64_t local_rows = parts ? parts->rows : ds.n;
  z.n = local_rows;
  z.d = parts ? parts->features : ds.d;
  z.k = z.d + (opt.intercept ? 1 : 0);
  z.o = opt.intercept ? 1 : 0;
  if (opt.comm) z.comm = opt.comm;
  z.first_row = z.shard_first = opt.first_row;
  if (parts && opt.weights) throw std::logic_error("least_squares: rows in parts take no weights");
  const Communicator& comm = *z.comm;
  const std::vector<int64_t> counts = gather_counts(comm, local_rows);
  z.total_rows = 0;
  int owner = -1;  // the first rank with rows: it holds row 0 of the whole data
  for (size_t r = 0; r < counts.size(); ++r) {
    if (owner < 0 && counts[r] > 0) owner = static_cast<int>(r);
    z.total_rows += counts[r];
  }
  if (z.total_rows <= 0 || z.d <= 0) throw InputError("least squares needs at least one row and one feature");
  if (!(opt.ridge >= 0) || !std::isfinite(opt.ridge))
    throw InputError("the ridge penalty must be a finite number >= 0 (got " + num(opt.ridge) + ")");
  char wide = parts ? parts->wide : !ds.X64.empty();
  comm.broadcast(&wide, 1, owner);
  z.wide = wide;
  double sums[2] = {0, 0};  // the weights' sum, the observations (rows of non-zero weight)
  together(comm, [&] {
    if (!opt.weights) {  // every weight 1 (the loop below would add the same integers)
      sums[0] = sums[1] = static_cast<double>(local_rows);
      return;
    }
    if (static_cast<int64_t>(opt.weights->size()) != ds.n) throw InputError("there must be one weight per row");
    for (int64_t i = 0; i < ds.n; ++i) {
      const double w = z.weight(i);
      if (!(w >= 0) || !std::isfinite(w))
        throw InputError("row " + std::to_string(z.first_row + i + 1) +
                         ": the weight must be a finite number >= 0 (got " + num(w) + ")");
      sums[0] += w;
      sums[1] += w > 0;
    }
  });
  sum_in_rank_order(comm, sums, 2);
  const double weight_sum = sums[0];
  z.observations = static_cast<int64_t>(sums[1]);
  if (!(weight_sum > 0)) throw InputError("every weight is zero: there is nothing to fit");
  if (opt.ridge == 0 && z.observations <= z.k)
    throw InputError(std::to_string(z.observations) + " observations for " + std::to_string(z.k) +
                     " coefficients: least squares needs more rows than coefficients");

  z.shift.assign(static_cast<size_t>(z.d), 0.0);
  if (opt.intercept) {
    // The shift: the mean of the first rows (up to kShiftRows), written as the first row plus the
    // mean difference from it, so that a constant column shifts to exactly 0. Any shift removes
    // large offsets before a product is formed; a mean also leaves the shifted columns nearly
    // orthogonal to the intercept column. The first row alone would not: its column j is
    // correlated with the intercept by about x_0j/σ_j, which takes independent normal columns
    // from condition number ~1 to ~160 at d = 256, and then to refinement passes.
    constexpr int64_t kShiftRows = 4096;
    const int64_t m = std::min(z.total_rows, kShiftRows);
    std::vector<double> first(static_cast<size_t>(z.d + 1), 0.0), diff(static_cast<size_t>(z.d + 1), 0.0);
    // This shard's rows among the first m of the whole data (read alone when in parts).
    const int64_t mine = std::clamp<int64_t>(m - z.first_row, 0, local_rows);
    HostDataset head_rows;
    together(comm, [&] {
      if (parts && (mine > 0 || comm.rank() == owner)) head_rows = parts->head(std::max<int64_t>(mine, 1));
    });
    const HostDataset& head = parts ? head_rows : ds;
    if (comm.rank() == owner) {
      for (int64_t j = 0; j < z.d; ++j) first[j] = head.x(0, j);
      first[z.d] = head.label(0);
    }
    comm.broadcast(first.data(), (z.d + 1) * static_cast<int64_t>(sizeof(double)), owner);
    for (int64_t i = 0; i < mine; ++i) {
      for (int64_t j = 0; j < z.d; ++j) diff[j] += head.x(i, j) - first[j];
      diff[z.d] += head.label(i) - first[z.d];
    }
    sum_in_rank_order(comm, diff.data(), z.d + 1);
    for (int64_t j = 0; j < z.d; ++j) z.shift[j] = first[j] + diff[j] / static_cast<double>(m);
    z.shift_y = first[z.d] + diff[z.d] / static_cast<double>(m);
  }
  // Column norms (after the shift) and the finite check, in blocks on several threads; the first
  // non-finite value is named (by its row in the whole data).
  // Σ v_i (y_i − m_y) rides along (entry d): the mean of y for the total sum of squares.
  const int64_t d = z.d;
  std::vector<double> sumsq(static_cast<size_t>(d + 1), 0.0);
  together(comm, [&] {
    z.for_parts([&] {
      const int64_t blocks = block_count(z.n);
      std::vector<double> block_sumsq(static_cast<size_t>(blocks * (d + 1)), 0.0);
      std::vector<char> block_finite(static_cast<size_t>(blocks), 1);
      for_blocks(z.n, d, [&](int64_t blk, int64_t lo, int64_t hi) {
        double* sq = block_sumsq.data() + blk * (d + 1);
        bool ok = true;
        z.each_row(lo, hi - lo, [&](int64_t, const auto* x, double y, double w) {
          double bad = std::isfinite(y) ? 0.0 : 1.0;
          sq[d] += w * (y - z.shift_y);
          for (int64_t j = 0; j < d; ++j) {
            const double t = static_cast<double>(x[j]) - z.shift[j];
            sq[j] += w * t * t;
            bad += t - t;  // NaN for a non-finite x: checked once per row, named below
          }
          if (bad != 0 || bad != bad) ok = false;
        });
        block_finite[static_cast<size_t>(blk)] = ok;
      });
      bool finite = true;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        for (int64_t j = 0; j <= d; ++j) sumsq[j] += block_sumsq[static_cast<size_t>(blk * (d + 1) + j)];
        finite = finite && block_finite[static_cast<size_t>(blk)];
      }
      if (!finite)
        for (int64_t i = 0; i < z.n; ++i) {
          const std::string row = std::to_string(z.first_row + i + 1);
          for (int64_t j = 0; j < d; ++j)
            if (!std::isfinite(z.ds->x(i, j)))
              throw InputError(feature_name(*z.ds, j) + ", row " + row + ": not a finite number");
          if (!std::isfinite(z.ds->label(i))) throw InputError("the target, row " + row + ": not a finite number");
        }
    });
  });
  sum_in_rank_order(comm, sumsq.data(), d + 1);
  z.weighted_y = sumsq[d];
  z.weight_sum = weight_sum;
  z.scale.resize(static_cast<size_t>(z.k));
  for (int64_t j = 0; j < z.d; ++j) z.scale[j + z.o] = sumsq[j] > 0 ? 1.0 / std::sqrt(sumsq[j]) : 1.0;
  if (opt.intercept) z.scale[0] = 1.0 / std::sqrt(weight_sum);
  return z;
}

int64_t chunk_rows(const Design& z) { return std::min<int64_t>(z.n, std::max<int64_t>(4096, 8 * (z.k + 1))); }

void lapack_check(int info, const char* what) {
  if (info < 0) throw std::logic_error(std::string(what) + ": argument " + std::to_string(-info) + " is invalid");
}

// The (k+1)² Gram matrix of [x̃, 1̃, y] (upper triangle, column-major), by dsyrk per chunk, or
// by the GPU module (cublasDsyrk per chunk of the design built on the device; rows read in
// parts: each part's matrix, added in part order).
std::vector<double> gram(const Design& z, const GpuBackend* gpu) {
  const int64_t c = z.k + 1;
  std::vector<double> G(static_cast<size_t>(c * c), 0.0);
  // Every rank comes to this exchange, those without rows too: a part that cannot be read, or a
  // device that fails, ends every rank with its error.
  together(*z.comm, [&] {
    if (z.n == 0) return;
    if (gpu) {
      std::vector<double> part(G.size());
      z.for_parts([&] {
        if (z.n == 0) return;
        gpu->design_gram(z.view(), part.data());
        for (size_t i = 0; i < G.size(); ++i) G[i] += part[i];
      });
      return;
    }
    const int64_t m = chunk_rows(z);
    std::vector<double> A(static_cast<size_t>(m * c));
    z.for_parts([&] {
      for (int64_t i0 = 0; i0 < z.n; i0 += m) {
        const int64_t rows = std::min(m, z.n - i0);
        z.fill_rows(i0, rows, A.data());
        lapack::syrk_upper_n(static_cast<int>(c), static_cast<int>(rows), 1.0, A.data(), static_cast<int>(c), 1.0,
                             G.data(), static_cast<int>(c));
      }
    });
  });
  // The whole data's Gram matrix: the shards' added in rank order.
  sum_in_rank_order(*z.comm, G.data(), c * c);
  return G;
}

// The R factor of [x̃, 1̃, y] ((k+1)², upper triangle, column-major), carried through the chunks:
// each chunk is stacked below the R so far and factored again (dgeqrf); or the GPU module's R
// (cuSOLVER Dgeqrf the same way, chunks built on the device; rows read in parts: each part's R
// stacked below the R so far, as the chunks are). Ridge rows √α·c_j come last, here.
std::vector<double> qr_factor(const Design& z, double ridge, const GpuBackend* gpu) {
  const int64_t c = z.k + 1, m = gpu ? 0 : chunk_rows(z);
  std::vector<double> R(static_cast<size_t>(c * c), 0.0), A(static_cast<size_t>((c + std::max({m, z.d, c})) * c)),
      tau(static_cast<size_t>(c));
  int64_t have = 0;  // rows of R carried (≤ c)
  auto factor = [&](int64_t rows, const auto& fill_rows) {
    const int64_t lda = have + rows;
    std::fill(A.begin(), A.begin() + lda * c, 0.0);
    for (int64_t col = 0; col < c; ++col)
      for (int64_t r = 0; r < have && r <= col; ++r) A[col * lda + r] = R[col * c + r];
    fill_rows(A.data(), lda, have);
    lapack_check(lapack::geqrf(static_cast<int>(lda), static_cast<int>(c), A.data(),
                                static_cast<int>(lda), tau.data()),
                 "dgeqrf");
    have = std::min(lda, c);
    std::fill(R.begin(), R.end(), 0.0);
    for (int64_t col = 0; col < c; ++col)
      for (int64_t r = 0; r < have && r <= col; ++r) R[col * c + r] = A[col * lda + r];
  };
  together(*z.comm, [&] {  // every rank, as for the Gram matrix
    if (gpu) {
      std::vector<double> part(R.size());
      z.for_parts([&] {
        if (z.n == 0) return;
        if (have == 0) {  // the first part's R is the R so far (rows past the data's are zero)
          gpu->design_qr(z.view(), R.data());
          have = c;
          return;
        }
        gpu->design_qr(z.view(), part.data());
        factor(c, [&](double* a, int64_t lda, int64_t r0) {
          for (int64_t col = 0; col < c; ++col)
            for (int64_t r = 0; r <= col; ++r) a[col * lda + r0 + r] = part[static_cast<size_t>(col * c + r)];
        });
      });
      return;
    }
    z.for_parts([&] {
      for (int64_t i0 = 0; i0 < z.n; i0 += m) {
        const int64_t rows = std::min(m, z.n - i0);
        factor(rows, [&](double* a, int64_t lda, int64_t r0) { z.fill(i0, rows, a, lda, r0); });
      }
    });
  });
  // The whole data's R: every shard's R, stacked in rank order on every rank and factored the
  // same way (the same tall-skinny QR, one level up).
  if (z.comm->size() > 1) {
    std::vector<double> all(static_cast<size_t>(z.comm->size() * c * c));
    z.comm->allgather(R.data(), c * c * static_cast<int64_t>(sizeof(double)), all.data());
    std::fill(R.begin(), R.end(), 0.0);
    have = 0;
    for (int r = 0; r < z.comm->size(); ++r) {
      const double* Rr = all.data() + static_cast<int64_t>(r) * c * c;
      factor(c, [&](double* a, int64_t lda, int64_t r0) {
        for (int64_t col = 0; col < c; ++col)
          for (int64_t row = 0; row <= col; ++row) a[col * lda + r0 + row] = Rr[col * c + row];
      });
    }
  }
  if (ridge > 0)
    factor(z.d, [&](double* a, int64_t lda, int64_t r0) {
      for (int64_t j = 0; j < z.d; ++j) a[(j + z.o) * lda + r0 + j] = std::sqrt(ridge) * z.scale[j + z.o];
    });
  return R;
}

// Singular values of the k×k upper-left block of a column-major matrix with leading dimension ld.
std::vector<double> singular_values(const std::vector<double>& M, int64_t k, int64_t ld, bool symmetric) {
  std::vector<double> a(static_cast<size_t>(k * k)), s(static_cast<size_t>(k));
  for (int64_t col = 0; col < k; ++col)
    for (int64_t r = 0; r < k; ++r) {
      const bool upper = r <= col;
      a[col * k + r] = upper ? M[col * ld + r] : (symmetric ? M[r * ld + col] : 0.0);
    }
  if (symmetric) {  // eigenvalues of the Gram matrix: σ² of the design
    lapack_check(lapack::syevd('N', 'U', static_cast<int>(k), a.data(),
                                static_cast<int>(k), s.data()),
                 "dsyevd");
    for (double& x : s) x = std::sqrt(std::max(x, 0.0));
  } else {
    lapack_check(lapack::gesdd('N', static_cast<int>(k), static_cast<int>(k), a.data(),
                                static_cast<int>(k), s.data(), nullptr, 1, nullptr, 1),
                 "dgesdd");
  }
  return s;
}

double condition_of(const std::vector<double>& s) {
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  return *lo > 0 ? *hi / *lo : kInf;
}

// The relative size below which a (unit-norm) column's part outside the span of the earlier
// columns counts as zero. Data held in double: numpy lstsq's eps · max(n, k), at most 1e-9.
// Data that came as float32 (synthetic, or float copies only) is itself rounded at 6e-8, so a
// column that is a combination of others up to float rounding leaves a residual near 1e-7:
// 1e-6 is the tolerance there.
double rank_tolerance(const Design& z) {
  if (!z.wide) return 1e-6;
  return std::min(1e-9, kEps * static_cast<double>(std::max(z.total_rows, z.k)));
}

// Columns whose R diagonal is negligible (see rank_tolerance), relative to the largest.
std::vector<int64_t> dependent_columns(const std::vector<double>& R, int64_t k, int64_t ld, double rel_tol) {
  double top = 0;
  for (int64_t j = 0; j < k; ++j) top = std::max(top, std::fabs(R[j * ld + j]));
  const double tol = rel_tol * top;
  std::vector<int64_t> out;
  for (int64_t j = 0; j < k; ++j)
    if (!(std::fabs(R[j * ld + j]) > tol)) out.push_back(j);
  return out;
}

// The message for a design whose column j depends on the earlier ones. G: the scaled Gram matrix
// (unit diagonal for non-constant columns), so |G_ij| ≈ 1 names a duplicate (up to scale).
[[noreturn]] void throw_dependent(const Design& z, int64_t jj, const std::vector<double>& RtR, int64_t ld) {
  const HostDataset& ds = *z.ds;
  std::string what;
  if (z.is_intercept(jj)) {
    what = "the intercept cannot be fitted";  // only a zero-weight design gets here
  } else if (RtR[jj * ld + jj] == 0.0) {
    what = feature_name(ds, jj - z.o) + (z.intercept ? " is constant, so it is collinear with the intercept and its "
                                                       "weight is not determined"
                                                     : " is all zeros, so its weight is not determined");
  } else {
    for (int64_t i = z.o; i < jj && what.empty(); ++i)
      if (std::fabs(std::fabs(RtR[jj * ld + i]) - 1.0) < 1e-9)
        what = feature_name(ds, jj - z.o) + " duplicates " + feature_name(ds, i - z.o) +
               (z.intercept ? " (up to scale and offset)" : " (up to scale)");
    if (what.empty()) what = feature_name(ds, jj - z.o) + " is a linear combination of the columns before it";
  }
  throw InputError(what + ": the least-squares weights are not unique; drop the column, or use the SVD solver for "
                          "the minimum-norm solution");
}

// RᵀR (k×k, column-major) from the upper triangle of R (leading dimension ld).
std::vector<double> gram_of_r(const std::vector<double>& R, int64_t k, int64_t ld) {
  std::vector<double> G(static_cast<size_t>(k * k), 0.0);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b <= a; ++b) {
      double s = 0;
      for (int64_t r = 0; r <= b; ++r) s += R[a * ld + r] * R[b * ld + r];
      G[a * k + b] = G[b * k + a] = s;
    }
  return G;
}

// θ (scaled units) and the scaled covariance C = (X̃ᵀX̃)⁻¹ (or its pseudo-inverse), k×k col-major.
struct Solved {
  std::vector<double> theta, C;
  int64_t rank = 0;
  // Full rank: an upper-triangular k×k factor U (column-major) with UᵀU ≈ X̃ᵀVX̃ (Cholesky's U or
  // QR's R), for the refinement below; empty otherwise.
  std::vector<double> factor;
};

Solved solve_cholesky(const Design& z, const std::vector<double>& G, double ridge, bool want_cov) {
  const int64_t k = z.k, c = k + 1;
  std::vector<double> U(static_cast<size_t>(k * k));
  for (int64_t col = 0; col < k; ++col)
    for (int64_t r = 0; r <= col; ++r) U[col * k + r] = G[col * c + r];
  for (int64_t jj = z.o; jj < k; ++jj) U[jj * k + jj] += ridge * z.scale[jj] * z.scale[jj];
  const int info = lapack::potrf('U', static_cast<int>(k), U.data(), static_cast<int>(k));
  lapack_check(info, "dpotrf");
  // A pivot below the rank tolerance is a dependent column too (dpotrf only stops at ≤ 0).
  // The Gram matrix squares the design: a residual below ~√eps (1.5e-8) is lost in it, so the
  // normal equations cannot tell such a column from a dependent one; 1e-7 is their floor.
  std::vector<int64_t> bad = dependent_columns(U, k, k, std::max(rank_tolerance(z), 1e-7));
  if (info > 0) bad.insert(bad.begin(), info - 1);
  if (!bad.empty()) {
    std::vector<double> Gk(static_cast<size_t>(k * k));
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b) Gk[a * k + b] = a <= b ? G[b * c + a] : G[a * c + b];
    throw_dependent(z, *std::min_element(bad.begin(), bad.end()), Gk, k);
  }
  Solved s;
  s.theta.assign(G.begin() + k * c, G.begin() + k * c + k);  // X̃ᵀy: column k of G
  lapack_check(lapack::potrs('U', static_cast<int>(k), 1, U.data(), static_cast<int>(k),
                              s.theta.data(), static_cast<int>(k)),
               "dpotrs");
  s.rank = k;
  s.factor = U;
  if (want_cov) {
    lapack_check(lapack::potri('U', static_cast<int>(k), U.data(), static_cast<int>(k)),
                 "dpotri");
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < a; ++b) U[b * k + a] = U[a * k + b];  // mirror the upper triangle
    s.C = std::move(U);
  }
  return s;
}

Solved solve_qr(const Design& z, const std::vector<double>& R, bool want_cov) {
  const int64_t k = z.k, c = k + 1;
  const std::vector<int64_t> bad = dependent_columns(R, k, c, rank_tolerance(z));
  if (!bad.empty()) throw_dependent(z, bad.front(), gram_of_r(R, k, c), k);
  std::vector<double> Rk(static_cast<size_t>(k * k));
  for (int64_t col = 0; col < k; ++col)
    for (int64_t r = 0; r <= col; ++r) Rk[col * k + r] = R[col * c + r];
  Solved s;
  s.theta.assign(R.begin() + k * c, R.begin() + k * c + k);  // Qᵀy
  lapack_check(lapack::trtrs('U', 'N', 'N', static_cast<int>(k), 1, Rk.data(),
                              static_cast<int>(k), s.theta.data(), static_cast<int>(k)),
               "dtrtrs");
  s.rank = k;
  s.factor = Rk;
  if (want_cov) {
    lapack_check(lapack::potri('U', static_cast<int>(k), Rk.data(), static_cast<int>(k)),
                 "dpotri");  // (RᵀR)⁻¹ from the factor R
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < a; ++b) Rk[b * k + a] = Rk[a * k + b];
    s.C = std::move(Rk);
  }
  return s;
}

// R's treatment of a rank-deficient design: the dependent columns are dropped (their weights are
// 0, "not defined because of singularities") and the rest solved by QR: the columns `keep` of
// [R | Qᵀy] are factored again (they span the same least-squares problem as the kept columns of
// the data), then solved and their covariance formed; dropped rows and columns stay 0.
Solved solve_reduced(const Design& z, const std::vector<double>& R, const std::vector<int64_t>& keep, bool want_cov) {
  const int64_t k = z.k, c = k + 1, kr = static_cast<int64_t>(keep.size()), cr = kr + 1;
  std::vector<double> A(static_cast<size_t>(c * cr), 0.0), tau(static_cast<size_t>(cr));
  for (int64_t col = 0; col < cr; ++col) {
    const int64_t src = col < kr ? keep[col] : k;
    for (int64_t r = 0; r < c; ++r) A[col * c + r] = R[src * c + r];
  }
  lapack_check(lapack::geqrf(static_cast<int>(c), static_cast<int>(cr), A.data(),
                              static_cast<int>(c), tau.data()),
               "dgeqrf");
  std::vector<double> Rr(static_cast<size_t>(kr * kr), 0.0), q(static_cast<size_t>(kr));
  for (int64_t col = 0; col < kr; ++col)
    for (int64_t r = 0; r <= col; ++r) Rr[col * kr + r] = A[col * c + r];
  for (int64_t r = 0; r < kr; ++r) q[r] = A[kr * c + r];
  lapack_check(lapack::trtrs('U', 'N', 'N', static_cast<int>(kr), 1, Rr.data(),
                              static_cast<int>(kr), q.data(), static_cast<int>(kr)),
               "dtrtrs");
  Solved s;
  s.rank = kr;
  s.theta.assign(static_cast<size_t>(k), 0.0);
  for (int64_t a = 0; a < kr; ++a) s.theta[keep[a]] = q[a];
  if (want_cov) {
    lapack_check(lapack::potri('U', static_cast<int>(kr), Rr.data(), static_cast<int>(kr)),
                 "dpotri");
    s.C.assign(static_cast<size_t>(k * k), 0.0);
    for (int64_t a = 0; a < kr; ++a)
      for (int64_t b = 0; b < kr; ++b) s.C[keep[b] * k + keep[a]] = a <= b ? Rr[b * kr + a] : Rr[a * kr + b];
  }
  return s;
}

// The minimum-norm solution: among all least-squares solutions the one with the smallest ‖w‖ in
// ORIGINAL units (the intercept not counted). The SVD of the scaled R gives one solution θ_p and
// the null space N; w = C·θ with C = diag(c_j), so the smallest ‖C(θ_p + N z)‖ is a small
// least-squares problem in z, solved by its normal equations (N has as many columns as the
// design has dependencies, usually one or two).
Solved solve_svd(const Design& z, const std::vector<double>& R, std::vector<double>& sv) {
  const int64_t k = z.k, c = k + 1;
  std::vector<double> a(static_cast<size_t>(k * k), 0.0), U(static_cast<size_t>(k * k)), VT(static_cast<size_t>(k * k));
  sv.assign(static_cast<size_t>(k), 0.0);
  for (int64_t col = 0; col < k; ++col)
    for (int64_t r = 0; r <= col; ++r) a[col * k + r] = R[col * c + r];
  lapack_check(lapack::gesdd('A', static_cast<int>(k), static_cast<int>(k), a.data(),
                              static_cast<int>(k), sv.data(), U.data(), static_cast<int>(k), VT.data(),
                              static_cast<int>(k)),
               "dgesdd");
  const double tol = rank_tolerance(z) * sv[0];
  Solved s;
  s.theta.assign(static_cast<size_t>(k), 0.0);
  s.C.assign(static_cast<size_t>(k * k), 0.0);
  const double* q = R.data() + k * c;
  for (int64_t i = 0; i < k; ++i) {
    if (!(sv[i] > tol)) continue;
    ++s.rank;
    double uq = 0;
    for (int64_t r = 0; r < k; ++r) uq += U[i * k + r] * q[r];
    for (int64_t j = 0; j < k; ++j) s.theta[j] += uq / sv[i] * VT[j * k + i];
    const double inv2 = 1.0 / (sv[i] * sv[i]);
    for (int64_t a2 = 0; a2 < k; ++a2)
      for (int64_t b2 = 0; b2 < k; ++b2) s.C[b2 * k + a2] += inv2 * VT[a2 * k + i] * VT[b2 * k + i];
  }
  std::vector<int64_t> null;  // indices i of right singular vectors with σ_i ≤ tol
  for (int64_t i = 0; i < k; ++i)
    if (!(sv[i] > tol)) null.push_back(i);
  const int64_t m = static_cast<int64_t>(null.size());
  if (m > 0) {
    auto D = [&](int64_t jj) { return z.is_intercept(jj) ? 0.0 : z.scale[jj] * z.scale[jj]; };
    auto N = [&](int64_t j, int64_t a) { return VT[j * k + null[a]]; };  // component j of null vector a
    std::vector<double> M(static_cast<size_t>(m * m), 0.0), rhs(static_cast<size_t>(m), 0.0);
    for (int64_t a = 0; a < m; ++a) {
      for (int64_t b = 0; b < m; ++b)
        for (int64_t j = 0; j < k; ++j) M[b * m + a] += N(j, a) * D(j) * N(j, b);
      for (int64_t j = 0; j < k; ++j) rhs[a] -= N(j, a) * D(j) * s.theta[j];
    }
    // Only the intercept in the null space (no feature involved): nothing to minimise.
    if (lapack::posv('U', static_cast<int>(m), 1, M.data(), static_cast<int>(m),
                      rhs.data(), static_cast<int>(m)) == 0)
      for (int64_t a = 0; a < m; ++a)
        for (int64_t j = 0; j < k; ++j) s.theta[j] += N(j, a) * rhs[a];
  }
  return s;
}

// Sums in twice the working precision (Ogita, Rump and Oishi's Dot2): each product is split
// exactly by an FMA (TwoProd), each sum by TwoSum, and the errors are summed apart, so that a
// sum of products is as accurate as if computed in 106-bit arithmetic and then rounded. The
// refinement below needs this for two sums that cancel to nearly nothing at the solution: the
// residual y − b − x·w of each row and the gradient Σ v_i r_i x_i. Written here because it is
// these few lines; no library is needed for them.
struct TwiceDouble {
  double hi = 0, lo = 0;  // the value is hi + lo; lo collects the rounding errors
  void add(double t) {
    const double sum = hi + t, bb = sum - hi;
    lo += (hi - (sum - bb)) + (t - bb);
    hi = sum;
  }
  void add_product(double a, double b) {  // += a·b
    const double p = a * b;
    lo += std::fma(a, b, -p);
    add(p);
  }
  // += a·(t.hi + t.lo): t.lo's product is far below the result's last bit, plain is enough.
  void add_product(double a, const TwiceDouble& t) {
    add_product(a, t.hi);
    lo += a * t.lo;
  }
};

// y − b − x·w as a TwiceDouble (hi + lo renormalised).
template <typename T>
TwiceDouble compensated_residual(const T* x, int64_t d, double y, const std::vector<double>& w, double b) {
  TwiceDouble s;
  s.hi = y;
  s.add(-b);
  for (int64_t j = 0; j < d; ++j) s.add_product(-static_cast<double>(x[j]), w[j]);
  TwiceDouble r;
  r.hi = s.hi + s.lo;
  r.lo = s.lo - (r.hi - s.hi);
  return r;
}

// Iterative refinement of a full-rank, unpenalised fit in original units (w, b): each round
// forms the gradient g_j = Σ v_i r_i x_ij (and Σ v_i r_i for the intercept) of the residuals
// r = y − b − Xw in the original columns, all in twice the precision; maps it to the scaled,
// shifted columns the factor belongs to; solves UᵀU δθ = g̃; and maps δθ to (δw, δb) as the
// solution was mapped. Each round shrinks the error by about cond²·ε (the factor's own error),
// so a few rounds reach what double coefficients can hold, where the plain solve stops at
// cond·ε plus cond²·ε·‖r‖/(‖X‖‖θ‖) (a large residual) for QR, or cond²·ε for Cholesky. Stops
// when a correction is below 4 ulps of every coefficient or stops shrinking. Returns the rounds.
int refine(const Design& z, const std::vector<double>& U, std::vector<double>& w, double& b) {
  const int64_t k = z.k, d = z.d;
  constexpr int kMaxRounds = 8;
  double previous = INFINITY;
  int rounds = 0;
  std::vector<TwiceDouble> gx(static_cast<size_t>(d));
  // Threads for the row pass: one per 64k cells of data, up to the hardware's.
  const int threads = static_cast<int>(std::clamp<int64_t>(
      z.n * std::max<int64_t>(d, 1) / 65536, 1, std::max(1u, std::thread::hardware_concurrency())));
  std::vector<double> g(static_cast<size_t>(k)), dw(static_cast<size_t>(d));
  for (; rounds < kMaxRounds; ++rounds) {
    // One pass over the rows, in fixed slices on several threads (each its own sums, added in
    // slice order: the same result on every run for a given machine).
    std::vector<std::vector<TwiceDouble>> part(static_cast<size_t>(threads), std::vector<TwiceDouble>(static_cast<size_t>(d + 1)));
    std::fill(gx.begin(), gx.end(), TwiceDouble{});
    TwiceDouble g1;  // Σ v_i r_i
    together(*z.comm, [&] {
    z.for_parts([&] {
    for (auto& acc : part) std::fill(acc.begin(), acc.end(), TwiceDouble{});
    const auto slice = [&](int t) {
      std::vector<TwiceDouble>& acc = part[static_cast<size_t>(t)];  // [0, d): Σ v r x_j; d: Σ v r
      const int64_t lo = z.n * t / threads, hi = z.n * (t + 1) / threads;
      z.each_row(lo, hi - lo, [&](int64_t, const auto* x, double y, double v) {
        if (v == 0) return;
        const TwiceDouble r = compensated_residual(x, d, y, w, b);
        TwiceDouble vr;
        vr.add_product(v, r);
        acc[d].add(vr.hi);
        acc[d].lo += vr.lo;
        for (int64_t j = 0; j < d; ++j) acc[j].add_product(static_cast<double>(x[j]), vr);
      });
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(slice, t);
    slice(0);
    for (auto& th : pool) th.join();
    for (const auto& acc : part) {
      for (int64_t j = 0; j < d; ++j) {
        gx[j].add(acc[j].hi);
        gx[j].lo += acc[j].lo;
      }
      g1.add(acc[d].hi);
      g1.lo += acc[d].lo;
    }
    });
    });
    if (z.comm->size() > 1) {  // the shards' sums, added in rank order as the threads' were
      std::vector<double> mine(static_cast<size_t>(2 * (d + 1)));
      for (int64_t j = 0; j < d; ++j) {
        mine[2 * j] = gx[j].hi;
        mine[2 * j + 1] = gx[j].lo;
      }
      mine[2 * d] = g1.hi;
      mine[2 * d + 1] = g1.lo;
      std::vector<double> all(static_cast<size_t>(z.comm->size()) * mine.size());
      z.comm->allgather(mine.data(), static_cast<int64_t>(mine.size() * sizeof(double)), all.data());
      std::fill(gx.begin(), gx.end(), TwiceDouble{});
      g1 = TwiceDouble{};
      for (int r = 0; r < z.comm->size(); ++r) {
        const double* p = all.data() + static_cast<size_t>(r) * mine.size();
        for (int64_t j = 0; j < d; ++j) {
          gx[j].add(p[2 * j]);
          gx[j].lo += p[2 * j + 1];
        }
        g1.add(p[2 * d]);
        g1.lo += p[2 * d + 1];
      }
    }
    // To the factor's columns: x̃_j = (x_j − shift_j)·scale_j, the intercept column scale_0.
    const double sum_r = g1.hi + g1.lo;
    if (z.intercept) g[0] = z.scale[0] * sum_r;
    for (int64_t j = 0; j < d; ++j) {
      TwiceDouble t = gx[j];
      if (z.intercept) t.add_product(-z.shift[j], g1);
      g[j + z.o] = z.scale[j + z.o] * (t.hi + t.lo);
    }
    const int ki = static_cast<int>(k);
    lapack_check(lapack::trtrs('U', 'T', 'N', ki, 1, U.data(), ki, g.data(), ki), "dtrtrs");
    lapack_check(lapack::trtrs('U', 'N', 'N', ki, 1, U.data(), ki, g.data(), ki), "dtrtrs");
    double db = z.intercept ? z.scale[0] * g[0] : 0.0, size = 0;
    for (int64_t j = 0; j < d; ++j) {
      dw[j] = z.scale[j + z.o] * g[j + z.o];
      db -= z.shift[j] * dw[j];
      size = std::max(size, std::fabs(dw[j]) / std::max(std::fabs(w[j]), DBL_MIN));
    }
    if (z.intercept) size = std::max(size, std::fabs(db) / std::max(std::fabs(b), DBL_MIN));
    if (!std::isfinite(size) || !(size < previous)) break;  // no longer converging: keep what we have
    for (int64_t j = 0; j < d; ++j) w[j] += dw[j];
    b += db;
    previous = size;
    if (size < 4 * DBL_EPSILON) {
      ++rounds;
      break;
    }
  }
  return rounds;
}

}  // namespace

const char* exact_method_name(ExactMethod m) {
  switch (m) {
    case ExactMethod::Auto: return "auto";
    case ExactMethod::Cholesky: return "cholesky";
    case ExactMethod::Qr: return "qr";
    case ExactMethod::Svd: return "svd";
  }
  return "?";
}

namespace {

LeastSquaresFit solve(const HostDataset& ds, const LeastSquaresParts* parts, const LeastSquaresOptions& opt) {
  const auto t0 = Clock::now();
  const Design z = prepare(ds, parts, opt);
  const int64_t k = z.k, c = k + 1;
  const bool want_cov = opt.ridge == 0;
  LeastSquaresFit fit;
  Solved s;
  std::vector<double> sv;

  ExactMethod method = opt.method;
  if (method == ExactMethod::Auto || method == ExactMethod::Cholesky) {
    const std::vector<double> G = gram(z, opt.gpu);
    // The condition of the system solved: with ridge, of the penalised design [X̃; √α·C] (its Gram
    // matrix has α·c_j² added to the diagonal), which is well conditioned even with fewer rows
    // than coefficients.
    std::vector<double> Gp = G;
    for (int64_t jj = z.o; jj < k; ++jj) Gp[jj * c + jj] += opt.ridge * z.scale[jj] * z.scale[jj];
    fit.condition = condition_of(singular_values(Gp, k, c, /*symmetric=*/true));
    // The normal equations' relative error is about cond² · ε: the digits they can promise.
    const double digits = -std::log10(fit.condition * fit.condition * DBL_EPSILON);
    // Asked for by name on a design they cannot solve: say so, unless the design is singular
    // (then the message names the dependent column). The Gram matrix cannot tell the two apart
    // past cond ≈ 1e8; QR can.
    const auto refuse_ill_conditioned = [&] {
      const std::vector<double> R = qr_factor(z, opt.ridge, opt.gpu);
      if (!dependent_columns(R, k, c, rank_tolerance(z)).empty()) return;
      throw InputError("the normal equations cannot solve this design: its condition number is " +
                       num(condition_of(singular_values(R, k, c, /*symmetric=*/false))) +
                       " (columns scaled to unit norm), and the Gram matrix squares that past double precision; "
                       "the columns are not dependent: the qr or auto solver solves it");
    };
    if (method == ExactMethod::Cholesky && !(digits >= 2)) refuse_ill_conditioned();
    if (method == ExactMethod::Cholesky || fit.condition <= kCholeskyMaxCondition) {
      try {
        s = solve_cholesky(z, G, opt.ridge, want_cov);
        fit.method = ExactMethod::Cholesky;
        if (method == ExactMethod::Auto)
          fit.why = "condition number " + num(fit.condition) + " <= " + num(kCholeskyMaxCondition) +
                    ": the normal equations (Cholesky) are accurate";
        else if (digits < 8)
          fit.warning = "condition number " + num(fit.condition) + ": the normal equations give about " +
                        num(std::floor(digits)) + " correct digits here (QR about " +
                        num(std::floor(-std::log10(fit.condition * DBL_EPSILON))) +
                        "); the qr or auto solver is more accurate";
      } catch (const InputError&) {
        if (method == ExactMethod::Cholesky) {
          refuse_ill_conditioned();
          throw;
        }
      }
    }
  }
  if (s.theta.empty()) {
    const std::vector<double> R = qr_factor(z, opt.ridge, opt.gpu);
    const std::vector<int64_t> dependent = dependent_columns(R, k, c, rank_tolerance(z));
    if (method == ExactMethod::Svd) {
      s = solve_svd(z, R, sv);
      fit.method = ExactMethod::Svd;
      if (s.rank == k) {  // full rank: R refines it as it does QR's solution
        s.factor.assign(static_cast<size_t>(k * k), 0.0);
        for (int64_t col = 0; col < k; ++col)
          for (int64_t r = 0; r <= col; ++r) s.factor[col * k + r] = R[col * c + r];
      }
      fit.condition = condition_of(sv);
      if (s.rank < k) s.C.clear();  // the minimum-norm solution has no standard errors
    } else if (method == ExactMethod::Auto && !dependent.empty()) {
      std::vector<int64_t> keep;
      for (int64_t j = 0; j < k; ++j)
        if (std::find(dependent.begin(), dependent.end(), j) == dependent.end()) keep.push_back(j);
      s = solve_reduced(z, R, keep, want_cov);
      fit.method = ExactMethod::Qr;
      fit.condition = kInf;
      std::string names;
      for (int64_t jj : dependent)
        names += (names.empty() ? "" : ", ") + (z.is_intercept(jj) ? std::string("the intercept") : feature_name(ds, jj - z.o));
      fit.why = names + (dependent.size() == 1 ? " is a linear combination" : " are linear combinations") +
                " of the columns before: not defined because of singularities (weight 0); the rest by QR";
    } else {
      s = solve_qr(z, R, want_cov);
      fit.method = ExactMethod::Qr;
      fit.condition = condition_of(singular_values(R, k, c, /*symmetric=*/false));
      if (method == ExactMethod::Auto)
        fit.why = "condition number " + num(fit.condition) + " > " + num(kCholeskyMaxCondition) +
                  ": Householder QR (its error grows with the condition number, not its square)";
    }
    for (int64_t jj : dependent_columns(R, k, c, rank_tolerance(z))) {
      if (z.is_intercept(jj)) fit.intercept_aliased = true;
      else fit.aliased.push_back(jj - z.o);
    }
  }
  fit.rank = s.rank;

  // Back to original units: w_j = c_j θ_j, b = s_y + c_int θ_int − Σ_j s_j w_j.
  fit.w.resize(static_cast<size_t>(z.d));
  for (int64_t j = 0; j < z.d; ++j) fit.w[j] = z.scale[j + z.o] * s.theta[j + z.o];
  if (z.intercept) {
    fit.b = z.shift_y + z.scale[0] * s.theta[0];
    for (int64_t j = 0; j < z.d; ++j) fit.b -= z.shift[j] * fit.w[j];
  }

  // Residual and total sums of squares in original units, one more pass, in double.
  const double ybar = z.intercept ? z.shift_y + z.weighted_y / z.weight_sum : 0.0;
  const auto sums_of_squares = [&] {
    // In blocks on several threads, added in block order.
    double sums[2] = {0, 0};
    together(*z.comm, [&] {
    z.for_parts([&] {
    std::vector<double> rss(static_cast<size_t>(block_count(z.n)), 0.0), tss(rss.size(), 0.0);
    for_blocks(z.n, z.d, [&](int64_t blk, int64_t lo, int64_t hi) {
      double r2 = 0, t2 = 0;
      z.each_row(lo, hi - lo, [&](int64_t, const auto* x, double y, double v) {
        double pred = fit.b;
        for (int64_t j = 0; j < z.d; ++j) pred += static_cast<double>(x[j]) * fit.w[j];
        const double r = y - pred, t = y - ybar;
        r2 += v * r * r;
        t2 += v * t * t;
      });
      rss[static_cast<size_t>(blk)] = r2;
      tss[static_cast<size_t>(blk)] = t2;
    });
    for (size_t blk = 0; blk < rss.size(); ++blk) {
      sums[0] += rss[blk];
      sums[1] += tss[blk];
    }
    });
    });
    sum_in_rank_order(*z.comm, sums, 2);
    fit.rss = sums[0];
    fit.tss = sums[1];
  };
  sums_of_squares();

  // The solve's relative error, about cond²·ε for Cholesky and cond·ε + cond²·ε·‖r‖/‖θ‖ for QR
  // (the scaled design has unit columns, so its norm is at least 1 and this over-estimates).
  // Where that could exceed 1e-12, refinement removes what the data do not force, at one pass
  // over the data per round; elsewhere the solve already holds 12 digits or more. Not for ridge
  // (well conditioned by design) nor without a full-rank factor.
  if (opt.ridge == 0 && !s.factor.empty()) {
    double theta_norm = 0;
    for (double t : s.theta) theta_norm += t * t;
    theta_norm = std::sqrt(theta_norm);
    const double cond = fit.condition, eps = DBL_EPSILON;
    const double estimate = fit.method == ExactMethod::Cholesky
                                ? cond * cond * eps
                                : cond * eps + cond * cond * eps * std::sqrt(fit.rss) / std::max(theta_norm, DBL_MIN);
    if (!(estimate <= 1e-12)) {
      fit.refinement_rounds = refine(z, s.factor, fit.w, fit.b);
      if (fit.refinement_rounds > 0) sums_of_squares();
    }
  }
  fit.observations = z.observations;

  if (want_cov && !s.C.empty()) {
    // Cov(w, b) = J C Jᵀ with J the map θ → (w, b) above (p = k rows).
    const int64_t p = k;
    std::vector<double> J(static_cast<size_t>(p * k), 0.0);  // row-major p×k
    for (int64_t j = 0; j < z.d; ++j) J[j * k + j + z.o] = z.scale[j + z.o];
    if (z.intercept) {
      J[z.d * k + 0] = z.scale[0];
      for (int64_t j = 0; j < z.d; ++j) J[z.d * k + j + z.o] = -z.shift[j] * z.scale[j + z.o];
    }
    std::vector<double> JC(static_cast<size_t>(p * k), 0.0);
    for (int64_t a = 0; a < p; ++a)
      for (int64_t m = 0; m < k; ++m) {
        const double jam = J[a * k + m];
        if (jam == 0) continue;
        for (int64_t b2 = 0; b2 < k; ++b2) JC[a * k + b2] += jam * s.C[b2 * k + m];
      }
    fit.unscaled_cov.assign(static_cast<size_t>(p * p), 0.0);
    for (int64_t a = 0; a < p; ++a)
      for (int64_t b2 = 0; b2 < p; ++b2) {
        double acc = 0;
        for (int64_t m = 0; m < k; ++m) acc += JC[a * k + m] * J[b2 * k + m];
        fit.unscaled_cov[a * p + b2] = acc;
      }
  }
  fit.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return fit;
}

}  // namespace

LeastSquaresFit least_squares(const HostDataset& ds, const LeastSquaresOptions& opt) { return solve(ds, nullptr, opt); }

LeastSquaresFit least_squares(const LeastSquaresParts& parts, const LeastSquaresOptions& opt) {
  HostDataset names;
  names.d = parts.features;
  names.feature_names = parts.names;
  return solve(names, &parts, opt);
}

}  // namespace linreg
