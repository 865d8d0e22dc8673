// Joining the job a launcher started. `mpirun` (Open MPI, or any launcher that sets PMI_SIZE)
// starts one linreg per rank; each finds its rank in the environment and, only then, loads the
// MPI module (liblinreg_mpi.so, beside the binary or $LINREG_MPI_MODULE) and calls MPI_Init. A
// linreg started any other way never maps an MPI library: a build with MPI starts as fast as one
// without, and runs where Open MPI is not installed.
#pragma once

#include <string>

#include "host/cluster/communicator.hpp"

namespace linreg {

// What the environment says: the job's size and this process's rank (1 and 0 without a
// launcher). Reading it needs no MPI, so main can tell rank 0 before anything starts.
struct LaunchInfo {
  int size = 1;
  int rank = 0;
  int local_rank = 0, local_size = 1;  // among the ranks on this machine
  std::string launcher;  // "mpirun", or empty
};
LaunchInfo launch_info();

// The GPU a rank of several on one machine should see, as the CUDA_VISIBLE_DEVICES to set, or
// empty to leave it as it is: with `visible` unset and gpus > 1 (the /dev/nvidiaN nodes), its
// local rank modulo the GPUs; with `visible` a list of several devices (as a scheduler gives
// every rank of a node), the entry of its local rank modulo their count; else nothing (one GPU,
// or a list of one: ranks that share a GPU then train on the CPU, fit.hpp's make_fitter).
std::string gpu_for_rank(const LaunchInfo& info, const char* visible, int gpus);

// The job's communicator: single_process() without a launcher (or a launcher of one process),
// else the MPI module's. Before MPI (and before any CUDA), a rank on a machine with several
// ranks sets CUDA_VISIBLE_DEVICES to gpu_for_rank's answer, when it has one. Joins once per
// process; later calls return the same object. Throws
// std::runtime_error when a launcher started several ranks but MPI cannot start (this build has
// no MPI, the module or Open MPI is missing, MPI_Init failed).
const Communicator& join_cluster();

// Ends this process's part in the job (MPI_Finalize) when it joined one; a no-op otherwise.
// Called once by main before it returns.
void leave_cluster();

// Whether join_cluster() has been called and returned a job of more than one rank.
bool in_cluster();

// The MPI module's entry point, exported by liblinreg_mpi.so. Returns the job's communicator
// (MPI initialised), or null with the reason in `why`.
constexpr int kMpiModuleAbi = 1;
extern "C" {
using MpiEntry = Communicator* (*)(int abi, char* why, int why_size);
}

}  // namespace linreg
