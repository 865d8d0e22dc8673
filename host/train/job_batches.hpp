// The minibatches of a data-parallel job's streamed SGD, as one rank sees them (host code, used
// by the GPU ranks' streamer, host/gpu/streamed_trainer.cpp, and tested on the host).
//
// The job walks its chunks in the two-level order (permutation.hpp): chunk k is every rank's
// chunk k of its own rows, R rows in all, shuffled as one; minibatches are consecutive entries of
// the whole epoch's order, so one may begin in one chunk and end in a later one. A rank holds m of
// a chunk's rows, at places at[0..m) of the chunk's order, and keeps them in that order behind
// its rows of the minibatch left unfinished by the chunks before ("ordered rows"). For each
// minibatch the chunk completes it needs the range of its ordered rows that belong to it, and
// the minibatch's size across the job; every rank completes the same minibatches, whether or not
// it holds rows of them.
#pragma once

#include <algorithm>
#include <cstdint>

namespace linreg {

class JobBatches {
 public:
  explicit JobBatches(int64_t batch) : batch_(batch) {}

  // One chunk of R job rows, this rank's m of them at places at[0..m) (ascending) of the chunk's
  // order, placed after left() ordered rows. Calls step(start, count, rows) for each minibatch the
  // chunk completes, in order: this rank's ordered rows [start, start + count) (count may be 0),
  // of `rows` rows across the job. Returns the first ordered row not yet in a minibatch: the
  // caller moves the left() rows from there to the front before the next chunk.
  template <typename Step>
  int64_t chunk(const uint32_t* at, int64_t m, int64_t R, const Step& step) {
    int64_t p = 0, start = 0;
    const int64_t ordered = left_ + m;
    while (held_ + (R - p) >= batch_) {
      p += batch_ - held_;
      const int64_t end = left_ + (std::lower_bound(at, at + m, static_cast<uint64_t>(p),
                                                    [](uint32_t a, uint64_t v) { return a < v; }) - at);
      step(start, end - start, batch_);
      start = end;
      held_ = 0;
    }
    held_ += R - p;
    left_ = ordered - start;
    return start;
  }

  // The end of the epoch: the unfinished minibatch (this rank's left() rows from the front, of
  // held() across the job), if any, then a fresh start.
  template <typename Step>
  void finish(const Step& step) {
    if (held_ > 0) step(int64_t{0}, left_, held_);
    held_ = left_ = 0;
  }

  int64_t left() const { return left_; }  // this rank's rows of the unfinished minibatch
  int64_t held() const { return held_; }  // every rank's

 private:
  int64_t batch_;
  int64_t held_ = 0, left_ = 0;
};

}  // namespace linreg
