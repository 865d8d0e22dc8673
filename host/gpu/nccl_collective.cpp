// NcclCollective: NCCL opened at run time, its communicator bootstrapped over the host one.
#include "host/gpu/nccl_collective.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <nccl.h>

#include "host/cluster/communicator.hpp"
#include "host/core/error.hpp"

namespace linreg {
namespace {

// The few NCCL entry points used, resolved from the library once per process.
struct NcclLibrary {
  decltype(&ncclGetVersion) get_version = nullptr;
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  std::string error;  // why it could not be loaded; empty when loaded
};

template <typename F>
bool resolve(void* handle, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(dlsym(handle, name));
  if (!out && error.empty()) error = std::string("the NCCL library lacks ") + name;
  return out != nullptr;
}

const NcclLibrary& nccl() {
  static NcclLibrary lib;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("LINREG_NCCL_LIBRARY");
    const std::string path = env && *env ? env : "libnccl.so.2";
    // RTLD_LOCAL: NCCL's symbols stay out of the process's global namespace.
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = dlerror();
      lib.error = "cannot load NCCL (" + path + "): " + (why ? why : "unknown error") +
                  "; GPU ranks need NCCL (set LINREG_NCCL_LIBRARY to its libnccl.so.2), or use --device cpu";
      return;
    }
    std::string err;
    resolve(h, "ncclGetVersion", lib.get_version, err);
    resolve(h, "ncclGetUniqueId", lib.get_unique_id, err);
    resolve(h, "ncclCommInitRank", lib.comm_init_rank, err);
    resolve(h, "ncclCommDestroy", lib.comm_destroy, err);
    resolve(h, "ncclCommAbort", lib.comm_abort, err);
    resolve(h, "ncclAllGather", lib.all_gather, err);
    resolve(h, "ncclGetErrorString", lib.error_string, err);
    lib.error = err;  // the handle stays open for the life of the process
  });
  return lib;
}

void check(ncclResult_t r, const char* what) {
  if (r == ncclSuccess) return;
  const NcclLibrary& lib = nccl();
  throw CudaError(std::string(what) + " failed: " + (lib.error_string ? lib.error_string(r) : "NCCL error") +
                  " (NCCL status " + std::to_string(static_cast<int>(r)) + ")");
}

}  // namespace

NcclCollective::NcclCollective(const Communicator& host) : rank_(host.rank()), size_(host.size()) {
  // Every rank loads the library before any rank waits on another, so a rank without NCCL ends
  // the job with its reason instead of leaving the others blocked in ncclCommInitRank.
  together(host, [] {
    const NcclLibrary& lib = nccl();
    if (!lib.error.empty()) throw DeviceUnavailable(lib.error);
  });
  const NcclLibrary& lib = nccl();
  ncclUniqueId id{};
  // Rank 0's id (it names rank 0's bootstrap socket); its failure is every rank's.
  together(host, [&] {
    if (host.rank() == 0) check(lib.get_unique_id(&id), "ncclGetUniqueId");
  });
  host.broadcast(&id, sizeof id, 0);
  ncclComm_t comm = nullptr;
  const ncclResult_t init = lib.comm_init_rank(&comm, size_, id, rank_);
  // A rank whose init failed ends every rank (the others' communicators are aborted, not left
  // for a collective that would wait for it).
  try {
    together(host, [&] { check(init, "ncclCommInitRank"); });
  } catch (...) {
    if (init == ncclSuccess && comm) lib.comm_abort(comm);
    throw;
  }
  comm_ = comm;
}

NcclCollective::~NcclCollective() {
  if (comm_) nccl().comm_destroy(static_cast<ncclComm_t>(comm_));
}

void NcclCollective::allgather(const double* d_in, int64_t count, double* d_out, cudaStream_t stream) const {
  if (count <= 0) return;
  check(nccl().all_gather(d_in, d_out, static_cast<size_t>(count), ncclDouble, static_cast<ncclComm_t>(comm_), stream),
        "ncclAllGather");
}

std::string NcclCollective::version() const {
  int v = 0;
  check(nccl().get_version(&v), "ncclGetVersion");
  // NCCL_VERSION(X, Y, Z) = X·10000 + Y·100 + Z from 2.9 on.
  return "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

}  // namespace linreg
