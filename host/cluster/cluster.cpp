// Joining a launcher's job (see cluster.hpp): the rank from the environment, then the MPI module.
#include "host/cluster/cluster.hpp"

#include <dirent.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "host/core/module_path.hpp"

namespace linreg {
namespace {

constexpr const char* kModuleName = "liblinreg_mpi.so";

// A rank or size variable: a decimal number in [lo, 2^30], else absent.
bool read_int(const char* name, int lo, int& out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return false;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > (1L << 30)) return false;
  out = static_cast<int>(x);
  return true;
}

struct Joined {
  const Communicator* comm = nullptr;
  Communicator* owned = nullptr;  // the MPI module's, finalised by leave_cluster
};
Joined& joined() {
  static Joined j;
  return j;
}
std::once_flag join_once;

// The GPUs of this machine, by their device nodes (/dev/nvidia0, ...): counting them through
// CUDA would initialise it, after which CUDA_VISIBLE_DEVICES no longer applies.
int gpu_nodes() {
  int count = 0;
  if (DIR* dev = ::opendir("/dev")) {
    while (const dirent* e = ::readdir(dev)) {
      const char* name = e->d_name;
      if (std::strncmp(name, "nvidia", 6) != 0 || !name[6]) continue;
      bool digits = true;
      for (const char* c = name + 6; *c; ++c) digits = digits && *c >= '0' && *c <= '9';
      count += digits;
    }
    ::closedir(dev);
  }
  return count;
}

void assign_gpu(const LaunchInfo& info) {
  if (info.local_size <= 1) return;
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string mine = gpu_for_rank(info, visible, visible ? 0 : gpu_nodes());
  if (!mine.empty()) ::setenv("CUDA_VISIBLE_DEVICES", mine.c_str(), 1);
}

}  // namespace

std::string gpu_for_rank(const LaunchInfo& info, const char* visible, int gpus) {
  if (info.local_size <= 1) return {};
  if (!visible) return gpus > 1 ? std::to_string(info.local_rank % gpus) : std::string();
  std::vector<std::string> list(1);
  for (const char* c = visible; *c; ++c) {
    if (*c == ',') list.emplace_back();
    else if (*c != ' ') list.back() += *c;
  }
  if (list.size() <= 1 || std::any_of(list.begin(), list.end(), [](const std::string& e) { return e.empty(); }))
    return {};
  return list[static_cast<size_t>(info.local_rank) % list.size()];
}

namespace {

const Communicator* join() {
  const LaunchInfo info = launch_info();
  if (info.size <= 1) return &single_process();
  assign_gpu(info);
  const std::string started = "started as rank " + std::to_string(info.rank) + " of " + std::to_string(info.size) +
                              " by " + info.launcher + ", but ";
#if !LINREG_HAVE_MPI
  throw std::runtime_error(started + "this linreg was built without MPI (install libopenmpi-dev and rebuild), "
                                     "so each rank would train alone");
#else
  const std::string path = module_path(kModuleName, "LINREG_MPI_MODULE");
  if (!is_regular_file(path)) throw std::runtime_error(started + "the MPI module " + path + " is missing");
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = ::dlerror();
    throw std::runtime_error(started + "the MPI module could not be loaded: " + (e ? e : "unknown error"));
  }
  const auto entry = reinterpret_cast<MpiEntry>(::dlsym(lib, "linreg_mpi_communicator"));
  if (!entry) throw std::runtime_error(started + "the MPI module " + path + " belongs to another version of linreg");
  char why[512] = {0};
  Communicator* comm = entry(kMpiModuleAbi, why, sizeof why);
  if (!comm) throw std::runtime_error(started + "MPI did not start: " + why);
  joined().owned = comm;
  return comm;
#endif
}

}  // namespace

LaunchInfo launch_info() {
  LaunchInfo info;
  int size = 0, rank = 0;
  // Open MPI's mpirun, then the PMI variables of MPICH's and Slurm's launchers.
  if (read_int("OMPI_COMM_WORLD_SIZE", 1, size) && read_int("OMPI_COMM_WORLD_RANK", 0, rank)) {
    info.launcher = "mpirun";
  } else if (read_int("PMI_SIZE", 1, size) && read_int("PMI_RANK", 0, rank)) {
    info.launcher = "a PMI launcher";
  } else {
    return info;
  }
  if (rank >= size) return LaunchInfo{};
  info.size = size;
  info.rank = rank;
  int local = 0, local_size = 0;
  if ((read_int("OMPI_COMM_WORLD_LOCAL_RANK", 0, local) && read_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1, local_size)) ||
      (read_int("MPI_LOCALRANKID", 0, local) && read_int("MPI_LOCALNRANKS", 1, local_size))) {
    if (local < local_size) {
      info.local_rank = local;
      info.local_size = local_size;
    }
  }
  return info;
}

const Communicator& join_cluster() {
  std::call_once(join_once, [] { joined().comm = join(); });
  return *joined().comm;
}

bool in_cluster() { return joined().comm && joined().comm->size() > 1; }

void leave_cluster() {
  if (Communicator* c = joined().owned) {
    joined().owned = nullptr;
    joined().comm = nullptr;
    delete c;  // the module's destructor finalises MPI
  }
}

}  // namespace linreg
