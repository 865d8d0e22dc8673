// The single-process communicator and the collectives built on the two primitives.
#include "host/cluster/communicator.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace linreg {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allgather(const void* in, int64_t bytes, void* out) const override {
    if (bytes > 0 && in != out) std::memmove(out, in, static_cast<size_t>(bytes));
  }
  void broadcast(void*, int64_t, int) const override {}
  [[noreturn]] void abort(int status) const override { std::_Exit(status); }
  std::string transport() const override { return "one process"; }
};

// What `together` sends about a failure: its kind (so the other ranks can rethrow the same
// kind), the setting a SettingError names, and the message.
enum Kind : int32_t { kOk = 0, kInput, kSetting, kDevice, kMemory, kOther };

struct Failure {
  int32_t kind = kOk;
  std::string setting, message;
};

Failure describe(const std::exception_ptr& e) {
  Failure f;
  try {
    std::rethrow_exception(e);
  } catch (const AgreedError& a) {
    return describe(a.cause());
  } catch (const SettingError& s) {
    f = {kSetting, s.setting(), s.what()};
  } catch (const InputError& s) {
    f = {kInput, "", s.what()};
  } catch (const DeviceUnavailable& s) {
    f = {kDevice, "", s.what()};
  } catch (const std::bad_alloc&) {
    f = {kMemory, "", "out of host memory"};
  } catch (const std::exception& s) {
    f = {kOther, "", s.what()};
  } catch (...) {
    f = {kOther, "", "unknown error"};
  }
  return f;
}

std::exception_ptr rebuild(const Failure& f) {
  switch (f.kind) {
    case kSetting: return std::make_exception_ptr(SettingError(f.setting, f.message));
    case kInput: return std::make_exception_ptr(InputError(f.message));
    case kDevice: return std::make_exception_ptr(DeviceUnavailable(f.message));
    case kMemory: return std::make_exception_ptr(std::bad_alloc());
    default: return std::make_exception_ptr(std::runtime_error(f.message));
  }
}

void broadcast_string(const Communicator& comm, std::string& s, int root) {
  int64_t len = static_cast<int64_t>(s.size());
  comm.broadcast(&len, sizeof len, root);
  s.resize(static_cast<size_t>(len));
  if (len > 0) comm.broadcast(s.data(), len, root);
}

}  // namespace

const Communicator& single_process() {
  static const SingleProcess one;
  return one;
}

void sum_in_rank_order(const Communicator& comm, double* v, int64_t n) {
  const int p = comm.size();
  if (p == 1 || n == 0) return;
  std::vector<double> all(static_cast<size_t>(p * n));
  comm.allgather(v, n * static_cast<int64_t>(sizeof(double)), all.data());
  for (int64_t j = 0; j < n; ++j) {
    double s = all[static_cast<size_t>(j)];
    for (int r = 1; r < p; ++r) s += all[static_cast<size_t>(r * n + j)];
    v[j] = s;
  }
}

double sum_in_rank_order(const Communicator& comm, double x) {
  sum_in_rank_order(comm, &x, 1);
  return x;
}

std::vector<int64_t> gather_counts(const Communicator& comm, int64_t x) {
  std::vector<int64_t> all(static_cast<size_t>(comm.size()));
  comm.allgather(&x, sizeof x, all.data());
  return all;
}

int64_t sum_counts(const Communicator& comm, int64_t x) {
  int64_t s = 0;
  for (int64_t c : gather_counts(comm, x)) s += c;
  return s;
}

Shard shard_of(int64_t n, int rank, int ranks) {
  const int64_t block = ranks > 0 ? (n + ranks - 1) / ranks : n;
  Shard s;
  s.begin = std::min(n, block * rank);
  s.end = std::min(n, s.begin + block);
  return s;
}

void together(const Communicator& comm, const std::function<void()>& work) {
  std::exception_ptr error;
  try {
    work();
  } catch (...) {
    error = std::current_exception();
  }
  if (comm.size() == 1) {
    if (error) std::rethrow_exception(error);
    return;
  }
  Failure mine = error ? describe(error) : Failure{};
  std::vector<int32_t> kinds(static_cast<size_t>(comm.size()));
  comm.allgather(&mine.kind, sizeof mine.kind, kinds.data());
  int first = -1;
  for (int r = 0; r < comm.size() && first < 0; ++r)
    if (kinds[static_cast<size_t>(r)] != kOk) first = r;
  if (first < 0) return;
  // An AgreedError from a nested `together` names the rank that first failed: keep that rank.
  int32_t origin = first;
  if (comm.rank() == first) {
    try {
      std::rethrow_exception(error);
    } catch (const AgreedError& a) {
      origin = a.rank();
    } catch (...) {
    }
  }
  comm.broadcast(&origin, sizeof origin, first);
  Failure f = mine;
  comm.broadcast(&f.kind, sizeof f.kind, first);
  broadcast_string(comm, f.setting, first);
  broadcast_string(comm, f.message, first);
  std::exception_ptr cause = comm.rank() == first ? error : rebuild(f);
  if (comm.rank() == first) {  // the original, unwrapped, keeps its exact type
    try {
      std::rethrow_exception(error);
    } catch (const AgreedError& a) {
      cause = a.cause();
    } catch (...) {
    }
  }
  throw AgreedError(cause, origin, f.message);
}

}  // namespace linreg
