// linreg_mpi_bench: time per call of MPI_Allgather and MPI_Allreduce(MPI_SUM, double) on this
// machine, and a fit of t = alpha + bytes / beta for each. Data-parallel SGD does one such
// collective per minibatch step (d+1 doubles), the exact solvers one per fit ((k+1)^2 doubles),
// so alpha and beta are the two numbers the scaling model in docs/SCALING.md needs.
//
//   mpirun -np 2 build/linreg_mpi_bench          (add --oversubscribe beyond the core count)
//
// Plain MPI C API, no project headers, so it builds on any machine that has an MPI.
// The C++ bindings are deprecated and unused here; their headers only bring warnings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

// Every MPI call goes through this: the communicator is switched to MPI_ERRORS_RETURN below, so
// a failure comes back as a code we can name instead of a silent abort inside the library.
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = 0;  // then the code alone
  std::fprintf(stderr, "linreg_mpi_bench: %s failed (code %d): %.*s\n", what, rc, len, msg);
  MPI_Abort(MPI_COMM_WORLD, 1);  // does not return on a working MPI; exit in case it does
  std::exit(1);
}
#define MPI_CHECK(call) check((call), #call)

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum class Op { Allgather, Allreduce };

// Median seconds per call. The call count per batch and the batch count depend on the size
// only, never on a clock, so every rank runs exactly the same number of collectives. A batch
// is as slow as its slowest rank (a collective is not done until everyone is), so the per-batch
// time is the maximum over ranks; the barrier before each batch keeps one batch's stragglers
// out of the next batch's timing.
double time_op(Op op, size_t bytes, int nranks, int rank) {
  const int count = static_cast<int>(bytes / sizeof(double));
  std::vector<double> send(count, rank + 1.0);
  std::vector<double> recv(static_cast<size_t>(count) * (op == Op::Allgather ? nranks : 1));
  auto once = [&] {
    if (op == Op::Allgather)
      MPI_CHECK(MPI_Allgather(send.data(), count, MPI_DOUBLE, recv.data(), count, MPI_DOUBLE,
                              MPI_COMM_WORLD));
    else
      MPI_CHECK(MPI_Allreduce(send.data(), recv.data(), count, MPI_DOUBLE, MPI_SUM,
                              MPI_COMM_WORLD));
  };

  // Small messages: many calls per batch, so the clock's resolution and the barrier's own
  // cost do not show; large ones: one call is already milliseconds.
  const int inner = static_cast<int>(std::clamp<size_t>((size_t{1} << 20) / bytes, 1, 200));
  const int batches = 31, warmup = 5;

  for (int i = 0; i < warmup * inner; ++i) once();  // connections, page faults, caches
  // Check the result once: a bench that measures a wrong answer measures nothing.
  const double expect = op == Op::Allgather ? 1.0 * nranks : nranks * (nranks + 1) / 2.0;
  double got = 0;
  if (op == Op::Allgather)
    for (int r = 0; r < nranks; ++r) got += recv[static_cast<size_t>(r) * count] / (r + 1.0);
  else
    got = recv[count - 1];
  if (got != expect) {
    std::fprintf(stderr, "linreg_mpi_bench: wrong result at %zu bytes\n", bytes);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }

  std::vector<double> per_call;
  for (int b = 0; b < batches; ++b) {
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    const double t0 = MPI_Wtime();
    for (int i = 0; i < inner; ++i) once();
    double mine = (MPI_Wtime() - t0) / inner, slowest = 0;
    MPI_CHECK(MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    per_call.push_back(slowest);
  }
  return median(per_call);
}

// Least squares of t = alpha + x * slope, weighted by 1/t^2 so that every size counts by its
// relative error: unweighted, the 8 MiB points alone would set alpha, and alpha is the number
// that matters for SGD's small messages.
void fit(const std::vector<double>& x, const std::vector<double>& t, double& alpha,
         double& slope) {
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = 1.0 / (t[i] * t[i]);
    sw += w; sx += w * x[i]; sy += w * t[i]; sxx += w * x[i] * x[i]; sxy += w * x[i] * t[i];
  }
  slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
  alpha = (sy - slope * sx) / sw;
}

}  // namespace

int main(int argc, char** argv) {
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  int rank = 0, nranks = 1;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &nranks));

  // Powers of 4 from 8 B to 8 MiB, plus the sizes linreg sends: (d+1) doubles per SGD step for
  // d = 2 (the lab), 16, 256, 1024, and the (k+1)^2 Gram matrix of an exact fit with k = 256.
  std::vector<size_t> sizes;
  for (size_t s = 8; s <= (size_t{8} << 20); s *= 4) sizes.push_back(s);
  for (size_t d : {2, 16, 256, 1024}) sizes.push_back((d + 1) * 8);
  sizes.push_back(size_t{257} * 257 * 8);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());

  if (rank == 0) {
    std::printf("linreg_mpi_bench: %d ranks, median of 31 batches per size, max over ranks\n",
                nranks);
    std::printf("%10s %12s %14s %14s\n", "bytes", "gathered", "allgather_us", "allreduce_us");
  }
  std::vector<double> xg, tg, xr, tr;
  for (size_t bytes : sizes) {
    const double ag = time_op(Op::Allgather, bytes, nranks, rank);
    const double ar = time_op(Op::Allreduce, bytes, nranks, rank);
    // Allgather's volume is what every rank ends up holding (P messages); allreduce's is one
    // message. The fits use these, matching the model in docs/SCALING.md.
    xg.push_back(double(bytes) * nranks); tg.push_back(ag);
    xr.push_back(double(bytes));          tr.push_back(ar);
    if (rank == 0)
      std::printf("%10zu %12zu %14.2f %14.2f\n", bytes, bytes * nranks, ag * 1e6, ar * 1e6);
  }
  if (rank == 0) {
    double a = 0, s = 0;
    fit(xg, tg, a, s);
    std::printf("fit allgather (bytes = P*message): alpha = %.2f us, beta = %.2f GB/s\n",
                a * 1e6, 1e-9 / s);
    fit(xr, tr, a, s);
    std::printf("fit allreduce (bytes = message):   alpha = %.2f us, beta = %.2f GB/s\n",
                a * 1e6, 1e-9 / s);
    // One straight line cannot follow the eager/rendezvous protocol switches exactly; the
    // largest size shows the bandwidth that big messages really get.
    std::printf("at %zu bytes: allgather %.2f GB/s, allreduce %.2f GB/s\n", sizes.back(),
                xg.back() / tg.back() * 1e-9, xr.back() / tr.back() * 1e-9);
  }
  MPI_CHECK(MPI_Finalize());
  return 0;
}
