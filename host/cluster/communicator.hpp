// The processes of a data-parallel job and the few collectives the training needs. Under
// `mpirun` every process (rank) holds a contiguous shard of the rows; the fitters sum their
// partial results across ranks with these calls and then do the same replicated arithmetic, so
// every rank ends with the same model. Without a launcher there is one rank and every call is a
// copy. The MPI implementation lives in a module loaded only under a launcher (cluster.hpp).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/core/error.hpp"

namespace linreg {

class LINREG_VISIBLE Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every rank's `bytes` bytes (the same count on every rank), in rank order, into out
  // (size()·bytes), on every rank.
  virtual void allgather(const void* in, int64_t bytes, void* out) const = 0;
  // root's `bytes` bytes at data, on every rank.
  virtual void broadcast(void* data, int64_t bytes, int root) const = 0;
  // Ends every process of the job at once with this exit status (the caller has said why).
  [[noreturn]] virtual void abort(int status) const = 0;
  // "one process", or the MPI library's name and version.
  virtual std::string transport() const = 0;
};

// The communicator of a process that is the whole job.
const Communicator& single_process();

// Sums v (n doubles) across ranks in rank order: rank 0's values, plus rank 1's, and so on. The
// same bits on every rank and on every run with the same number of ranks (MPI_Allreduce promises
// neither: its summation order depends on the algorithm the library picks).
void sum_in_rank_order(const Communicator& comm, double* v, int64_t n);
double sum_in_rank_order(const Communicator& comm, double x);
int64_t sum_counts(const Communicator& comm, int64_t x);  // exact (integers)
// Every rank's count, in rank order.
std::vector<int64_t> gather_counts(const Communicator& comm, int64_t x);

// The rows rank `rank` of `ranks` owns: [begin, end) of n, in blocks of ceil(n / ranks), so the
// last ranks may hold fewer rows, or none (4 rows on 3 ranks: 2, 2, 0).
struct Shard {
  int64_t begin = 0, end = 0;
  int64_t rows() const { return end - begin; }
};
Shard shard_of(int64_t n, int rank, int ranks);

// An error every rank of the job has seen (thrown by `together` on every rank at once): only
// rank 0 reports it, and every rank ends normally with the same exit status. `cause` is the
// error itself (rethrow it to learn its kind); `rank` the lowest rank that failed.
class LINREG_VISIBLE AgreedError : public std::exception {
 public:
  AgreedError(std::exception_ptr cause, int rank, std::string what)
      : cause_(std::move(cause)), rank_(rank), what_(std::move(what)) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const std::exception_ptr& cause() const { return cause_; }
  int rank() const { return rank_; }

 private:
  std::exception_ptr cause_;
  int rank_;
  std::string what_;
};

// Runs `work` on every rank and then compares notes: when it threw on any rank, every rank
// throws AgreedError with the error of the lowest rank that failed (its kind kept: InputError,
// SettingError, DeviceUnavailable, out of memory, other). So a bad value in one rank's shard
// ends the whole job with one message instead of leaving the other ranks waiting in the next
// collective. The rule that keeps this sound: inside `work`, a collective is reached by every
// rank or by none (local work that can fail is itself wrapped in `together`, and work after a
// collective is the same on every rank, so it fails on all of them or on none).
void together(const Communicator& comm, const std::function<void()>& work);

}  // namespace linreg
