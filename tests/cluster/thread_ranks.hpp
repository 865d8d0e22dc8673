// A data-parallel job inside one test process: P threads, each a rank with a Communicator whose
// collectives meet at a shared barrier. It lets the tests run the sharded code paths (and their
// failures) without MPI, under the sanitizers, and compare them with one process.
#pragma once

#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "host/cluster/communicator.hpp"

namespace linreg::test {

class ThreadJob {
 public:
  explicit ThreadJob(int ranks) : ranks_(ranks), slots_(static_cast<size_t>(ranks)) {}

  // Every rank's bytes meet in slots_; two barriers: all written, then all read.
  void allgather(int rank, const void* in, int64_t bytes, void* out) {
    slots_[static_cast<size_t>(rank)].assign(static_cast<const char*>(in), static_cast<const char*>(in) + bytes);
    barrier();
    for (int r = 0; r < ranks_; ++r) {
      const auto& s = slots_[static_cast<size_t>(r)];
      if (static_cast<int64_t>(s.size()) != bytes) throw std::logic_error("allgather: ranks gave different sizes");
      std::memcpy(static_cast<char*>(out) + r * bytes, s.data(), s.size());
    }
    barrier();
  }
  void broadcast(int rank, void* data, int64_t bytes, int root) {
    if (rank == root)
      slots_[static_cast<size_t>(root)].assign(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
    barrier();
    if (rank != root) {
      const auto& s = slots_[static_cast<size_t>(root)];
      if (static_cast<int64_t>(s.size()) != bytes) throw std::logic_error("broadcast: ranks gave different sizes");
      std::memcpy(data, s.data(), s.size());
    }
    barrier();
  }
  int ranks() const { return ranks_; }

 private:
  void barrier() {
    std::unique_lock<std::mutex> lock(m_);
    const uint64_t gen = generation_;
    if (++arrived_ == ranks_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      // A rank that never comes is a bug in the code under test: fail instead of hanging.
      if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return generation_ != gen; }))
        throw std::runtime_error("a rank did not reach a collective within 60 s");
    }
  }

  int ranks_;
  std::vector<std::vector<char>> slots_;
  std::mutex m_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
};

class ThreadRank final : public Communicator {
 public:
  ThreadRank(ThreadJob& job, int rank) : job_(job), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return job_.ranks(); }
  void allgather(const void* in, int64_t bytes, void* out) const override { job_.allgather(rank_, in, bytes, out); }
  void broadcast(void* data, int64_t bytes, int root) const override { job_.broadcast(rank_, data, bytes, root); }
  [[noreturn]] void abort(int) const override { throw std::logic_error("abort called in a test job"); }
  std::string transport() const override { return "threads"; }

 private:
  ThreadJob& job_;
  int rank_;
};

// Runs work(comm) on `ranks` threads, one rank each; returns each rank's exception (null when
// it returned normally).
inline std::vector<std::exception_ptr> run_ranks(int ranks, const std::function<void(const Communicator&)>& work) {
  ThreadJob job(ranks);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      const ThreadRank comm(job, r);
      try {
        work(comm);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace linreg::test
