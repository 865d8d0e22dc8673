// The GPU ranks' collective: NCCL, bootstrapped over the job's host communicator (MPI).
//
// NCCL is opened with dlopen on first use rather than linked into the GPU module: only a GPU rank
// of a data-parallel job needs it, and a machine whose CUDA installation lacks libnccl (or has a
// different one, as PyTorch's wheels do) must still load the module and train on one GPU. The
// library is found as libnccl.so.2 on the loader's path, or at $LINREG_NCCL_LIBRARY.
#pragma once

#include <cstdint>
#include <string>

#include <cuda_runtime_api.h>

namespace linreg {

class Communicator;

// One NCCL communicator over every rank of `host` (which must be the job's communicator: its rank
// and size become NCCL's), each rank on its current CUDA device. Rank 0 makes NCCL's unique id
// and broadcasts it with `host`; every rank then joins (a collective call: every rank constructs
// one, in the same order). Throws DeviceUnavailable when NCCL cannot be loaded (on every rank:
// the load is checked with `together` before anything is exchanged), CudaError naming NCCL's
// message when a call fails.
class NcclCollective {
 public:
  explicit NcclCollective(const Communicator& host);
  ~NcclCollective();
  NcclCollective(const NcclCollective&) = delete;
  NcclCollective& operator=(const NcclCollective&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Every rank's `count` doubles at d_in, in rank order, into d_out (size()·count doubles), on
  // `stream`: no host synchronisation (NCCL's kernels are ordered on the stream like any other).
  void allgather(const double* d_in, int64_t count, double* d_out, cudaStream_t stream) const;

  // "NCCL 2.x.y".
  std::string version() const;

 private:
  void* comm_ = nullptr;  // ncclComm_t
  int rank_ = 0, size_ = 1;
};

}  // namespace linreg
