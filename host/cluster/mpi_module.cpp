// The MPI module (liblinreg_mpi.so): the Communicator over MPI_COMM_WORLD. Loaded by
// host/cluster/cluster.cpp only when a launcher started the process, so that nothing else ever
// maps libmpi. Every MPI call's status is checked: the communicator's error handler is set to
// return errors (MPI's default aborts without a word of ours), and a failed call throws, which
// main turns into this rank's message and an abort of the job.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "host/cluster/cluster.hpp"

namespace linreg {
namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(len));
}

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw std::runtime_error(std::string(what) + " failed: " + mpi_error_text(code));
}

// MPI counts are int: large messages go in pieces of at most 1 GiB.
constexpr int64_t kPiece = int64_t{1} << 30;

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) {
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_library_version(version, &len) == MPI_SUCCESS) {
      transport_.assign(version, static_cast<size_t>(len));
      const size_t cut = transport_.find_first_of(",\n");  // "Open MPI v4.1.4, package: ..."
      if (cut != std::string::npos) transport_.resize(cut);
    }
    if (transport_.empty()) transport_ = "MPI";
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      MPI_Comm_free(&comm_);
      MPI_Finalize();
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allgather(const void* in, int64_t bytes, void* out) const override {
    if (bytes <= 0) return;
    if (bytes <= kPiece) {
      check(MPI_Allgather(in, static_cast<int>(bytes), MPI_BYTE, out, static_cast<int>(bytes), MPI_BYTE, comm_),
            "MPI_Allgather");
      return;
    }
    // Large blocks: one broadcast per rank and piece (rare: the collectives here are small).
    for (int r = 0; r < size_; ++r) {
      char* dst = static_cast<char*>(out) + static_cast<int64_t>(r) * bytes;
      if (r == rank_) std::memcpy(dst, in, static_cast<size_t>(bytes));
      broadcast(dst, bytes, r);
    }
  }

  void broadcast(void* data, int64_t bytes, int root) const override {
    for (int64_t off = 0; off < bytes; off += kPiece) {
      const int64_t n = std::min(kPiece, bytes - off);
      check(MPI_Bcast(static_cast<char*>(data) + off, static_cast<int>(n), MPI_BYTE, root, comm_), "MPI_Bcast");
    }
  }

  [[noreturn]] void abort(int status) const override {
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);  // MPI_Abort does not return; in case it did
  }

  std::string transport() const override { return transport_; }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::string transport_;
};

}  // namespace
}  // namespace linreg

extern "C" __attribute__((visibility("default"))) linreg::Communicator* linreg_mpi_communicator(int abi, char* why,
                                                                                                int why_size) {
  const auto say = [&](const std::string& s) {
    if (why && why_size > 0) std::snprintf(why, static_cast<size_t>(why_size), "%s", s.c_str());
  };
  if (abi != linreg::kMpiModuleAbi) {
    say("the MPI module belongs to another version of linreg");
    return nullptr;
  }
  try {
    int initialized = 0;
    linreg::check(MPI_Initialized(&initialized), "MPI_Initialized");
    if (!initialized) {
      int provided = 0;
      // Only the main thread calls MPI (the training's worker threads never do).
      linreg::check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    }
    MPI_Comm comm = MPI_COMM_NULL;
    linreg::check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
    linreg::check(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    return new linreg::MpiCommunicator(comm);
  } catch (const std::exception& e) {
    say(e.what());
    return nullptr;
  }
}
